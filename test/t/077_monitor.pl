
# Copyright: see README.md

# One probe stream per node for a whole process: handles of a shared
# RRmonitor, through test/monitor_test (ASan/UBSan; one monitor, a control
# handle of it, and reader threads with a handle each), with the default
# check_interval (100 ms) and node_timeout (2 s):
#
#  1. with 1, 8 and 32 threads reading: one health backend per node (the
#     monitor's), and a health query rate (the monitor's own count) that
#     does not grow with the threads, beside 8 plain RRconnect handles,
#     whose health backends and queries do grow;
#  2. no thread inside a call for 2 s: the monitor's thread keeps asking
#     (its count goes on, every node's health backend ran its query within
#     the last 0.5 s), and a handle's next call finds answers younger than
#     0.5 s;
#  3. a standby frozen (SIGSTOP of its postmaster and children) while 8
#     threads read: no read fails, none takes longer than node_timeout +
#     check_interval + 1.5 s; the primary frozen under a write: it fails
#     within that bound, its outcome unknown, and writes come back after;
#  4. options that belong to the monitor are refused on a handle; a handle
#     keeps working after RRmonitorFinish; the end is leak-free.
# Bounds carry margins for a loaded 2-core machine; the exact figures are
# in make bench (section 13).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $bin = "$ENV{TESTDIR}/test/monitor_test";
plan skip_all => "$bin is not built" unless -x $bin;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my @nodes = ($primary, $s1, $s2);
my ($pp, $p1, $p2) = map { $_->port } @nodes;
my $ci = ReplrouteTest::conninfo(@nodes);
my $node_timeout = 2.0;
my $check_interval = 0.1;

# the health query: replroute.probe(), or node_status() on an extension at 1.0
my $health = "(query LIKE '%replroute.probe()%' OR query LIKE '%node_status()%')";

# the library's health backends on $node now
sub health_backends
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'replroute' "
		  . "AND $health AND pid <> pg_backend_pid()");
}

