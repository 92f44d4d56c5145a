#!/usr/bin/perl
#
# Copyright (c) 2026, The replroute Developers (see LICENSE)
#
# meta_check.pl: validates META.json against the PGXN Meta Spec 1.0
# (https://pgxn.org/spec/; the rules of its JSON schemas, written out here:
# Debian has no PGXN validator), then checks that it agrees with the rest of
# the tree (versions, the man page's too, licence, files, supported
# PostgreSQL majors).  TAP output; run from the top of the tree:
# perl test/meta_check.pl

use strict;
use warnings;

use JSON::PP;
use Test::More;

my $SEMVER = qr/(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)
	(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?
	(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?/x;
my $TERM = qr/^[^\/\\\s\p{Cntrl}]{2,}$/;
my @LICENSES = qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
  gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1
  openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted
  unrestricted unknown);
my @TOP = qw(name version abstract maintainer license provides meta-spec
  description generated_by tags no_index prereqs release_status resources);
my @REQUIRED = qw(name version abstract maintainer license provides meta-spec);

sub slurp
{
	my ($f) = @_;
	open my $fh, '<', $f or die "could not open $f: $!";
	local $/;
	return scalar <$fh>;
}

sub is_string { my ($v) = @_; return defined $v && !ref $v && length $v; }
sub is_object { return ref $_[0] eq 'HASH'; }
sub is_array  { return ref $_[0] eq 'ARRAY'; }
sub custom_key { return $_[0] =~ /^[xX]_./; }

# a Version Range: 0, "0", or comma-separated [op] semver
sub is_version_range
{
	my ($v) = @_;
	return 1 if defined $v && !ref $v && $v eq '0';
	return 0 unless is_string($v);
	for my $part (split /,\s*/, $v)
	{
		return 0 unless $part =~ /^(?:(?:[=!]=|[<>]=?)\s*)?$SEMVER$/;
	}
	return 1;
}

# a path: relative, Unix conventions
sub is_path
{
	my ($p) = @_;
	return is_string($p) && length($p) >= 2 && $p !~ m{^/} && $p !~ m{\\}
	  && $p !~ m{(^|/)\.\.(/|$)};
}

my $meta = eval { JSON::PP->new->relaxed(0)->decode(slurp('META.json')) };
ok(is_object($meta), 'META.json is a JSON object') or diag($@);
$meta = {} unless is_object($meta);

# --- the spec: required keys and their shapes
for my $k (@REQUIRED)
{
	ok(exists $meta->{$k}, "required key \"$k\"");
}
my @unknown = grep { my $k = $_; !grep({ $_ eq $k } @TOP) && !custom_key($k) } sort keys %$meta;
is("@unknown", '', 'no key outside the spec (custom keys start with x_)');

like($meta->{name} // '', $TERM, 'name is a Term (2+ characters, no slash, backslash, space)');
like($meta->{version} // '', qr/^$SEMVER$/, 'version is a SemVer');
ok(is_string($meta->{abstract}), 'abstract is a non-empty string');
ok(!exists $meta->{description} || is_string($meta->{description}),
	'description, if any, is a non-empty string');
ok(!exists $meta->{generated_by} || is_string($meta->{generated_by}),
	'generated_by, if any, is a non-empty string');

my $m = $meta->{maintainer};
ok(is_string($m) || (is_array($m) && @$m && !grep { !is_string($_) } @$m),
	'maintainer is a string or a list of strings');

my $l = $meta->{license};
ok((is_string($l) && grep({ $_ eq $l } @LICENSES))
	  || (is_array($l) && @$l && !grep { my $x = $_; !grep { $_ eq $x } @LICENSES } @$l)
	  || (is_object($l) && %$l && !grep { !is_string($_) || !/^https?:\/\// } values %$l),
	'license is a known licence name, a list of them, or names mapped to URIs');

my $p = $meta->{provides};
ok(is_object($p) && %$p, 'provides is a non-empty object');
for my $ext (sort keys %{ is_object($p) ? $p : {} })
{
	my $e = $p->{$ext};
	like($ext, $TERM, "provides: \"$ext\" is a Term");
	ok(is_object($e), "provides.$ext is an object") or next;
	my @bad = grep { !/^(file|version|abstract|docfile|docpath)$/ && !custom_key($_) } sort keys %$e;
	is("@bad", '', "provides.$ext has only spec keys");
	ok(is_path($e->{file}), "provides.$ext.file is a relative path");
	like($e->{version} // '', qr/^$SEMVER$/, "provides.$ext.version is a SemVer");
	ok(!exists $e->{abstract} || is_string($e->{abstract}), "provides.$ext.abstract is a string");
	ok(!exists $e->{docfile} || is_path($e->{docfile}), "provides.$ext.docfile is a relative path");
	ok(-f $e->{file}, "provides.$ext.file exists: $e->{file}") if is_path($e->{file});
	ok(-f $e->{docfile}, "provides.$ext.docfile exists: $e->{docfile}") if is_path($e->{docfile});
}

my $ms = $meta->{'meta-spec'};
ok(is_object($ms) && ($ms->{version} // '') =~ /^1\.0\.\d+$/, 'meta-spec.version is 1.0.x');
ok(!is_object($ms) || !exists $ms->{url}
	  || $ms->{url} =~ m{^https?://pgxn\.org/meta/spec\.txt$}, 'meta-spec.url is the spec\'s');

if (exists $meta->{tags})
{
	my $t = $meta->{tags};
	ok(is_array($t) && @$t
		  && !grep({ !is_string($_) || length($_) < 2 || length($_) > 255 || /[\/\\\p{Cntrl}]/ } @$t),
		'tags: a non-empty list of 2 to 255 characters, no slash, backslash, control');
}
if (exists $meta->{no_index})
{
	my $n = $meta->{no_index};
	my $list_ok = sub {
		my ($v) = @_;
		return is_path($v) || (is_array($v) && @$v && !grep { !is_path($_) } @$v);
	};
	ok(is_object($n) && (exists $n->{file} || exists $n->{directory})
		  && !grep({ !/^(file|directory)$/ && !custom_key($_) } keys %$n)
		  && (!exists $n->{file} || $list_ok->($n->{file}))
		  && (!exists $n->{directory} || $list_ok->($n->{directory})),
		'no_index: file and/or directory, relative paths');
}
if (exists $meta->{release_status})
{
	like($meta->{release_status}, qr/^(stable|testing|unstable)$/, 'release_status is stable, testing or unstable');
}
if (exists $meta->{prereqs})
{
	my $pr = $meta->{prereqs};
	my $good = is_object($pr) && %$pr;
	for my $phase (keys %{ is_object($pr) ? $pr : {} })
	{
		next if custom_key($phase);
		$good &&= $phase =~ /^(configure|build|test|runtime|develop)$/;
		my $ph = $pr->{$phase};
		$good &&= is_object($ph) && %$ph;
		for my $rel (keys %{ is_object($ph) ? $ph : {} })
		{
			next if custom_key($rel);
			$good &&= $rel =~ /^(requires|recommends|suggests|conflicts)$/;
			my $r = $ph->{$rel};
			$good &&= is_object($r);
			for my $dep (keys %{ is_object($r) ? $r : {} })
			{
				$good &&= $dep =~ $TERM && is_version_range($r->{$dep});
			}
		}
	}
	ok($good, 'prereqs: phases, relationships, Terms mapped to version ranges');
}
if (exists $meta->{resources})
{
	my $r = $meta->{resources};
	ok(is_object($r) && !grep({ !/^(homepage|bugtracker|repository)$/ && !custom_key($_) } keys %$r),
		'resources: homepage, bugtracker, repository');
}

# --- agreement with the tree
my ($mk_version) = slurp('client/Makefile') =~ /^VERSION = (\S+)/m;
is($meta->{version}, $mk_version, "version is the library's (client/Makefile: $mk_version)");
my ($deb_version) = slurp('debian/changelog') =~ /^replroute \(([^)-]+)/;
is($meta->{version}, $deb_version, "and the Debian package's upstream version ($deb_version)");
my ($man_version) = slurp('client/replroute.1') =~ /^\.TH REPLROUTE 1 "[^"]*" "replroute ([^"]+)"/m;
is($meta->{version}, $man_version, "and the man page's (client/replroute.1: " . ($man_version // 'none') . ')');
my ($ctl_version) = slurp('replroute.control') =~ /^default_version\s*=\s*'([^']+)'/m;
my $ext = is_object($p) && is_object($p->{replroute}) ? $p->{replroute} : {};
like($ext->{version} // '', qr/^\Q$ctl_version\E(\.0)*$/,
	"provides.replroute.version is replroute.control's default_version ($ctl_version)");
# its file: the install script that CREATE EXTENSION starts from, that
# version's own, or an older one with update scripts leading to it (as
# PostgreSQL finds them: replroute--A--B.sql)
{
	my ($from) = ($ext->{file} // '') =~ /^replroute--([^-]+)\.sql$/;
	my @chain = defined $from ? ($from) : ();
	while (@chain && $chain[-1] ne $ctl_version && @chain < 20)
	{
		my ($next) = map { /^replroute--\Q$chain[-1]\E--([^-]+)\.sql$/ ? $1 : () } glob('replroute--*--*.sql');
		last unless defined $next;
		push @chain, $next;
	}
	ok(@chain && $chain[-1] eq $ctl_version && -e $ext->{file},
		"and its file is an install script leading to $ctl_version ("
		  . join(' -> ', @chain) . ')');
}
like(slurp('LICENSE'), qr/^PostgreSQL Licen[cs]e/, 'LICENSE is the PostgreSQL Licence, as license says')
  if ($meta->{license} // '') eq 'postgresql';
my ($min_pg) = slurp('debian/pgversions') =~ /^(\d+)\+$/m;
is($meta->{prereqs}{runtime}{requires}{PostgreSQL}, "$min_pg.0.0",
	"PostgreSQL prerequisite agrees with debian/pgversions ($min_pg+)");

done_testing();
