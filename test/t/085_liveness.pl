
# Copyright: see README.md

# No call waits on a hung node.  Through the C driver (ASan/UBSan), with
# node_timeout 2 s and check_interval 100 ms (the defaults):
#
#  1. a whole standby frozen (SIGSTOP of its postmaster and children, as a
#     VM pause or a hung disk looks) while four handles read: no read
#     fails, none waits much longer than node_timeout;
#  2. only its statement backends frozen, its health probes answering: with
#     statement_timeout the read ends at the bound and is retried
#     elsewhere; without it the read waits, as any slow statement on a live
#     node does, and completes after the thaw;
#  3. the primary frozen while writing: each blocked write fails within the
#     bound saying its outcome is unknown; every acknowledged write is on
#     the primary afterwards;
#  4. a silent partition of a standby's established connections (a proxy
#     that stops forwarding without closing): reads served elsewhere;
#  5. terminated backends: a read is retried, a write in flight fails alone
#     and the next one succeeds, an idle terminated connection costs
#     nothing, terminated health connections cost nothing;
#  6. a fast restart of the primary: writes come back, none acknowledged is
#     lost;
#  7. a statement libpq refuses locally (70,000 parameters) fails alone;
#  8. BEGIN keeps the handle on its node until the block ends, and a lost
#     block is reported.
# Bounds carry margins for a loaded 2-core machine; the exact figures are
# in make bench.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
my $node_timeout = 2.0;
# node_timeout + check_interval + 0.5 s is the target (make bench); 1.5 s more here
my $bound_us = ($node_timeout + 0.1 + 0.5 + 1.5) * 1e6;
my $tmp = PostgreSQL::Test::Utils::tempdir;

$primary->safe_psql('postgres', 'CREATE TABLE regress_replroute_l (id bigint PRIMARY KEY); '
	  . 'CREATE TABLE regress_replroute_r (id bigint PRIMARY KEY)');
$primary->wait_for_catchup($_) for ($s1, $s2);

# every process of a node: its postmaster, then its children
sub node_pids
{
	my ($node) = @_;
	my $pm = $node->{_pid} or die 'no postmaster pid for ' . $node->name;
	my @kids = split ' ', `ps -o pid= --ppid $pm`;
	return ($pm, @kids);
}

sub freeze { kill 'STOP', node_pids($_[0]); return; }
sub thaw { kill 'CONT', reverse node_pids($_[0]); return; }

# the driver's backends on a node: its statement connections, or its probes
sub backends
{
	my ($node, $kind) = @_;
	# the health query: replroute.probe(), or node_status() on an extension at
	# 1.0; a connection that ran nothing yet is a new health connection (a
	# statement connection runs its statement at once, or was a health
	# connection before it was handed over)
	my $health = "(query LIKE '%replroute.probe()%' OR query LIKE '%node_status()%' OR query = '')";
	my $cond = $kind eq 'probe' ? $health : "NOT $health";
	return split /\n/, $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'replroute' AND $cond "
		  . 'AND pid <> pg_backend_pid()');
}

sub parse_loop { return ReplrouteTest::parse_loop(@_); }

# the acknowledged ids of a mixloop log, all present on the primary?
sub acked_present
{
	my ($log, $table) = @_;
	open(my $fh, '<', $log) or die "cannot read $log: $!";
	my @ok = map { /^ok (\d+)/ ? $1 : () } <$fh>;
	close $fh;
	return (0, 0) unless @ok;
	my $found = $primary->safe_psql('postgres',
		"SELECT count(*) FROM $table WHERE id IN (" . join(',', @ok) . ')');
	return (scalar @ok, $found);
}

