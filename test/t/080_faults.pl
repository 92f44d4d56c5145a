
# Fault injection: one application handle (test/rr_test, ASan/UBSan) reads
# every millisecond and writes every tenth operation while the test kills
# and restarts standbys, pauses replay at random moments, makes a slot
# "lost", stops the primary, promotes a standby and builds a new standby
# from the new primary.  Afterwards: no failed read, every acknowledged
# write is on the final primary, the loop never hung, and the handle leaks
# nothing.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $seed = $ENV{REPLROUTE_FAULT_SEED} // int(rand(1_000_000));
srand($seed);
note("random seed $seed (set REPLROUTE_FAULT_SEED to replay)");

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	standby_conf => "wal_retrieve_retry_interval = 300ms\n");
# the standby built later from the new primary: its port is in the list
# from the start, a closed port until then
my $s3 = PostgreSQL::Test::Cluster->new('standby3');
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2, $s3);
my ($pp, $p1, $p2, $p3) = map { $_->port } ($primary, $s1, $s2, $s3);
my $cli = "$ENV{TESTDIR}/client/replroute";

$primary->safe_psql('postgres', 'CREATE TABLE regress_replroute_f (id bigint PRIMARY KEY)');
$primary->wait_for_catchup($_) for ($s1, $s2);

my $app = ReplrouteTest::driver($ci);
my $probe = ReplrouteTest::driver($ci);    # a second handle, to watch routing meanwhile
my $wlog = PostgreSQL::Test::Utils::tempdir . '/writes.log';
$app->send("mixloop 300 1000 10 regress_replroute_f $wlog");
my $t_start = time;

sub reads_on
{
	my ($d, $n) = @_;
	return ReplrouteTest::parse_loop(
		$d->cmd("readloop $n 1000 SELECT inet_server_port()"))->{ports};
}

sub random_pauses
{
	my (@nodes) = @_;
	for (1 .. 3)
	{
		my $n = $nodes[ int(rand(@nodes)) ];
		$n->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
		usleep(200_000 + int(rand(500_000)));
		ReplrouteTest::resume_replay($n);
		usleep(int(rand(300_000)));
	}
}

# 1. replay paused and resumed at random moments
random_pauses($s1, $s2);

# 2. a standby killed and restarted, then the other one
$s2->stop('immediate');
usleep(800_000);
$s2->start;
usleep(500_000);
$s1->stop('immediate');
usleep(800_000);
$s1->start;
$primary->wait_for_catchup($_) for ($s1, $s2);

# 3. standby1's slot lost: it may hold back at most 1MB, it is stopped, and
#    the primary writes and checkpoints past that
$primary->safe_psql('postgres', "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
$primary->reload;
$s1->stop('fast');
for (1 .. 4)
{
	ReplrouteTest::write_some($primary, 5000);
	$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$primary->safe_psql('postgres', 'CHECKPOINT');
}
ok( defined ReplrouteTest::poll_until(30, sub {
		$primary->safe_psql('postgres', 'CHECKPOINT');
		$primary->safe_psql('postgres',
			"SELECT wal_status FROM replroute.slots() WHERE slot_name = 'regress_replroute_s1'")
		  eq 'lost' }),
	'slot of standby1 is lost');
$s1->start;    # it cannot stream any more: the WAL it needs is gone
ok( defined ReplrouteTest::poll_until(30, sub {
		ReplrouteTest::write_some($primary, 1);
		!reads_on($probe, 100)->{$p1} }),
	'the router stops sending reads to the standby whose slot is lost');
my ($out, $err);
IPC::Run::run([ $cli, 'check', $ci ], '>', \$out, '2>', \$err);
is($? >> 8, 2, "replroute check: CRITICAL ($out)");
like($out, qr/lost/, 'and it names the lost slot');

# 4. the primary stopped (fast: connected standbys get all WAL), standby2
#    promoted, a new standby built from the new primary
$primary->stop('fast');
usleep(500_000);
$s2->promote;
ok( defined ReplrouteTest::poll_until(30, sub {
		$probe->cmd('write SELECT inet_server_port()') eq "ok $p2 $p2" }),
	'writes reach the promoted standby2');
$s2->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('regress_replroute_s3')");
$s2->backup('after_failover');
$s3->init_from_backup($s2, 'after_failover', has_streaming => 1);
$s3->append_conf('postgresql.conf',
	"primary_slot_name = 'regress_replroute_s3'\nwal_retrieve_retry_interval = 300ms\n");
$s3->start;
$s2->wait_for_catchup($s3);
ok( defined ReplrouteTest::poll_until(30, sub { reads_on($probe, 50)->{$p3} }),
	'the new standby gets reads');

# 5. the application runs on with the new standby for a moment, then more
#    random pauses, on the new standby (a node down so far is retried at
#    most 2 s apart)
usleep(2_500_000);
random_pauses($s3);

$app->send('stop');
my $line = $app->line;
my $took = time - $t_start;
note($line);
my ($wok, $wfail) = $line =~ /writes_ok=(\d+) writes_fail=(\d+)/;
my ($rok, $rfail, $maxus) = $line =~ /reads ok=(\d+) fail=(\d+) maxus=(\d+)/;
my ($ports) = $line =~ /ports=(\S*)/;
diag(sprintf('fault run: %.0f s, %d reads (%d failed), %d writes acknowledged, %d refused, '
	  . 'slowest operation %.3f s, reads per port %s',
	$took, $rok, $rfail, $wok, $wfail, $maxus / 1e6, $ports));
cmp_ok($rok, '>', 2000, 'thousands of reads went through');
is($rfail, 0, 'no read failed');
cmp_ok($maxus, '<', 10_000_000, 'no operation hung (slowest below 10 s)');
cmp_ok($wfail, '>', 0, 'writes were refused while there was no primary (and said so)');
like($ports, qr/(^|,)$p3:/, 'the application used the new standby too');

# every acknowledged write is on the final primary
my @acked = map { /^ok (\d+)(?: \d+)?$/ ? $1 : () } split /\n/, slurp_file($wlog);
is(scalar(@acked), $wok, 'the write log has every acknowledged write');
my %present = map { $_ => 1 } split /\n/,
  $s2->safe_psql('postgres', 'SELECT id FROM regress_replroute_f');
my @lost = grep { !$present{$_} } @acked;
is(scalar(@lost), 0, 'no acknowledged write is missing on the final primary')
  or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
my @failed = map { /^fail (\d+) / ? $1 : () } split /\n/, slurp_file($wlog);
is(scalar(@failed), $wfail, 'every refused write was reported');
note(scalar(grep { $present{$_} } @failed) . ' refused writes were committed anyway');
ok(!$present{0}, 'nothing written that was not sent');

ReplrouteTest::finish_drivers();

done_testing();
