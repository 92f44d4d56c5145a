
# The extension on a real primary and two streaming standbys: lag on an idle
# primary, paused replay, standbys() and slots(), wait_for_lsn without a
# snapshot, no password leak, primary loss and promotion.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $secret = 'Sekr1t-replroute-xyzzy';

# wal_retrieve_retry_interval is short so that, once the primary is gone,
# the WAL receiver restarts several times while we look (each restart resets
# core's receipt timestamps); max_standby_streaming_delay is short so that a
# snapshot conflict cancels quickly instead of stalling replay for 30 s.
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	standby_conf => "wal_retrieve_retry_interval = 300ms\n"
	  . "max_standby_streaming_delay = 100ms\n"
	  . "hot_standby_feedback = off\n");

sub status { return ReplrouteTest::node_status(@_); }

sub routable
{
	my ($node, $args) = @_;
	return $node->safe_psql('postgres',
		"SELECT replroute.is_routable($args)") eq 't';
}

#
# 1. Idle primary: no false lag
#
ReplrouteTest::write_some($primary, 1);    # a commit for the naive formula
# Ask the primary before the checkpoint, not in the idle window: its first
# node_status() sets hint bits on catalog pages, and after a checkpoint
# that writes full-page images (wal_log_hints, which
# PostgreSQL::Test::Cluster sets for streaming nodes), WAL the standbys
# receive in pieces while the window is being measured.
my $primary_sysid = status($primary)->{system_identifier};
$primary->safe_psql('postgres', 'CHECKPOINT');
$primary->wait_for_catchup($_) for ($s1, $s2);
sleep 3;    # the scenario itself: several seconds without writes
for my $s ($s1, $s2)
{
	# Background WAL (running_xacts, checkpoints) can leave a record whose
	# first part is flushed and the rest not yet: a real, sub-page, brief
	# lag.  Most samples must be exactly 0 and none more than that.
	my ($zero, $samples, $max_lag_s, $max_lag_b) = (0, 10, 0, 0);
	for (1 .. $samples)
	{
		my $st = status($s);
		if ($st->{lag_bytes} == 0 && $st->{lag_seconds} == 0)
		{
			$zero++;
		}
		else
		{
			diag(sprintf('%s: nonzero sample: wal %s receive %s upstream %s bytes %s seconds %s',
				$s->name, map { $_ // 'NULL' } @{$st}{qw(wal_lsn receive_lsn upstream_lsn lag_bytes lag_seconds)}));
		}
		$max_lag_s = $st->{lag_seconds} if $st->{lag_seconds} > $max_lag_s;
		$max_lag_b = $st->{lag_bytes} if $st->{lag_bytes} > $max_lag_b;
		usleep(100_000);
	}
	my $st = status($s);
	is($st->{role}, 'standby', $s->name . ': role standby');
	ok($st->{streaming}, $s->name . ': streaming');
	cmp_ok($zero, '>=', $samples - 3,
		$s->name . ": idle primary: lag_bytes = 0 and lag_seconds = 0 ($zero/$samples samples)");
	cmp_ok($max_lag_s, '<', 0.5, $s->name . ': idle primary: lag_seconds stays near 0');
	cmp_ok($max_lag_b, '<', 8192, $s->name . ': idle primary: lag_bytes never above one page');
	ok(routable($s, '0, 0.5'), $s->name . ': routable with a zero byte limit');
	my $naive = $s->safe_psql('postgres',
		'SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())');
	cmp_ok($naive, '>', 2,
		$s->name . ": the naive formula shows ${naive}s of false lag here");
	is($st->{system_identifier}, $primary_sysid,
		$s->name . ': same system_identifier as the primary');
	cmp_ok($st->{upstream_contact_seconds}, '<', 15,
		$s->name . ': upstream contact is recent');
	is($st->{replay_paused}, 0, $s->name . ': replay not paused');
}

#
# 5. standbys() and slots() on the primary
#
my @rows = split /\n/, $primary->safe_psql('postgres',
	"SELECT application_name, coalesce(slot_name, '-'), lag_bytes, state "
	  . 'FROM replroute.standbys() ORDER BY application_name');
is_deeply(
	[ map { (split /\|/)[0] . '|' . (split /\|/)[1] } @rows ],
	[ 'standby1|regress_replroute_s1', 'standby2|-' ],
	'standbys(): both standbys, the first on its slot');
like($_, qr/^\w+\|[^|]+\|\d+\|streaming$/, "standbys() row: $_") for @rows;

is( $primary->safe_psql('postgres',
		"SELECT active, wal_status, retained_bytes >= 0 "
		  . "FROM replroute.slots() WHERE slot_name = 'regress_replroute_s1'"),
	't|reserved|t',
	'slots(): the slot is active and reserved');

$s1->stop('fast');
ok( defined ReplrouteTest::poll_until(10, sub {
		$primary->safe_psql('postgres',
			"SELECT NOT active FROM replroute.slots() "
			  . "WHERE slot_name = 'regress_replroute_s1'") eq 't' }),
	'slots(): inactive once its standby stopped');
my $r1 = $primary->safe_psql('postgres',
	"SELECT retained_bytes FROM replroute.slots() WHERE slot_name = 'regress_replroute_s1'");
ReplrouteTest::write_some($primary, 20000);
my $r2 = $primary->safe_psql('postgres',
	"SELECT retained_bytes FROM replroute.slots() WHERE slot_name = 'regress_replroute_s1'");
cmp_ok($r2, '>', $r1 + 1_000_000,
	"slots(): retained_bytes grows while the standby is away ($r1 -> $r2)");
is( $primary->safe_psql('postgres',
		"SELECT count(*) FROM replroute.standbys()"),
	'1', 'standbys(): only the running standby is listed');
$s1->start;
$primary->wait_for_catchup($_) for ($s1, $s2);

#
# 2. Replay paused on standby2 while the primary writes
#
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
ReplrouteTest::poll_until(10, sub {
	$s2->safe_psql('postgres', 'SELECT pg_get_wal_replay_pause_state()') eq 'paused'
	  or do { ReplrouteTest::write_some($primary, 1); 0 } });
ReplrouteTest::write_some($primary, 100);
my $t_first_write = time;
my $st_a = status($s2);
my $took = ReplrouteTest::poll_until(5, sub {
	ReplrouteTest::write_some($primary, 10);
	!routable($s2, 'NULL, 0.5') });
ok(defined $took, 'paused standby: is_routable(NULL, 0.5) turns false');
cmp_ok(time - $t_first_write, '<', 2.0,
	'paused standby: not routable within about a second of the first unreplayed write');
sleep 1;
ReplrouteTest::write_some($primary, 1000);
$primary->wait_for_catchup($s2, 'flush');
my $st_b = status($s2);
cmp_ok($st_b->{lag_bytes}, '>', $st_a->{lag_bytes},
	"paused standby: lag_bytes grows ($st_a->{lag_bytes} -> $st_b->{lag_bytes})");
# the figure and the server's clock in one statement each, so that the time
# psql takes to start (long on a loaded machine) is not counted
my $lag_at = sub {
	split /\|/, $s2->safe_psql('postgres',
		'SELECT lag_seconds, extract(epoch FROM clock_timestamp()) FROM replroute.node_status()');
};
my ($lag_b, $at_b) = $lag_at->();
sleep 1;
my $c = status($s2);
my ($lag_c, $at_c) = $lag_at->();
my $elapsed_wall = $at_c - $at_b;
my $grew = $lag_c - $lag_b;
cmp_ok(abs($grew - $elapsed_wall), '<', 0.3,
	sprintf('paused standby: lag_seconds grows with wall-clock time (%.2fs over %.2fs)',
		$grew, $elapsed_wall));
is($c->{replay_paused}, 1, 'paused standby: replay_paused');
cmp_ok($c->{receive_lsn} // '', 'ne', $c->{wal_lsn}, 'paused standby: receives but does not replay');

$primary->wait_for_catchup($s1);
my $o = status($s1);
is($o->{lag_bytes}, 0, 'other standby: lag_bytes 0');
is($o->{lag_seconds}, 0, 'other standby: lag_seconds 0');
ok(routable($s1, 'NULL, 0.5'), 'other standby: routable');

ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);
for my $s ($s1, $s2)
{
	ok( defined ReplrouteTest::poll_until(10, sub {
			my $st = status($s);
			$st->{lag_bytes} == 0 && $st->{lag_seconds} == 0 }),
		$s->name . ': back to lag 0 after resume');
	ok(routable($s, 'NULL, 0.5'), $s->name . ': routable again');
}

#
# 6. wait_for_lsn on a standby
#
ReplrouteTest::write_some($primary, 10);
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
is($s1->safe_psql('postgres', "CALL replroute.wait_for_lsn('$lsn', 10000)"),
	'success', 'wait_for_lsn: success once replayed');
is($s1->safe_psql('postgres', "CALL replroute.wait_for_lsn('0/0', 0)"),
	'success', 'wait_for_lsn: an old target succeeds at once, even with timeout 0');

$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
ReplrouteTest::write_some($primary, 10);
$lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $t0 = time;
is($s2->safe_psql('postgres', "CALL replroute.wait_for_lsn('$lsn', 700)"),
	'timeout', 'wait_for_lsn: timeout while replay is paused');
my $waited = time - $t0;
cmp_ok($waited, '>=', 0.65, sprintf('wait_for_lsn: waited the whole timeout (%.2fs)', $waited));
cmp_ok($waited, '<', 5, 'wait_for_lsn: and not much longer');

my ($ret, $stdout, $stderr) = $s2->psql('postgres',
	"SET statement_timeout = '300ms'; CALL replroute.wait_for_lsn('$lsn', 60000)");
like($stderr, qr/canceling statement due to statement timeout/,
	'wait_for_lsn: honours statement_timeout');
ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);

# The no-snapshot property.  First show that the scenario does produce a
# snapshot conflict for a session that holds a snapshot while it waits.
sub conflicts
{
	return $s2->safe_psql('postgres',
		"SELECT confl_snapshot FROM pg_stat_database_conflicts WHERE datname = 'postgres'");
}

sub cleanup_while_paused
{
	$primary->safe_psql('postgres',
		'DROP TABLE IF EXISTS regress_replroute_v; '
		  . 'CREATE TABLE regress_replroute_v (id int) WITH (autovacuum_enabled = off); '
		  . 'INSERT INTO regress_replroute_v SELECT generate_series(1, 1000)');
	$primary->wait_for_catchup($s2);
	$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
	my $holder = shift;
	$holder->() if $holder;
	$primary->safe_psql('postgres', 'DELETE FROM regress_replroute_v');
	$primary->safe_psql('postgres', 'VACUUM regress_replroute_v');
	ReplrouteTest::write_some($primary, 1);
	return $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
}

my $before = conflicts();
my $holder = $s2->background_psql('postgres', on_error_stop => 0);
my $target = cleanup_while_paused(sub {
	$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	$holder->query_safe('SELECT count(*) FROM regress_replroute_v');
});
ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);
ok( defined ReplrouteTest::poll_until(10, sub { conflicts() > $before }),
	'control: a session holding a snapshot is hit by the cleanup (conflict counted)');
$holder->quit;

# Now the real waiter.  The grace period goes back to 30 s so that the
# statement resuming replay (which takes a snapshot while replay is paused)
# is waited for instead of cancelled and counted; a waiter that held a
# snapshot would still stall replay and never see its target.
$s2->append_conf('postgresql.conf', "max_standby_streaming_delay = 30s\n");
$s2->reload;
$before = conflicts();
$target = cleanup_while_paused();
my $waiter = $s2->background_psql('postgres', on_error_stop => 0);
$waiter->query_until(qr/waiting/,
	"\\echo waiting\nCALL replroute.wait_for_lsn('$target', 60000);\n");
# before PostgreSQL 19 the wait is our latch loop (wait event Extension);
# on 19 it is core's WaitForLSN(), which reports its own wait event
my $wait_event =
  $s2->safe_psql('postgres', 'SHOW server_version_num') >= 190000
  ? 'WaitForWalReplay'
  : 'Extension';
ok( defined ReplrouteTest::poll_until(10, sub {
		$s2->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CALL replroute.wait_for_lsn%' "
			  . "AND wait_event = '$wait_event'") eq '1' }),
	"waiter is waiting (wait event $wait_event)");