# every node's health backend count, sampled $n times 0.3 s apart: the largest
sub max_health_backends
{
	my ($n) = @_;
	my %max;
	for (1 .. $n)
	{
		for my $node (@nodes)
		{
			my $c = health_backends($node);
			$max{ $node->name } = $c if $c > ($max{ $node->name } // -1);
		}
		usleep(300_000);
	}
	return \%max;
}

sub parse_kv
{
	my ($line) = @_;
	return { map { /^(\w+)=(.*)$/ ? ($1 => $2) : () } split / /, $line };
}

my $d;
{
	local $ENV{RR_TEST_DRIVER} = $bin;
	$d = ReplrouteTest::driver($ci, '');
}
like($d->{connect}, qr/^connect ok nodes=3$/, 'RRmonitorStart and a control handle');

#
# 1. 1, 8 and 32 threads through one monitor; 8 plain handles beside
#
my $read = 'SELECT inet_server_port()';
my %rate;
for my $threads (1, 8, 32)
{
	is($d->cmd("start $threads 2000 $read"), "started $threads", "$threads threads: started");
	usleep(500_000);
	my $max = max_health_backends(4);
	my $r = ReplrouteTest::parse_loop($d->cmd('stop'));
	my $kv = parse_kv($r->{line});
	is($r->{fail}, 0, "$threads threads: no read failed ($r->{line})");
	cmp_ok($r->{ok}, '>', $threads, "$threads threads: reads were served");
	for my $node (@nodes)
	{
		is($max->{ $node->name }, 1,
			"$threads threads: one health backend on " . $node->name);
	}
	$rate{$threads} = $kv->{hq} / $kv->{secs} / 3;
	note(sprintf('%d threads: %.1f health queries per node per second', $threads, $rate{$threads}));
	cmp_ok($rate{$threads}, '<=', 1.5 / $check_interval,
		sprintf('%d threads: %.1f health queries per node per second (one every check_interval)',
			$threads, $rate{$threads}));
}
cmp_ok($rate{32}, '<=', 1.5 * $rate{1} + 1,
	sprintf('the health query rate does not grow with the threads: 1: %.1f/s, 8: %.1f/s, 32: %.1f/s',
		$rate{1}, $rate{8}, $rate{32}));

# the same measure on plain handles: it does grow
is($d->cmd("plain 8 2000 $read"), 'started 8', 'plain handles: started');
usleep(500_000);
my $pmax = max_health_backends(2);
my $pr = ReplrouteTest::parse_loop($d->cmd('stop'));
my $pkv = parse_kv($pr->{line});
is($pr->{fail}, 0, "8 plain handles: no read failed ($pr->{line})");
for my $node (@nodes)
{
	cmp_ok($pmax->{ $node->name }, '>=', 8,
		'8 plain handles: a health backend each on ' . $node->name . ' (and the monitor\'s)');
}
my $prate = $pkv->{hq} / $pkv->{secs} / 3;
cmp_ok($prate, '>=', 4 * $rate{8},
	sprintf('8 plain handles ask %.1f times a node per second, the monitor %.1f', $prate, $rate{8}));

#
# 2. nobody inside a call: the monitor's thread keeps asking
#
my $before = parse_kv($d->cmd('probes'));
usleep(2_000_000);
my $after = parse_kv($d->cmd('probes'));
for my $i (0 .. 2)
{
	my $n = $after->{"n$i"} - $before->{"n$i"};
	cmp_ok($n, '>=', 0.5 * 2.0 / $check_interval,
		"idle 2 s: the monitor asked node $i $n times");
}
for my $node (@nodes)
{
	my $age = $node->safe_psql('postgres',
		'SELECT max(extract(epoch FROM clock_timestamp() - query_start)) FROM pg_stat_activity '
		  . "WHERE application_name = 'replroute' AND $health");
	cmp_ok($age, '<', 0.5, 'idle: ' . $node->name . "'s health backend ran its query ${age} s ago");
}
my $age = parse_kv($d->cmd('age'));
for my $i (0 .. 2)
{
	cmp_ok($age->{"a$i"}, '>=', 0, "after 2 s idle, node $i has an answer");
	cmp_ok($age->{"a$i"}, '<', 0.5, "after 2 s idle, the answer of node $i is " . $age->{"a$i"} . ' s old');
}
cmp_ok($age->{us}, '<', 250_000, "the handle's first call after the idle spell took $age->{us} us");

#
# 3. a standby frozen while 8 threads read
#
sub node_pids
{
	my ($node) = @_;
	my $pm = $node->{_pid} or die 'no postmaster pid for ' . $node->name;
	my @kids = split ' ', `ps -o pid= --ppid $pm`;
	return ($pm, @kids);
}

is($d->cmd('start 8 5000 SELECT pg_sleep(0.02), inet_server_port()'), 'started 8',
	'frozen standby: 8 readers started');
usleep(800_000);
kill 'STOP', node_pids($s1);
usleep(int(($node_timeout + 3) * 1e6));
kill 'CONT', reverse node_pids($s1);
usleep(300_000);
my $fr = ReplrouteTest::parse_loop($d->cmd('stop'));
is($fr->{fail}, 0, "frozen standby: no read failed ($fr->{line})");
my $bound = $node_timeout + $check_interval + 1.5;
cmp_ok($fr->{maxus} / 1e6, '<', $bound,
	sprintf('frozen standby: the slowest read took %.2f s (bound %.1f s)', $fr->{maxus} / 1e6, $bound));
cmp_ok($fr->{ports}{$p2} // 0, '>', 0, 'frozen standby: reads went to standby2');
$primary->wait_for_catchup($s1);

# the primary frozen under a write of the control handle
like($d->cmd('write SELECT 1'), qr/^ok $pp 1$/, 'frozen primary: a first write');
$d->send('write SELECT pg_sleep(1)');
usleep(300_000);
kill 'STOP', node_pids($primary);
my $tw = time;
my $wline = $d->line;
my $wsecs = time - $tw;
kill 'CONT', reverse node_pids($primary);
like($wline, qr/^null .*outcome of the write .* is unknown/,
	'frozen primary: the write in flight fails, its outcome unknown');
cmp_ok($wsecs, '<', $bound, sprintf('frozen primary: ... after %.2f s (bound %.1f s)', $wsecs, $bound));
ok(defined ReplrouteTest::poll_until(30, sub { $d->cmd('write SELECT 1') =~ /^ok $pp 1$/ }),
	'frozen primary: writes come back after the thaw');

#
# 4. options and lifetimes
#
like($d->cmd('connect check_interval=10ms'), qr/^bad .*"check_interval" belongs to the monitor/,
	'a handle cannot set check_interval');
like($d->cmd('connect policy=random node_timeout=1s'), qr/^bad .*"node_timeout" belongs to the monitor/,
	'... nor node_timeout');
is($d->cmd('connect policy=least_lag max_lag_seconds=5s statement_timeout=1s'), 'ok',
	'handle options of its own');
like($d->cmd('connect polcy=random'), qr/^bad .*unknown option "polcy"/, 'an unknown option');
is($d->cmd('finishmon'), 'ok', 'RRmonitorFinish with the control handle still open');
like($d->cmd("read $read"), qr/^ok \d+ \d+$/, 'the handle keeps working after RRmonitorFinish');
ReplrouteTest::finish_drivers();

# every health backend is gone with the last handle
for my $node (@nodes)
{
	ok(ReplrouteTest::poll_until(10, sub { health_backends($node) == 0 }),
		'after the last RRfinish: no health backend left on ' . $node->name);
}

done_testing();
