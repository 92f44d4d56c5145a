
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# The Debian packages as their user meets them: run by test/deb_check.sh
# after "dpkg -i" on a machine whose "make install" files were removed.
# The extension from postgresql-NN-replroute on a primary and a streaming
# standby, the C example of doc/client.md built with pkg-config from
# libreplroute-dev against libreplroute1, and the CLI from replroute.
# (Not in test/t: it needs the packages installed.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();
use JSON::PP qw(decode_json);
use ReplrouteTest;

# run(cmd...): (success, stdout, stderr)
sub run
{
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([@_], '<', '/dev/null', '>', \$out, '2>', \$err);
	return ($ok, $out, $err);
}

# owner($path): the package that installed $path, or ''
sub owner
{
	my ($path) = @_;
	my (undef, $out) = run('dpkg-query', '-S', $path);
	# "package: path", or "package:arch: path" for a Multi-Arch: same one
	return $out =~ /^([^:\s]+)(?::[^:\s]+)?: \Q$path\E$/m ? $1 : '';
}

my (undef, $pkglibdir) = run('pg_config', '--pkglibdir');
my (undef, $sharedir)  = run('pg_config', '--sharedir');
my (undef, $major)     = run('pg_config', '--version');
chomp($pkglibdir, $sharedir);
($major) = $major =~ /PostgreSQL (\d+)/;
my $ext_pkg = "postgresql-$major-replroute";

# the files in place, each from its package
is(owner("$pkglibdir/replroute.so"), $ext_pkg, "replroute.so is from $ext_pkg");
is(owner("$sharedir/extension/replroute.control"),
	$ext_pkg, "replroute.control is from $ext_pkg");
my (undef, $bin) = run('sh', '-c', 'command -v replroute');
chomp $bin;
is($bin, '/usr/bin/replroute', 'replroute on PATH is /usr/bin/replroute');
is(owner('/usr/bin/replroute'), 'replroute', 'from the replroute package');
my ($ok, $out, $err) = run('replroute', '--version');
ok($ok && $out =~ /^replroute \d+\.\d+\.\d+ \(libreplroute \d+\.\d+\.\d+\)$/m,
	"replroute --version: $out");

($ok, my $libs, $err) = run('pkg-config', '--cflags', '--libs', 'replroute');
chomp $libs;
ok($ok && $libs =~ /-lreplroute/, "pkg-config --cflags --libs replroute: $libs");
my (undef, $libdir) = run('pkg-config', '--variable=libdir', 'replroute');
chomp $libdir;
like($libdir, qr{^/usr/lib(/[^/]+-linux-[^/]+)?$}, "its libdir is $libdir");
is(owner("$libdir/pkgconfig/replroute.pc"), 'libreplroute-dev', 'replroute.pc is from libreplroute-dev');
is(owner('/usr/include/replroute.h'), 'libreplroute-dev', 'replroute.h is from libreplroute-dev');
is(owner("$libdir/libreplroute.a"), 'libreplroute-dev', 'libreplroute.a is from libreplroute-dev');
is(owner("$libdir/libreplroute.so.1"), 'libreplroute1', 'libreplroute.so.1 is from libreplroute1');

# the C example of doc/client.md (the same extraction as test/t/040_c_example.pl)
my $doc = slurp_file('doc/client.md');
my ($code) = $doc =~ /^# The C library: libreplroute\n\n```c\n(.*?)```/s;
ok(defined $code && $code =~ /RRconnect/, 'doc/client.md has a C example');
my $dir = PostgreSQL::Test::Utils::tempdir;
open my $fh, '>', "$dir/example.c" or die "could not write $dir/example.c: $!";
print $fh $code // '';
close $fh;
($ok, $out, $err) = run('sh', '-c', "cc -Wall -Werror -o $dir/example $dir/example.c $libs");
ok($ok, 'the example compiles warning-free with pkg-config --cflags --libs replroute')
  or diag($err);
(undef, $out) = run('ldd', "$dir/example");
my ($linked) = $out =~ /libreplroute\.so\.1 => (\S+)/;
# (/lib is /usr/lib on a merged-/usr system: compare where they lead)
is(Cwd::realpath($linked // ''), Cwd::realpath("$libdir/libreplroute.so.1"),
	"and is linked with the packaged libreplroute.so.1 ($linked)");
($ok, $out, $err) = run('sh', '-c',
	"cc -o $dir/example_static $dir/example.c \$(pkg-config --cflags replroute) "
	  . "$libdir/libreplroute.a \$(pkg-config --libs libpq) -lm");
ok($ok, 'it links with the packaged static library too') or diag($err);

# the README's quick-start fragment, in a main() of its own: it must at
# least compile against the packaged header (its hosts are examples)
my ($frag) = slurp_file('README.md') =~ /^```c\n(.*?)```/ms;
ok(defined $frag && $frag =~ /RRconnect/, "the README's quick start has a C fragment");
open $fh, '>', "$dir/readme.c" or die "could not write $dir/readme.c: $!";
print $fh "#include <replroute.h>\n\nint\nmain(void)\n{\n" . ($frag // '') . "\treturn 0;\n}\n";
close $fh;
($ok, $out, $err) = run('sh', '-c', "cc -Wall -Werror -c -o $dir/readme.o $dir/readme.c \$(pkg-config --cflags replroute)");
ok($ok, "and it compiles warning-free against the packaged replroute.h") or diag($err);

# a primary and a standby with the packaged extension (make_cluster runs
# CREATE EXTENSION replroute on the primary)
my ($primary, $standby) = ReplrouteTest::make_cluster(standbys => 1);
my ($default_version) = slurp_file('replroute.control') =~ /^default_version\s*=\s*'([^']+)'/m;
is($primary->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'replroute'"),
	$default_version, "CREATE EXTENSION replroute worked (version $default_version)");
is($standby->safe_psql('postgres', 'SELECT role FROM replroute.node_status()'),
	'standby', 'and it answers on the standby');
my $ci = ReplrouteTest::conninfo($primary, $standby);
my $sport = $standby->port;

($ok, $out, $err) = run("$dir/example", $ci);
ok($ok, 'the example runs') or diag($err);
like($out, qr/^read served by the node on port $sport$/m, "and reads from the standby: $out");
($ok, $out, $err) = run("$dir/example_static", $ci);
like($out, qr/^read served by the node on port $sport$/m, 'so does the static build');

($ok, $out, $err) = run('replroute', 'status', '--json', $ci);
my $st = $ok ? eval { decode_json($out) } : undef;
my @roles = map { "$_->{role}/$_->{state}" } @{ $st->{nodes} // [] };
is("@roles", 'primary/up standby/up', 'replroute status: a primary and a standby, both up')
  or diag($out . $err);
($ok, $out, $err) = run('replroute', 'exec', '--read', $ci, 'SELECT inet_server_port()');
is($out, "$sport\n", 'replroute exec --read runs on the standby') or diag($err);

done_testing();
