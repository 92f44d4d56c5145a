
# libreplroute against a primary and two streaming standbys, through the C
# driver test/rr_test (one RRcluster handle per driver, built with ASan and
# UBSan): spreading reads, lag exclusion and its recovery, fallback, dead
# and black-hole nodes, a node of another cluster, a standby killed during
# a read loop, loss of the primary, promotion and the old primary's return.

use strict;
use warnings;

use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	standby_conf => "wal_retrieve_retry_interval = 300ms\n");
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
sub driver { return ReplrouteTest::driver(@_); }
sub parse_loop { return ReplrouteTest::parse_loop(@_); }

sub reads
{
	my ($d, $n, $delay) = @_;
	return parse_loop($d->cmd("readloop $n " . ($delay // 0) . ' SELECT inet_server_port()'));
}

sub write_some { ReplrouteTest::write_some($primary, $_[0] // 10); }

$primary->safe_psql('postgres', 'CREATE TABLE regress_replroute_t (v bigint)');
$primary->wait_for_catchup($_) for ($s1, $s2);

my $d = driver($ci);
is($d->{connect}, 'connect ok ', 'RRconnect: RR_OK');

#
# 8. Idle primary for several seconds: nobody lagging or excluded
#
sleep 3;
is($d->cmd('refresh'), 'refresh 0', 'idle: every node answers a refresh');
my @st = $d->lines('status');
for my $line (grep { /^node/ } @st)
{
	my (undef, $i, $host, $port, $state, $role, $tl, $lagb, $lags, $routable) = split / /, $line;
	next if $role eq 'primary';
	is($state, 'up', "idle: node $port is up");
	ok($routable, "idle: standby $port routable ($line)");
	cmp_ok($lags, '<', 0.5, "idle: standby $port lag_seconds ~0");
	cmp_ok($lagb, '<', 8192, "idle: standby $port lag_bytes ~0");
}

#
# 1. Reads spread over both standbys; writes on the primary
#
my $r = reads($d, 400);
is($r->{fail}, 0, 'spread: no failed read');
ok(!$r->{ports}{$pp}, 'spread: no read on the primary');
cmp_ok($r->{ports}{$p1} // 0, '>=', 150, "spread: standby1 got reads ($r->{line})");
cmp_ok($r->{ports}{$p2} // 0, '>=', 150, 'spread: standby2 got reads');

is($d->cmd('write INSERT INTO regress_replroute_t VALUES (1)'), "ok $pp ",
	'a write lands on the primary');
is($d->cmd('write SELECT inet_server_port()'), "ok $pp $pp", 'RR_WRITE runs on the primary');
like($d->cmd('read SELECT inet_server_port()'), qr/^ok ($p1|$p2) ($p1|$p2)$/,
	'a single read on a standby');
like($d->cmd('read SELECT * FROM no_such_table'), qr/^error 42P01 ($p1|$p2) /,
	'a SQL error comes back as the server reported it, not retried');
like($d->cmd('write INSERT INTO no_such_table VALUES (1)'), qr/^error 42P01 $pp /,
	'a failed write reports the server error');
like($d->cmd('readconn'), qr/^conn ($p1|$p2)$/, 'RRreadConn: a standby');
is($d->cmd('writeconn'), "conn $pp", 'RRwriteConn: the primary');

# least_lag: both standbys eligible (generous limits), standby2 behind
my $dl = driver($ci, 'policy=least_lag max_lag_seconds=1min max_lag_bytes=1GB');
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
write_some(100);
$primary->wait_for_catchup($s1);
$dl->cmd('refresh');    # the handle's picture may be up to check_interval old
$r = reads($dl, 100, 2000);
is($r->{fail}, 0, 'least_lag: no failure');
cmp_ok($r->{ports}{$p1} // 0, '>=', 95, "least_lag: the less lagged standby gets the reads ($r->{line})");
ok(!$r->{ports}{$pp}, 'least_lag: nothing on the primary');
ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);

#
# 2. Replay paused on standby2 while the primary writes: reads leave it
#    within about a second (max_lag_seconds = 1s), and come back after resume
#
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
ReplrouteTest::poll_until(10, sub {
	write_some(1);
	$s2->safe_psql('postgres', 'SELECT pg_get_wal_replay_pause_state()') eq 'paused' });
write_some(10);
my $t0 = time;
my $gone;
while (time - $t0 < 5)
{
	write_some(1);
	$r = reads($d, 10, 10_000);
	if (!$r->{ports}{$p2})
	{
		$gone //= time - $t0;
		# stays away: a few more rounds without any read there
		my $again = reads($d, 50, 10_000);
		ok(!$again->{ports}{$p2}, 'paused standby gets no reads once excluded');
		is($again->{fail}, 0, 'and reads keep working');
		last;
	}
}
ok(defined $gone, 'paused standby: reads stop going there');
cmp_ok($gone // 99, '<', 1.6, sprintf('within about a second (%.2f s)', $gone // 99));

ReplrouteTest::resume_replay($s2);
$t0 = time;
my $back;
while (time - $t0 < 10)
{
	$r = reads($d, 20, 10_000);
	if ($r->{ports}{$p2}) { $back = time - $t0; last; }
}
ok(defined $back, sprintf('resumed standby gets reads again (after %.2f s)', $back // 99));

#
# 3. Both standbys over the threshold: fallback=primary reads on the
#    primary; fallback=error fails clearly
#
my $de = driver($ci, 'fallback=error');
$_->safe_psql('postgres', 'SELECT pg_wal_replay_pause()') for ($s1, $s2);
ReplrouteTest::poll_until(10, sub {
	write_some(1);
	!grep { $_->safe_psql('postgres', 'SELECT pg_get_wal_replay_pause_state()') ne 'paused' } ($s1, $s2) });
write_some(10);
sleep 1.5;
write_some(1);
$r = reads($d, 20);
is_deeply($r->{ports}, { $pp => 20 }, "fallback=primary: reads go to the primary ($r->{line})");
like($de->cmd('read SELECT 1'), qr/^null no standby fit for reads.*max_lag_seconds.*lags/,
	'fallback=error: a clear error naming the lag');
ReplrouteTest::resume_replay($_) for ($s1, $s2);
$primary->wait_for_catchup($_) for ($s1, $s2);
ok( defined ReplrouteTest::poll_until(10, sub { $de->cmd('read SELECT 1') =~ /^ok/ }),
	'fallback=error: reads work again after resume');

#
# 7. A black-hole host (accepts TCP, never answers) and a closed port in the
#    list: the first read comes within a small multiple of check_interval,
#    not after connect_timeout (10 s here)
#
my $hole = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
	Proto => 'tcp') or die "cannot listen: $!";
my $holeport = $hole->sockport;
my $closedport = PostgreSQL::Test::Cluster::get_free_port();
my $ci_bad = 'host=' . join(',', ('127.0.0.1') x 5)
  . " port=$holeport,$closedport,$pp,$p1,$p2 dbname=postgres connect_timeout=10";
$t0 = time;
my $db = driver($ci_bad);
my $first = $db->cmd('read SELECT inet_server_port()');
my $took = time - $t0;
like($first, qr/^ok ($p1|$p2) /, 'black hole + closed port: the first read succeeds');
cmp_ok($took, '<', 2.0, sprintf('... within %.2f s (check_interval 100ms, connect_timeout 10s)', $took));
$t0 = time;
$r = reads($db, 200);
is($r->{fail}, 0, 'reads keep flowing with the black hole in the list');
cmp_ok(time - $t0, '<', 3, sprintf('... without waiting on it (200 reads in %.2f s)', time - $t0));
my ($hline) = grep { /^node 0 / } $db->lines('status');
like($hline, qr/^node 0 \S+ $holeport (connecting|down) /, "the black hole is not up: $hline");
my ($cline) = grep { /^node 1 / } $db->lines('status');
like($cline, qr/^node 1 \S+ $closedport down .*(refused|failed)/i, "the closed port is down: $cline");
is($db->cmd('write SELECT inet_server_port()'), "ok $pp $pp", 'writes too');

#
# 6. A node of another cluster in the list: excluded, named
#
my $foreign = PostgreSQL::Test::Cluster->new('foreign');
$foreign->init;
$foreign->start;
$foreign->safe_psql('postgres', 'CREATE EXTENSION replroute');
my $pf = $foreign->port;
my $df = driver(ReplrouteTest::conninfo($foreign, $primary, $s1, $s2));
# RRconnect returns once it can route; a refresh hears every node
is($df->cmd('refresh'), 'refresh 0', 'foreign node in the list: refresh');
my ($fline) = grep { /^node 0 / } $df->lines('status');
like($fline, qr/^node 0 \S+ $pf excluded primary .*system identifier \d+ differs/,
	"the foreign node is excluded and named: $fline");
$r = reads($df, 100);
ok(!$r->{ports}{$pf} && $r->{fail} == 0, "no read goes to the foreign node ($r->{line})");
is($df->cmd('write SELECT inet_server_port()'), "ok $pp $pp",
	'writes go to the real primary, not the foreign one');

# a node without the extension: excluded with a message saying so
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;
my $dx = driver(ReplrouteTest::conninfo($bare));
like($dx->{connect}, qr/^connect ok/, 'a lone node without the extension: handle is usable');
like($dx->cmd('read SELECT 1'), qr/^null .*extension is not installed in database "postgres"/,
	'and a read says the extension is missing');
$bare->stop;

#
# 4. One standby stopped with -m immediate during 2000 reads: none fails
#
$d->send('readloop 2000 500 SELECT inet_server_port()');
usleep(300_000);
$s2->stop('immediate');
$r = parse_loop($d->line);
is($r->{fail}, 0, "standby killed during 2000 reads: zero failed reads ($r->{line})");
is($r->{ok}, 2000, 'all 2000 reads answered');
cmp_ok($r->{ports}{$p2} // 0, '>', 0, 'the killed standby served reads before it died');
$r = reads($d, 100);
ok(!$r->{ports}{$p2} && $r->{fail} == 0, 'afterwards reads avoid it');
$s2->start;
ok( defined ReplrouteTest::poll_until(20, sub { reads($d, 20, 5000)->{ports}{$p2} }),
	'restarted standby gets reads again');

#
# 5. Primary stopped: reads continue, writes fail at once; a standby
#    promoted: writes resume through the same handle; the old primary
#    started again on its old timeline is never written to
#
$primary->stop('immediate');
$r = reads($d, 200, 1000);
is($r->{fail}, 0, "primary down: reads continue ($r->{line})");
ok(!$r->{ports}{$pp}, 'primary down: no read on it');
usleep(300_000);
$t0 = time;
my $w = $d->cmd('write INSERT INTO regress_replroute_t VALUES (2)');
$took = time - $t0;
like($w, qr/^null no primary reachable for a write/, "primary down: a write fails clearly ($w)");
cmp_ok($took, '<', 0.5, sprintf('... at once (%.3f s)', $took));

$s1->promote;
my $promoted = ReplrouteTest::poll_until(30, sub {
	$d->cmd('write SELECT inet_server_port()') eq "ok $p1 $p1" });
ok(defined $promoted, sprintf('after promotion writes reach the new primary through the same handle (%.2f s)',
	$promoted // 99));
is($d->cmd('write INSERT INTO regress_replroute_t VALUES (3)'), "ok $p1 ",
	'a real write on the new primary');

$primary->start;    # the old primary, still on timeline 1, thinks it is primary
ok( defined ReplrouteTest::poll_until(20, sub {
		$d->cmd('refresh');
		grep { /^node 0 \S+ $pp excluded primary 1 .*old primary/ } $d->lines('status') }),
	'the old primary is seen on its old timeline and excluded');
$r = parse_loop($d->cmd('writeloop 100 1000 SELECT inet_server_port()'));
is_deeply($r->{ports}, { $p1 => 100 }, "100 writes: all on the new primary ($r->{line})");
$r = reads($d, 100, 1000);
ok(!$r->{ports}{$pp}, "no read on the old primary ($r->{line})");
is($primary->safe_psql('postgres', 'SELECT count(*) FROM regress_replroute_t WHERE v = 3'),
	'0', 'the old primary never got the write');

#
# Every handle finished without leaks or sanitizer reports
#
ReplrouteTest::finish_drivers();
$hole->close;

done_testing();