#
# 1. A whole standby frozen while four handles read
#
my @readers = map { ReplrouteTest::driver($ci) } 1 .. 4;
like($_->{connect}, qr/^connect ok/, 'reader: RRconnect') for @readers;
$_->send('readloop 120 10000 SELECT pg_sleep(0.04), inet_server_port()') for @readers;
usleep(800_000);
freeze($s1);
my $t_frozen = time;
usleep(int(($node_timeout + 3) * 1e6));
thaw($s1);
for my $i (0 .. $#readers)
{
	my $r = parse_loop($readers[$i]->line);
	is($r->{fail}, 0, "frozen standby: reader $i: no read failed ($r->{line})");
	cmp_ok($r->{maxus}, '<', $bound_us,
		sprintf('frozen standby: reader %d: slowest read %.2f s', $i, $r->{maxus} / 1e6));
	cmp_ok($r->{ports}{$p2} // 0, '>', 0, "frozen standby: reader $i: reads went to standby2");
}
$primary->wait_for_catchup($s1);

#
# 2. Only the statement backends of a standby frozen
#
my $dst = ReplrouteTest::driver($ci, 'statement_timeout=1s');
my $dwait = ReplrouteTest::driver($ci);
for my $d ($dst, $dwait)
{
	# a statement connection on standby1, once it is fit again after its freeze
	my $on_s1 = ReplrouteTest::poll_until(30, sub {
		my $r = parse_loop($d->cmd('readloop 4 0 SELECT inet_server_port()'));
		return $r->{ports}{$p1};
	});
	ok(defined $on_s1, 'backend freeze: warm-up reads reach standby1');
}
my @stmt = backends($s1, 'statement');
cmp_ok(scalar @stmt, '>=', 2, 'backend freeze: the statement backends on standby1: ' . "@stmt");
kill 'STOP', @stmt;
my $r = parse_loop($dst->cmd('readloop 6 0 SELECT inet_server_port()'));
is($r->{fail}, 0, "backend freeze, statement_timeout=1s: no read failed ($r->{line})");
cmp_ok($r->{maxus}, '<', (1.0 + 1.5) * 1e6,
	sprintf('backend freeze, statement_timeout=1s: bounded (slowest %.2f s)', $r->{maxus} / 1e6));
cmp_ok($r->{maxus}, '>=', 0.9e6, '... and the read on the frozen backend did wait for the bound');
# without statement_timeout: a slow statement on a live node is not cut short
$dwait->send('readloop 4 0 SELECT inet_server_port()');
usleep(3_000_000);
kill 'CONT', @stmt;
$r = parse_loop($dwait->line);
is($r->{fail}, 0, "backend freeze, no statement_timeout: no read failed ($r->{line})");
cmp_ok($r->{maxus}, '>=', 2.5e6,
	sprintf('... the read waited for the thaw (%.2f s): never cut short while the node answers',
		$r->{maxus} / 1e6));

#
# 3. The primary frozen while writing
#
my $dw = ReplrouteTest::driver($ci);
my $wlog = "$tmp/writes_freeze.log";
$dw->send("mixloop 7 5000 1 regress_replroute_l $wlog");
usleep(1_000_000);
freeze($primary);
usleep(int(($node_timeout + 1.5) * 1e6));
thaw($primary);
my $mix = $dw->line;
my ($wok, $wfail) = $mix =~ /writes_ok=(\d+) writes_fail=(\d+)/;
cmp_ok($wok, '>', 0, "frozen primary: writes before and after ($mix)");
cmp_ok($wfail, '>', 0, 'frozen primary: writes during the freeze failed');
my ($maxus) = $mix =~ /maxus=(\d+)/;
cmp_ok($maxus, '<', $bound_us,
	sprintf('frozen primary: no write waited past the bound (slowest %.2f s)', $maxus / 1e6));
my $fails = join('', grep { /^fail/ } do { open(my $fh, '<', $wlog) or die; <$fh> });
like($fails, qr/outcome of the write on the primary .* is unknown/,
	'frozen primary: the write in flight failed saying its outcome is unknown');
my ($acked, $present) = acked_present($wlog, 'regress_replroute_l');
is($present, $acked, "frozen primary: every acknowledged write is on the primary ($acked)");
like($dw->cmd('write SELECT 1'), qr/^ok $pp 1/, 'frozen primary: after the thaw, writes work');

#
# 4. A silent partition of a standby's established connections
#
my $proxy = ReplrouteTest::proxy($p2);
my $ci_p = 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=' . join(',', $pp, $p1, $proxy->port)
  . ' dbname=postgres';
my @pr = map { ReplrouteTest::driver($ci_p) } 1 .. 2;
like($_->{connect}, qr/^connect ok/, 'partition: RRconnect through the proxy') for @pr;
$_->send('readloop 120 10000 SELECT pg_sleep(0.04), inet_server_port()') for @pr;
usleep(800_000);
$proxy->freeze;
usleep(int(($node_timeout + 3) * 1e6));
$proxy->thaw;
for my $i (0 .. $#pr)
{
	$r = parse_loop($pr[$i]->line);
	is($r->{fail}, 0, "partition: reader $i: no read failed ($r->{line})");
	cmp_ok($r->{maxus}, '<', $bound_us,
		sprintf('partition: reader %d: slowest read %.2f s', $i, $r->{maxus} / 1e6));
}
$proxy->stop;

#
# 5. Terminated backends
#
my $dt = ReplrouteTest::driver($ci);
$r = parse_loop($dt->cmd('readloop 10 0 SELECT inet_server_port()'));
is($r->{fail}, 0, 'terminate: warm-up');
$dt->send('readloop 200 2000 SELECT pg_sleep(0.01), inet_server_port()');
usleep(300_000);
for my $n ($s1, $s2)
{
	$n->safe_psql('postgres', "SELECT pg_terminate_backend($_)") for backends($n, 'statement');
}
usleep(300_000);
$r = parse_loop($dt->line);
is($r->{fail}, 0, "terminate: standbys' statement backends terminated mid-loop: no read failed ($r->{line})");

# a write in flight on a terminated backend fails alone
like($dt->cmd('write SELECT 1'), qr/^ok $pp/, 'terminate: a first write');
$dt->send('write SELECT pg_sleep(2)');
my ($wpid);
ReplrouteTest::poll_until(10, sub {
	($wpid) = split /\n/, $primary->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(2)%' "
		  . 'AND pid <> pg_backend_pid()');
	return defined $wpid;
}) // die 'the write never showed up';
$primary->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)");
like($dt->line, qr/^null .*outcome of the write .* is unknown/,
	'terminate: the write in flight fails, its outcome unknown');
my $t0 = time;
like($dt->cmd('write SELECT 1'), qr/^ok $pp 1/, 'terminate: the very next write succeeds');
cmp_ok(time - $t0, '<', 1.0, '... at once');
$r = parse_loop($dt->cmd('writeloop 20 0 SELECT 1'));
is($r->{fail}, 0, "terminate: and the ones after ($r->{line})");

# an idle statement connection terminated: nothing fails
$primary->safe_psql('postgres', "SELECT pg_terminate_backend($_)") for backends($primary, 'statement');
like($dt->cmd('write SELECT 1'), qr/^ok $pp 1/,
	'terminate: an idle terminated connection is reopened before the write: no failure');
# the health connections terminated: nothing fails
for my $n ($primary, $s1, $s2)
{
	$n->safe_psql('postgres', "SELECT pg_terminate_backend($_)") for backends($n, 'probe');
}
$r = parse_loop($dt->cmd('writeloop 20 5000 SELECT 1'));
is($r->{fail}, 0, "terminate: health connections terminated: no write failed ($r->{line})");
$r = parse_loop($dt->cmd('readloop 20 5000 SELECT inet_server_port()'));
is($r->{fail}, 0, "terminate: ... no read failed ($r->{line})");

#
# 6. A fast restart of the primary
#
my $rlog = "$tmp/writes_restart.log";
$dw->send("mixloop 6 2000 1 regress_replroute_r $rlog");
usleep(1_000_000);
$primary->restart(fast => 1);
$mix = $dw->line;
($wok, $wfail) = $mix =~ /writes_ok=(\d+) writes_fail=(\d+)/;
note("fast restart: $mix");
cmp_ok($wok, '>', 0, "fast restart: writes succeeded ($wok ok, $wfail failed)");
open(my $fh, '<', $rlog) or die;
my @lines = <$fh>;
close $fh;
like($lines[-1], qr/^ok/, 'fast restart: writes succeed again after the restart');
($acked, $present) = acked_present($rlog, 'regress_replroute_r');
my @failed = grep { /^fail/ } @lines;
unlike(join('', @failed), qr/duplicate key|violates/, 'fast restart: no write failed for any other reason');
is($present, $acked, "fast restart: every acknowledged write is on the primary ($acked)");

#
# 7. A statement libpq refuses locally
#
like($dt->cmd('manyparams 70000'), qr/^null the statement was not sent .*number of parameters/i,
	'refused locally: 70,000 parameters fail, saying nothing was sent');
like($dt->cmd('write SELECT 1'), qr/^ok $pp 1/, 'refused locally: the next write succeeds');
my ($pline) = grep { /^node 0 / } $dt->lines('status');
like($pline, qr/^node 0 \S+ $pp up primary/, 'refused locally: the primary was not marked down');

#
# 8. Transaction blocks keep their node
#
my $da = ReplrouteTest::driver($ci);
like($da->cmd('read BEGIN'), qr/^ok ($p1|$p2)/, 'BEGIN (read) on a standby');
my ($bport) = $da->cmd('read SELECT inet_server_port()') =~ /^ok (\d+)/;
my %ports;
$ports{ ($da->cmd('read SELECT inet_server_port()') =~ /^ok (\d+)/)[0] }++ for 1 .. 6;
is_deeply(\%ports, { $bport => 6 }, 'inside the block every statement stays on its node');
like($da->cmd('read COMMIT'), qr/^ok $bport/, 'COMMIT goes there too');
%ports = ();
$ports{ ($da->cmd('read SELECT inet_server_port()') =~ /^ok (\d+)/)[0] }++ for 1 .. 6;
is(scalar keys %ports, 2, 'after the block, reads spread again');
like($da->cmd('write BEGIN'), qr/^ok $pp/, 'BEGIN (write) on the primary');
like($da->cmd('read SELECT inet_server_port()'), qr/^ok $pp $pp/,
	'a read inside a write transaction runs on the primary');
like($da->cmd('write COMMIT'), qr/^ok $pp/, 'COMMIT');
# a block lost with its connection
like($da->cmd('read BEGIN'), qr/^ok ($p1|$p2)/, 'BEGIN again');
($bport) = $da->cmd('read SELECT inet_server_port()') =~ /^ok (\d+)/;
my $bnode = $bport == $p1 ? $s1 : $s2;
my @bpids = backends($bnode, 'statement');
$bnode->safe_psql('postgres', "SELECT pg_terminate_backend($_)") for @bpids;
ReplrouteTest::poll_until(10, sub {
	return $bnode->safe_psql('postgres',
		'SELECT count(*) FROM pg_stat_activity WHERE pid IN (' . join(',', @bpids) . ')') == 0;
}) // die 'the terminated backends are still there';
like($da->cmd('read SELECT 1'), qr/^null .*transaction block open on .* was lost/,
	'a transaction block whose connection died is reported lost');
like($da->cmd('read SELECT 1'), qr/^ok/, 'and the next statement runs normally');

ReplrouteTest::finish_drivers();
done_testing();
