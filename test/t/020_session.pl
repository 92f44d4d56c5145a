
# Read-your-writes with session tokens.  Both standbys apply WAL 20 ms late
# (recovery_min_apply_delay), so a read sent right after a write finds the
# standby stale unless the session token is honoured.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	standby_conf => "recovery_min_apply_delay = 20ms\n");
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
sub driver { return ReplrouteTest::driver(@_); }

sub parse_cycles
{
	my ($line) = @_;
	my %r = (line => $line);
	@r{qw(total stale standby primary fail)} =
	  $line =~ /total=(\d+) stale=(\d+) standby=(\d+) primary=(\d+) fail=(\d+)/;
	return \%r;
}

$primary->safe_psql('postgres',
	'CREATE TABLE regress_replroute_s (v bigint); CREATE TABLE regress_replroute_n (v bigint); '
	  . 'CREATE TABLE regress_replroute_x (v bigint)');
$primary->wait_for_catchup($_) for ($s1, $s2);

#
# 2. Without session consistency the test does see stale reads
#
my $dn = driver($ci, 'consistency=none');
my $r = parse_cycles($dn->cmd('cycles 200 regress_replroute_n'));
note("consistency=none: $r->{line}");
is($r->{fail}, 0, 'consistency=none: no failures');
cmp_ok($r->{stale}, '>', 50, "consistency=none: stale reads are observed ($r->{stale} of 200)");

#
# 1. 2000 write-then-read cycles with consistency=session: none stale, and
#    the standbys still serve the reads
#
my $ds = driver($ci, 'consistency=session');
my $t0 = time;
$r = parse_cycles($ds->cmd('cycles 2000 regress_replroute_s'));
my $took = time - $t0;
diag(sprintf('consistency=session: %d cycles in %.1f s, reads on standbys %d, on the primary %d, stale %d',
	$r->{total}, $took, $r->{standby}, $r->{primary}, $r->{stale}));
is($r->{fail}, 0, 'consistency=session: no failures');
is($r->{stale}, 0, 'consistency=session: zero stale reads in 2000 cycles');
cmp_ok($r->{standby}, '>', 1000, 'consistency=session: most reads served by standbys');
like($ds->cmd('token'), qr{^token [0-9A-F]+/[0-9A-F]+$}, 'the handle has a token');

# reads that do not follow a write of this handle need no wait: a standby
# known to have replayed the token serves them directly
$primary->wait_for_catchup($_) for ($s1, $s2);
$ds->cmd('refresh');
like($ds->cmd('read SELECT inet_server_port()'), qr/^ok ($p1|$p2) /,
	'once caught up, session reads go to standbys');

#
# 3. The token carried to another handle, as between two web requests
#
my $dw = driver($ci, 'consistency=session');
my $reader = driver($ci, 'consistency=session');
my $stale = 0;
for my $i (1 .. 100)
{
	$dw->cmd("write INSERT INTO regress_replroute_x VALUES ($i)");
	my ($token) = $dw->cmd('token') =~ /^token (\S+)$/;
	# a brand-new handle for every 20th request, a long-lived one otherwise
	$reader = driver($ci, 'consistency=session') if $i % 20 == 0;
	my $set = $reader->cmd("settoken $token");
	my $ans = $reader->cmd("read SELECT count(*) FROM regress_replroute_x WHERE v = $i");
	next if $set eq 'ok' && $ans =~ /^ok \d+ 1$/;
	$stale++;
	diag("request $i: token $token: settoken: $set; read: $ans");
}
is($stale, 0, 'token carried to other handles: zero stale reads in 100 requests');

#
# 5. Bad tokens: clear errors, handle still usable
#
for my $bad ('garbage', '0/10junk', '1/2/3', 'FFFFFFFFF/0', ' 0/1')
{
	like($ds->cmd("settoken $bad"), qr/^error invalid session token/, "token \"$bad\" rejected");
}
like($ds->cmd('settoken '), qr/^error invalid session token: the token is empty/, 'empty token rejected');
like($ds->cmd('read SELECT 1'), qr/^ok \d+ 1$/, 'the handle still works after bad tokens');
my ($before) = $ds->cmd('token') =~ /^token (\S+)$/;
is($ds->cmd('settoken 0/1'), 'ok', 'an old token is accepted');
is($ds->cmd('token'), "token $before", '... but does not lower the newer one');

#
# 4. Replay paused on both standbys: a session read goes to the primary
#    after about causal_wait; with fallback=error it fails clearly
#
my $dp = driver($ci, 'consistency=session causal_wait=300ms');
my $de = driver($ci, 'consistency=session causal_wait=300ms fallback=error');
$_->safe_psql('postgres', 'SELECT pg_wal_replay_pause()') for ($s1, $s2);
$dp->cmd('write INSERT INTO regress_replroute_x VALUES (1000)');
$t0 = time;
my $ans = $dp->cmd('read SELECT inet_server_port()');
$took = time - $t0;
is($ans, "ok $pp $pp", 'paused standbys: the session read is answered by the primary');
cmp_ok($took, '>=', 0.25, sprintf('... after waiting about causal_wait (%.3f s)', $took));
cmp_ok($took, '<', 2, '... and not much longer');

$de->cmd('write INSERT INTO regress_replroute_x VALUES (1001)');
like($de->cmd('read SELECT 1'),
	qr/^null no standby has replayed this session's writes \(token [0-9A-F]+\/[0-9A-F]+\) within causal_wait \(300 ms\)/,
	'fallback=error: a clear error');
ReplrouteTest::resume_replay($_) for ($s1, $s2);
$primary->wait_for_catchup($_) for ($s1, $s2);
like($de->cmd('read SELECT count(*) FROM regress_replroute_x WHERE v = 1001'), qr/^ok ($p1|$p2) 1$/,
	'after resume the standby serves the session read');

# A write done by the application on RRwriteConn, recorded with RRrecordWrite
my $da = driver($ci, 'consistency=session');
$da->cmd('writeconn');
$primary->safe_psql('postgres', 'INSERT INTO regress_replroute_x VALUES (2000)');
is($da->cmd('recordwrite'), 'ok', 'RRrecordWrite records the primary position');
like($da->cmd('read SELECT count(*) FROM regress_replroute_x WHERE v = 2000'), qr/^ok \d+ 1$/,
	'and the next session read sees that write');

ReplrouteTest::finish_drivers();

done_testing();
