
# Copyright: see README.md

# A slow answer is old, not absent, and a slow node costs nothing to reads
# served elsewhere.  Standby2 is reached through a proxy that delays every
# chunk (this kernel has no netem): first by 75 ms each way, so its health
# answers take about 150 ms (longer than check_interval), then by 25 ms (a
# standby 50 ms away, in another zone).  Through the C driver:
#
# - the slowed standby keeps getting reads while its aged figures are
#   within the limits (version 1 gave it none);
# - reads served by standby1 are no slower than without the slow node
#   (version 1 made every read wait for the slowest answer).
#
# Bounds are generous (a loaded 2-core machine); make bench has the figures.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ReplrouteTest;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);

sub list
{
	my (@ports) = @_;
	return 'host=' . join(',', ('127.0.0.1') x @ports) . ' port=' . join(',', @ports)
	  . ' dbname=postgres';
}

my $sql = 'SELECT inet_server_port()';

# the baseline: both standbys direct
my $base = ReplrouteTest::driver(list($pp, $p1, $p2));
ReplrouteTest::parse_loop($base->cmd("readloop 200 1000 $sql"));    # warm up
my $b = ReplrouteTest::parse_loop($base->cmd("readloop 1000 2000 $sql"));
is($b->{fail}, 0, "baseline: no read failed ($b->{line})");
my $base_med = $b->{medus}{$p1};
note("baseline median read on standby1: $base_med us");

for my $case ([ 'answers take 150 ms', 75 ], [ 'a standby 50 ms away', 25 ])
{
	my ($what, $delay) = @$case;
	my $proxy = ReplrouteTest::proxy($p2, delay_ms => $delay);
	my $pport = $proxy->port;
	my $d = ReplrouteTest::driver(list($pp, $p1, $pport));
	like($d->{connect}, qr/^connect ok/, "$what: RRconnect");
	ReplrouteTest::parse_loop($d->cmd("readloop 100 2000 $sql"));    # warm up
	my $r = ReplrouteTest::parse_loop($d->cmd("readloop 1000 2000 $sql"));
	is($r->{fail}, 0, "$what: no read failed ($r->{line})");
	cmp_ok($r->{ports}{$pport} // 0, '>', 50,
		"$what: the slowed standby keeps getting reads (" . ($r->{ports}{$pport} // 0) . ' of 1000)');
	my $med = $r->{medus}{$p1} // 1e9;
	cmp_ok($med, '<', $base_med + 5000,
		"$what: reads served by standby1 are not slowed (median $med us, baseline $base_med us)");
	cmp_ok($r->{ports}{$pp} // 0, '==', 0, "$what: no read fell back to the primary");
	is($d->finish, 0, "$what: the driver exits cleanly");
	$proxy->stop;
}

ReplrouteTest::finish_drivers();
done_testing();