is( $s2->safe_psql('postgres',
		"SELECT backend_xmin IS NULL AND backend_xid IS NULL FROM pg_stat_activity "
		  . "WHERE query LIKE 'CALL replroute.wait_for_lsn%'"),
	't', 'waiter advertises no xmin');
is( $s2->safe_psql('postgres',
		"SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
		  . "WHERE a.query LIKE 'CALL replroute.wait_for_lsn%' AND l.locktype = 'relation'"),
	'0', 'waiter holds no relation lock');
ReplrouteTest::resume_replay($s2);
my ($out, $err) = $waiter->query('SELECT 1');
like($out, qr/^success\n1$/, 'waiter returns success after replay resumes');
is($err, 0, 'waiter was not cancelled');
$waiter->quit;
sleep 1;    # give a cancelled backend's statistics time to arrive
is(conflicts(), $before, 'no new snapshot conflict on the standby');

#
# 7. No function shows a password from primary_conninfo
#
$primary->safe_psql('postgres',
	"CREATE ROLE regress_replroute_repl LOGIN REPLICATION PASSWORD '$secret'");
my $conninfo = 'host=' . $primary->host . ' port=' . $primary->port
  . " user=regress_replroute_repl password=$secret application_name=standby2";
$s2->append_conf('postgresql.conf', "primary_conninfo = '$conninfo'");
$s2->reload;
ok( defined ReplrouteTest::poll_until(20, sub {
		$s2->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming' "
			  . "AND conninfo LIKE '%regress_replroute_repl%'") eq '1' }),
	'standby2 streams with a password in primary_conninfo');
