
# Copyright: see README.md

=pod

=head1 NAME

PythonBench - the Python package's figures for "make bench"

=head1 SYNOPSIS

  require "$here/PythonBench.pm";
  PythonBench::run(figure => \&figure, progress => \&progress, conf => $conf);

=head1 DESCRIPTION

Starts a primary and two standbys of its own (nodes pyprimary,
pystandby1, pystandby2: the failover figure promotes one, so it must not
share the other benchmarks' cluster) and runs test/bench/python_bench.py
on it: db_for_read() with a black hole listed, the share of token reads
served by standbys once they have caught up, and the time from a promotion
(the primary killed) to the first successful write of the same Django
process.  Each "name: value" line it prints becomes a figure.  Skipped,
with a notice, when /usr/bin/python3 (or $REPLROUTE_PYTHON) cannot import
django and psycopg2 (Debian's python3-django and python3-psycopg2).  The
nodes are stopped before it returns.

=cut

package PythonBench;

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use Time::HiRes qw(time usleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

my $here = dirname(File::Spec->rel2abs(__FILE__));

sub run
{
	my (%a) = @_;
	my ($figure, $progress) = @a{qw(figure progress)};
	my $python = $ENV{REPLROUTE_PYTHON} // '/usr/bin/python3';
	my $script = "$here/python_bench.py";
	local $ENV{PYTHONDONTWRITEBYTECODE} = 1;

	my ($out, $err) = ('', '');
	if (!eval { IPC::Run::run([ $python, '-c', 'import django, psycopg2' ], '>', \$out, '2>', \$err) })
	{
		$progress->("NOTICE: $python cannot import django and psycopg2 (Debian: python3-django, "
			  . 'python3-psycopg2): the Python figures are skipped');
		return;
	}

	$progress->('12. Python/Django: a primary and two standbys of its own');
	my $primary = PostgreSQL::Test::Cluster->new('pyprimary');
	$primary->init(allows_streaming => 1);
	$primary->append_conf('postgresql.conf', ($a{conf} // '') . "max_connections = 100\n");
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION replroute');
	$primary->backup('pybase');
	my @standbys;
	for my $i (1, 2)
	{
		my $s = PostgreSQL::Test::Cluster->new("pystandby$i");
		$s->init_from_backup($primary, 'pybase', has_streaming => 1);
		$s->start;
		push @standbys, $s;
	}
	$primary->wait_for_catchup($_) for @standbys;
	my $ci = 'host=' . join(',', map { '127.0.0.1' } $primary, @standbys)
	  . ' port=' . join(',', map { $_->port } $primary, @standbys)
	  . ' dbname=postgres connect_timeout=2';

	my $ok = eval {
		$progress->('12. db_for_read() with a black hole listed, 8 s');
		figures($figure, $python, $script, 'blackhole', $ci, 8);
		$progress->('12. token reads once the standbys caught up, 200 pairs');
		figures($figure, $python, $script, 'tokens', $ci, 200);

		$progress->('12. failover: primary killed, pystandby1 promoted, the same process writing');
		my ($in, $fout, $ferr) = ('', '', '');
		my $t = IPC::Run::timeout(120);
		my $h = IPC::Run::start([ $python, $script, 'failover', $ci ],
			'<', \$in, '>', \$fout, '2>', \$ferr, $t);
		$h->pump until $fout =~ /^# writing/m;
		usleep(300_000);
		$primary->stop('immediate');
		$standbys[0]->promote;
		$in .= sprintf("promoted %.6f\n", time);
		$h->finish or die "python_bench.py failover failed: $ferr\n";
		take($figure, $fout);
		1;
	};
	my $e = $@;
	$_->stop('immediate', fail_ok => 1) for ($primary, @standbys);
	$progress->("NOTICE: the Python figures are incomplete: $e") unless $ok;
	return;
}

# run one phase; its "name: value" lines become figures
sub figures
{
	my ($figure, $python, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, @args ], '<', \undef, '>', \$out, '2>', \$err)
	  or die "python_bench.py $args[1] failed: $err\n";
	take($figure, $out);
	return;
}

sub take
{
	my ($figure, $out) = @_;
	for my $line (split /\n/, $out)
	{
		$figure->($1, $2) if $line =~ /^(\w+): (.*)$/;
	}
	return;
}

1;
