
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# Threads: several threads, each with its own RRcluster handle, reading and
# writing at once through test/thread_test, which is built with
# ThreadSanitizer over the library's own sources.  The library promises no
# global mutable state (distinct handles may be used concurrently), so the
# run must be clean: exit 0, every statement answered, read-your-writes held
# in the consistency=session thread, and no ThreadSanitizer report.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
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
	# a fresh table, replayed everywhere before the threads start
	$primary->safe_psql('postgres',
		'DROP TABLE IF EXISTS regress_replroute_threads; '
		  . 'CREATE TABLE regress_replroute_threads (t int, i bigint)');
	$primary->wait_for_catchup($_) for ($s1, $s2);
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

done_testing();