my $all = '';
for my $n ($primary, $s1, $s2)
{
	for my $q (
		'SELECT * FROM replroute.node_status()',
		'SELECT replroute.is_routable()',
		'SELECT * FROM replroute.standbys()',
		'SELECT * FROM replroute.slots()',
		"CALL replroute.wait_for_lsn('0/0', 0)")
	{
		$all .= $n->safe_psql('postgres', $q) . "\n";
	}
	# the same as an unprivileged role sees it
	$all .= $n->safe_psql('postgres',
		'SET ROLE pg_monitor; SELECT * FROM replroute.standbys()') . "\n";
}
unlike($all, qr/\Q$secret\E/, 'no function output contains the password');
like($all, qr/standby2/, '(and the outputs were really collected)');
# (PostgreSQL itself logs the new primary_conninfo, password included, when
# a reload changes it: one more reason for a passfile; see README.)

#
# 3. Primary stopped: not streaming, upstream contact grows across WAL
#    receiver restarts
#
$primary->wait_for_catchup($_) for ($s1, $s2);
ok(status($_)->{streaming}, $_->name . ': streaming before the primary stops') for ($s1, $s2);
$primary->stop('immediate');
for my $s ($s1, $s2)
{
	ok( defined ReplrouteTest::poll_until(30, sub { !status($s)->{streaming} }),
		$s->name . ': streaming = false once the primary is gone');
}
my %c1 = map { $_->name => status($_)->{upstream_contact_seconds} } ($s1, $s2);
sleep 2;    # several receiver restarts at wal_retrieve_retry_interval = 300ms
for my $s ($s1, $s2)
{
	my $st = status($s);
	my $c2 = $st->{upstream_contact_seconds};
	ok(defined $c1{ $s->name } && defined $c2, $s->name . ': upstream_contact_seconds known');
	cmp_ok($c2 - $c1{ $s->name }, '>', 1.8,
		$s->name . ": upstream_contact_seconds grows ($c1{$s->name} -> $c2)");
	is($st->{streaming}, 0, $s->name . ': still not streaming');
	# everything complete that arrived is replayed.  The primary's WAL
	# writer flushes whole pages, which may end inside a record: if it died
	# just after, the standby holds the start of a record that never ends
	# (seen once on 17: 3192 bytes), received up to a page boundary.
	my ($lo) = ($st->{receive_lsn} // '') =~ m{/([0-9A-F]+)$};
	ok( $st->{lag_bytes} == 0
		  || (defined $lo && hex($lo) % 8192 == 0 && $st->{lag_bytes} <= 65536),
		$s->name . ': nothing received is unreplayed but an incomplete last record'
		  . " (lag_bytes $st->{lag_bytes}, received " . ($st->{receive_lsn} // 'NULL') . ')');
}

#
# 4. Promotion
#
my $tli = status($s1)->{timeline};
$s1->promote;
ok( defined ReplrouteTest::poll_until(30, sub { status($s1)->{role} eq 'primary' }),
	'promoted standby reports role primary');
my $p = status($s1);
cmp_ok($p->{timeline}, '>', $tli, "timeline increased ($tli -> $p->{timeline})");
ok(!defined $p->{receive_lsn} && !defined $p->{streaming},
	'promoted: standby-only columns are NULL');
is($p->{lag_bytes}, 0, 'promoted: lag 0');
is($s1->safe_psql('postgres', "CALL replroute.wait_for_lsn('0/1', 0)"),
	'success', 'wait_for_lsn after promotion: success for a target replayed before');
is($s1->safe_psql('postgres', "CALL replroute.wait_for_lsn('FFFFFFFF/0', 0)"),
	'not in recovery', 'wait_for_lsn after promotion: not in recovery for a future target');
ok(routable($s1, '0, 0'), 'promoted node is routable');

done_testing();
