
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# Threads: several threads, each with its own RRcluster handle, reading and
# writing at once through test/thread_test, which is built with
# ThreadSanitizer over the library's own sources.  The library promises no
# global mutable state (distinct handles may be used concurrently), so the
# run must be clean: exit 0, every statement answered, read-your-writes held
# in the consistency=session thread, and no ThreadSanitizer report.
#
# Then the same with one shared RRmonitor (thread_test --monitor): eight
# threads with a handle each from it, reading and writing while replay is
# paused on standby1 (which goes over the lag limit) and standby2 is
# stopped (immediate mode) and started again: no ThreadSanitizer report,
# no failed read or write, no stale session read.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $bin = "$ENV{TESTDIR}/test/thread_test";
plan skip_all => "$bin is not built (needs clang with ThreadSanitizer)" unless -x $bin;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);

# halt at the first report, with an exit code of its own
local $ENV{TSAN_OPTIONS} = 'halt_on_error=1 exitcode=66';

for my $case ([ 2, 200 ], [ 4, 100 ])
{
	my ($threads, $iterations) = @$case;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $bin, $ci, $threads, $iterations ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $status = $?;
	my $what = "$threads threads x $iterations";

	is($status & 127, 0, "$what: no signal");
	is($status >> 8, 0, "$what: thread_test exits 0 (66 would be a ThreadSanitizer report)")
	  or diag("stdout:\n$out\nstderr:\n$err");
	unlike($err, qr/WARNING: ThreadSanitizer/, "$what: no ThreadSanitizer warning");
	my @lines = grep { /^thread \d+ / } split /\n/, $out;
	is(scalar @lines, $threads, "$what: one result line per thread");
	for my $l (@lines)
	{
		like($l, qr/ writes=$iterations reads=$iterations .* stale=0 fail=0 ok /,
			"$what: $l");
	}
	my $standby = 0;
	$standby += $_ for map { / standby_reads=(\d+)/ } @lines;
	cmp_ok($standby, '>', 0, "$what: reads reached the standbys ($standby)");
}

# every row written by every thread is on the primary
is($primary->safe_psql('postgres', 'SELECT count(*) FROM regress_replroute_threads'),
	'400', 'the last run wrote 4 x 100 rows');

#
# One shared monitor, eight threads, while standbys misbehave
#

# let the program run (its output collected) for $secs
sub run_for
{
	my ($h, $secs) = @_;
	my $end = time + $secs;
	while (time < $end)
	{
		$h->pump_nb;
		usleep(100_000);
	}
	return;
}

{
	my ($threads, $seconds) = (8, 20);
	my ($out, $err) = ('', '');
	my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	my $h = IPC::Run::start([ $bin, '--monitor', $ci, $threads, $seconds ],
		'<', \undef, '>', \$out, '2>', \$err, $timer);
	$h->pump until $out =~ /^connected $threads$/m || !$h->pumpable;
	like($out, qr/^connected $threads$/m, "monitor: $threads threads connected through one monitor");

	# standby1 falls behind: writes keep coming, replay does not
	$s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
	run_for($h, 3);
	ReplrouteTest::resume_replay($s1);
	$primary->wait_for_catchup($s1);
	# standby2 goes away under the readers, and comes back
	$s2->stop('immediate');
	run_for($h, 3);
	$s2->start;
	$h->finish;
	my $status = $?;
	my $what = "monitor, $threads threads";

	is($status & 127, 0, "$what: no signal");
	is($status >> 8, 0, "$what: thread_test exits 0 (66 would be a ThreadSanitizer report)")
	  or diag("stdout:\n$out\nstderr:\n$err");
	unlike($err, qr/WARNING: ThreadSanitizer/, "$what: no ThreadSanitizer warning");
	like($out, qr/^monitor health_queries=\d+$/m, "$what: the main thread read the monitor's counters");
	my @lines = grep { /^thread \d+ / } split /\n/, $out;
	is(scalar @lines, $threads, "$what: one result line per thread");
	my ($writes, $retries) = (0, 0);
	for my $l (@lines)
	{
		like($l, qr/ reads=[1-9]\d* .* stale=0 fail=0 ok /, "$what: $l");
		$writes += $1 if $l =~ / writes=(\d+)/;
		$retries += $1 if $l =~ / retries=(\d+)/;
	}
	note("$what: $retries reads retried on another node");
	is($primary->safe_psql('postgres', 'SELECT count(*) FROM regress_replroute_threads'),
		$writes, "$what: every acknowledged write ($writes) is on the primary");
}

done_testing();
