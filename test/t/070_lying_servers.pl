
# Copyright: see README.md

# Server answers that lie.  A primary and two streaming standbys, and in the
# same host list nodes that answer the health probe wrongly:
#
#   noext      a PostgreSQL server without the extension
#   oldver     a schema replroute whose node_status() has another column set
#              (as an older or newer extension version might)
#   absurd     node_status() with the right column names but text columns,
#              so that it can say anything; its body is replaced in turn by
#              one lie after another (role 'boss', negative lag, NULL wal_lsn,
#              two rows, a 1 MB role, an error, another signature, ...)
#   sleeper    node_status() that sleeps 30 s
#   garbage    a TCP listener that answers with an HTTP error and closes
#   stream     a TCP listener that sends garbage without end
#   pgstream   speaks the protocol up to AuthenticationOk, then sends
#              ParameterStatus messages without end (never ready)
#   pgjunk     completes the startup handshake, then answers the health query
#              with bytes that are no protocol message
#
# Through the C driver (ASan/UBSan): reads go only to the real standbys,
# writes only to the real primary, nothing fails, each liar is shown excluded
# or down with a message saying what was wrong, the driver exits cleanly.
# Then "replroute check" on lists with liars: documented exit codes, never a
# crash.

use strict;
use warnings;

use IO::Socket::INET;
use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use ReplrouteTest;

my $cli = "$ENV{TESTDIR}/client/replroute";

#
# Fake servers.  Each is a forked listener (its own process group) that forks
# once per connection; all are killed at the end.  Started before any driver,
# so that they hold none of the drivers' pipes.  Children leave with
# POSIX::_exit, never running the framework's END blocks.
#
my @fake_pids;
my $main_pid = $$;

# read exactly $n bytes, or die (the peer went away)
sub readn
{
	my ($c, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $r = sysread($c, $buf, $n - length($buf), length($buf));
		die "eof\n" unless $r;
	}
	return $buf;
}

sub writeall
{
	my ($c, $data) = @_;
	while (length $data)
	{
		my $w = syswrite($c, $data);
		die "write: $!\n" unless defined $w && $w > 0;
		substr($data, 0, $w) = '';
	}
	return;
}

# SSLRequest / GSSENCRequest answered 'N', until the startup packet
sub pg_negotiate
{
	my ($c) = @_;
	while (1)
	{
		my $len = unpack('N', readn($c, 4));
		my $body = readn($c, $len - 4);
		my $code = unpack('N', $body);
		if ($code == 80877103 || $code == 80877104)
		{
			writeall($c, 'N');
			next;
		}
		return;
	}
}

sub pg_msg
{
	my ($type, $body) = @_;
	return $type . pack('N', 4 + length $body) . $body;
}

my %serve = (
	garbage => sub {
		my ($c) = @_;
		readn($c, 8);    # libpq's SSLRequest
		writeall($c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
		shutdown($c, 1);
		1 while sysread($c, my $buf, 4096);
	},
	stream => sub {
		my ($c) = @_;
		my $chunk = "garbage garbage garbage\n" x 400;
		writeall($c, $chunk) while 1;    # until the peer hangs up
	},
	pgstream => sub {
		my ($c) = @_;
		pg_negotiate($c);
		writeall($c, pg_msg('R', pack('N', 0)));
		my $chunk = pg_msg('S', "application_name\0liar\0") x 500;
		writeall($c, $chunk) while 1;
	},
	pgjunk => sub {
		my ($c) = @_;
		pg_negotiate($c);
		writeall($c, pg_msg('R', pack('N', 0))
			  . pg_msg('S', "server_version\0" . "15.0\0")
			  . pg_msg('K', pack('NN', $$, 42))
			  . pg_msg('Z', 'I'));
		while (1)
		{
			my $type = readn($c, 1);
			my $len = unpack('N', readn($c, 4));
			readn($c, $len - 4);
			last if $type eq 'X';
			# type 'j', length 0x756e6bff: no protocol message
			writeall($c, "junk\xff\xfe not a protocol message\n");
		}
	},
);

sub fake_server
{
	my ($mode) = @_;
	my $sock = IO::Socket::INET->new(
		Listen => 16,
		LocalAddr => '127.0.0.1',
		LocalPort => 0,
		Proto => 'tcp',
		ReuseAddr => 1) or die "cannot listen: $!";
	my $port = $sock->sockport;
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		setpgrp(0, 0);
		$SIG{PIPE} = 'IGNORE';
		$SIG{CHLD} = 'IGNORE';    # no zombies
		$sock->timeout(1);
		while (1)
		{
			# orphaned (the test was killed): leave
			POSIX::_exit(0) if getppid() != $main_pid;
			my $c = $sock->accept or next;
			my $k = fork;
			if (defined $k && $k == 0)
			{
				close $sock;
				eval { $serve{$mode}->($c); };
				POSIX::_exit(0);
			}
			close $c;
		}
	}
	close $sock;
	push @fake_pids, $pid;
	return $port;
}

sub stop_fake_servers
{
	return unless $$ == $main_pid;
	# each listener leads its process group (with its connection children)
	kill 'TERM', -$_ for @fake_pids;
	waitpid($_, 0) for @fake_pids;
	@fake_pids = ();
	return;
}
END { stop_fake_servers(); }

my %port;
$port{$_} = fake_server($_) for qw(garbage stream pgstream pgjunk);

#
# The real cluster and the lying PostgreSQL nodes
#
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my $sysid = ReplrouteTest::node_status($primary)->{system_identifier};

sub lone_node
{
	my ($name, $sql) = @_;
	my $n = PostgreSQL::Test::Cluster->new($name);
	$n->init;
	# several handles each keep a connection; a sleeping node_status() keeps
	# its backend until it sees the client gone
	$n->append_conf('postgresql.conf',
		"max_connections = 60\nclient_connection_check_interval = 100ms\n");
	$n->start;
	$n->safe_psql('postgres', $sql) if defined $sql;
	return $n;
}

# the ten columns the client asks for, all text: any value can be returned
my $text_cols = 'role text, system_identifier text, timeline text, wal_lsn text, '
  . 'receive_lsn text, upstream_lsn text, '
  . 'lag_bytes text, lag_seconds text, streaming text, replay_paused text';

sub text_status
{
	my ($body) = @_;
	return 'DROP SCHEMA IF EXISTS replroute CASCADE; CREATE SCHEMA replroute; '
	  . "CREATE FUNCTION replroute.node_status() RETURNS TABLE ($text_cols) "
	  . "LANGUAGE sql AS \$\$ $body \$\$";
}

my %node = (
	noext => lone_node('noext'),
	oldver => lone_node('oldver',
		'CREATE SCHEMA replroute; CREATE FUNCTION replroute.node_status() '
		  . "RETURNS TABLE (role text) LANGUAGE sql AS \$\$ SELECT 'primary'::text \$\$"),
	absurd => lone_node('absurd',
		text_status("SELECT 'boss', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f'")),
	sleeper => lone_node('sleeper',
		'CREATE SCHEMA replroute; CREATE FUNCTION replroute.node_status() '
		  . "RETURNS TABLE ($text_cols) LANGUAGE sql AS \$\$ "
		  . "SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f' FROM pg_sleep(30) \$\$"),
);
$port{$_} = $node{$_}->port for keys %node;

my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my %real = ($pp => 'primary', $p1 => 'standby1', $p2 => 'standby2');
my %liar = reverse %port;    # port -> liar name

# liars before, between and after the real nodes
my @order = (
	$port{noext}, $port{garbage}, $pp, $port{oldver}, $port{stream},
	$p1, $port{absurd}, $port{sleeper}, $port{pgstream}, $p2, $port{pgjunk});
sub list_conninfo
{
	my (@ports) = @_;
	return 'host=' . join(',', ('127.0.0.1') x @ports)
	  . ' port=' . join(',', @ports) . ' dbname=postgres connect_timeout=2';
}
my $ci = list_conninfo(@order);

sub parse_loop { return ReplrouteTest::parse_loop(@_); }

# status lines keyed by port: { state, role, routable, error, line }
sub status_of
{
	my ($d) = @_;
	my %st;
	for my $l ($d->lines('status'))
	{
		next unless $l =~ /^node /;
		my (undef, undef, undef, $port, $state, $role, undef, undef, undef, $routable,
			undef, @err) = split / /, $l;
		$st{$port} = { state => $state, role => $role, routable => $routable,
			error => join(' ', @err), line => $l };
	}
	return \%st;
}

# reads and writes land only on real nodes, none fails
sub check_routing
{
	my ($d, $what, $nreads) = @_;
	my $r = parse_loop($d->cmd("readloop $nreads 0 SELECT inet_server_port()"));
	is($r->{fail}, 0, "$what: no read failed ($r->{line})");
	is($r->{ok}, $nreads, "$what: every read answered");
	my @elsewhere = grep { $_ ne $p1 && $_ ne $p2 } keys %{ $r->{ports} };
	is_deeply(\@elsewhere, [], "$what: reads only on the real standbys");
	$r = parse_loop($d->cmd('writeloop 5 0 SELECT inet_server_port()'));
	is_deeply($r->{ports}, { $pp => 5 }, "$what: writes only on the real primary ($r->{line})");
	return;
}

#
# 1. Every liar in one list with the real nodes
#
my $t0 = time;
my $d = ReplrouteTest::driver($ci);
my $took = time - $t0;
like($d->{connect}, qr/^connect ok/, 'RRconnect with eight liars in the list: RR_OK');
cmp_ok($took, '<', 2.0, sprintf('... not held up by the sleeper or the endless stream (%.2f s)', $took));
$t0 = time;
like($d->cmd('read SELECT inet_server_port()'), qr/^ok ($p1|$p2) /, 'the first read goes to a real standby');
cmp_ok(time - $t0, '<', 1.0, sprintf('... at once (%.3f s)', time - $t0));

my $r = parse_loop($d->cmd('readloop 300 1000 SELECT inet_server_port()'));
is($r->{fail}, 0, "300 reads among liars: none failed ($r->{line})");
is(($r->{ports}{$p1} // 0) + ($r->{ports}{$p2} // 0), 300, '300 reads: all on the real standbys');
cmp_ok($r->{ports}{$p1} // 0, '>=', 100, '... spread over standby1');
cmp_ok($r->{ports}{$p2} // 0, '>=', 100, '... and standby2');
# a read may wait for a round (check_interval 100 ms), never for a liar's timeout
cmp_ok($r->{maxus}, '<', 1_000_000, "no read waited on a liar (slowest $r->{maxus} us)");
$r = parse_loop($d->cmd('writeloop 50 0 SELECT inet_server_port()'));
is_deeply($r->{ports}, { $pp => 50 }, "50 writes: all on the real primary ($r->{line})");
is($d->cmd('writeconn'), "conn $pp", 'RRwriteConn: the real primary');

# What each liar must show (state, and what the message must say).  The
# sleeper and pgstream are "connecting" until connect_timeout (2 s) passes,
# then down with the reason; poll for that.
my %expect = (
	noext => [ 'excluded', qr/replroute extension is not installed in database "postgres"/ ],
	oldver => [ 'excluded', qr/node_status\(\) has an unexpected shape.*column "system_identifier" does not exist/ ],
	absurd => [ 'excluded', qr/unexpected answer from replroute\.node_status\(\): unknown role "boss"/ ],
	sleeper => [ 'down', qr/no answer to the health query within node_timeout \(2000 ms\)/ ],
	# libpq's words, depending on whether it asked for SSL first (sslmode)
	garbage => [ 'down', qr/received invalid response to SSL negotiation: H|expected authentication request from server, but received H/ ],
	stream => [ 'down', qr/received invalid response to SSL negotiation: g|expected authentication request from server, but received g/ ],
	pgstream => [ 'down', qr/could not connect within connect_timeout \(2000 ms\)/ ],
	# libpq reports the protocol violation, then "invalid socket" (a second
	# error result) and the next round "no connection to the server"
	pgjunk => [ 'excluded|down', qr/health query failed|no connection to the server/ ],
);
my (%seen, %real_down);
ReplrouteTest::poll_until(15, sub {
	$d->cmd('read SELECT 1');
	my $st = status_of($d);
	for my $name (keys %expect)
	{
		my $s = $st->{ $port{$name} };
		$seen{$name} = $s->{line}
		  if $s->{state} =~ /^(?:$expect{$name}[0])$/ && $s->{error} =~ $expect{$name}[1];
	}
	for my $port ($pp, $p1, $p2)
	{
		$real_down{$port} //= $st->{$port}{line} unless $st->{$port}{state} eq 'up';
	}
	return keys %seen == keys %expect;
});
for my $name (sort keys %expect)
{
	ok($seen{$name}, "$name: shown $expect{$name}[0] with the reason: " . ($seen{$name} // 'never'));
}
like($seen{pgjunk} // '', qr/lost synchronization with server/,
	'pgjunk: the reason names the protocol violation');
is_deeply(\%real_down, {}, 'the real nodes stayed up all along');
my $st = status_of($d);
for my $name (sort keys %expect)
{
	my $s = $st->{ $port{$name} };
	isnt($s->{state}, 'up', "$name is never up ($s->{line})");
	is($s->{routable}, 0, "$name is not routable");
}
is($st->{$pp}{role}, 'primary', 'the real primary is the primary');
ok($st->{$p1}{routable} && $st->{$p2}{routable}, 'both real standbys are routable');
check_routing($d, 'after the liars were judged', 200);

# over several seconds the sleeper and pgstream are retried (connect, ask,
# time out, back off) again and again: no read ever waits for that
$r = parse_loop($d->cmd('readloop 1000 3000 SELECT inet_server_port()'));
is($r->{fail}, 0, "1000 reads over 3+ s of liar retries: none failed ($r->{line})");
is(($r->{ports}{$p1} // 0) + ($r->{ports}{$p2} // 0), 1000, '... all on the real standbys');
cmp_ok($r->{maxus}, '<', 1_000_000, "... none waited on a liar (slowest $r->{maxus} us)");

#
# 2. The absurd node tells one lie after another; each is judged on its own
#    and nothing reaches it
#
my @lies = (
	[ 'negative lag_bytes',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '-5', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "lag_bytes" has an unexpected value "-5"\E/ ],
	[ 'negative lag_seconds',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', '-0.5', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "lag_seconds" has an unexpected value "-0.5"\E/ ],
	[ 'NaN lag_seconds',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', 'NaN', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "lag_seconds" has an unexpected value "NaN"\E/ ],
	[ 'NULL wal_lsn',
		text_status("SELECT 'standby', '1', '1', NULL, NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "wal_lsn" is NULL\E/ ],
	[ 'wal_lsn "garbage"',
		text_status("SELECT 'standby', '1', '1', 'garbage', NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "wal_lsn" has an unexpected value "garbage"\E/ ],
	[ 'system_identifier not a number',
		text_status("SELECT 'standby', 'a lot', '1', '0/1', NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "system_identifier" has an unexpected value "a lot"\E/ ],
	[ 'timeline out of range',
		text_status("SELECT 'standby', '1', '99999999999', '0/1', NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*\Qcolumn "timeline" has an unexpected value "99999999999"\E/ ],
	[ 'replay_paused "maybe"',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'maybe'"),
		'excluded', qr/unexpected answer.*\Qcolumn "replay_paused" has an unexpected value "maybe"\E/ ],
	[ 'two rows',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f' "
			  . "FROM generate_series(1, 2)"),
		'excluded', qr/unexpected answer.*expected 1 row of 10 columns, got 2 rows of 10/ ],
	[ 'no row',
		text_status("SELECT 'standby', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f' WHERE false"),
		'excluded', qr/unexpected answer.*expected 1 row of 10 columns, got 0 rows of 10/ ],
	[ 'every column NULL',
		text_status('SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL'),
		'excluded', qr/unexpected answer.*unknown role ""/ ],
	[ 'a 1 MB role',
		text_status("SELECT repeat('x', 1048576), '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/unexpected answer.*unknown role "x{40}"/ ],
	[ 'an error raised',
		'CREATE OR REPLACE FUNCTION replroute.node_status() '
		  . "RETURNS TABLE ($text_cols) LANGUAGE plpgsql AS "
		  . "\$\$ BEGIN RAISE EXCEPTION 'liar says no'; END \$\$",
		'excluded', qr/health query failed: liar says no/ ],
	[ 'only role and timeline (another version)',
		'DROP SCHEMA replroute CASCADE; CREATE SCHEMA replroute; '
		  . 'CREATE FUNCTION replroute.node_status() RETURNS TABLE (role text, timeline int) '
		  . "LANGUAGE sql AS \$\$ SELECT 'standby', 1 \$\$",
		'excluded', qr/has an unexpected shape.*column "system_identifier" does not exist/ ],
	# only a node_status(boolean): reported as the extension missing (42883)
	[ 'another signature',
		'DROP SCHEMA replroute CASCADE; CREATE SCHEMA replroute; '
		  . 'CREATE FUNCTION replroute.node_status(verbose boolean) RETURNS TABLE (role text) '
		  . "LANGUAGE sql AS \$\$ SELECT 'standby' \$\$",
		'excluded', qr/replroute extension is not installed.*function replroute\.node_status\(\) does not exist/ ],
	[ 'a schema without the function',
		'DROP SCHEMA replroute CASCADE; CREATE SCHEMA replroute',
		'excluded', qr/replroute extension is not installed/ ],
	# a well-formed answer from a node of its own (its own initdb): foreign
	[ 'a plausible standby of another cluster',
		text_status("SELECT 'standby', '12345', '1', '0/3000000', NULL, NULL, '0', '0', 't', 'f'"),
		'excluded', qr/system identifier 12345 differs from the cluster's $sysid/ ],
	[ 'a primary of another cluster on a higher timeline',
		text_status("SELECT 'primary', '12345', '7', 'FF/0', NULL, NULL, '0', '0', NULL, 'f'"),
		'excluded', qr/system identifier 12345 differs from the cluster's $sysid/ ],
	# claims to be our standby but has replayed nothing: lags, gets no reads
	[ 'our system identifier, nothing replayed',
		text_status("SELECT 'standby', '$sysid', '1', '0/0', NULL, NULL, '0', '0', 't', 'f'"),
		'up', qr/lags .* behind, over max_lag_bytes/ ],
	# ours, on timeline 0 (timelines start at 1): older than the primary's
	[ 'our system identifier, timeline 0',
		text_status("SELECT 'standby', '$sysid', '0', '0/0', NULL, NULL, '0', '0', 't', 'f'"),
		'up', qr/on timeline 0, older than the cluster's 1/ ],
);
for my $lie (@lies)
{
	my ($what, $sql, $state, $re) = @$lie;
	$node{absurd}->safe_psql('postgres', $sql);
	my $line;
	my $ok = ReplrouteTest::poll_until(10, sub {
		$d->cmd('refresh');
		my $s = status_of($d)->{ $port{absurd} };
		$line = $s->{line};
		return $s->{state} eq $state && $s->{error} =~ $re;
	});
	ok(defined $ok, "absurd ($what): $state with the reason ($line)");
	like($line, qr/ $port{absurd} \S+ \S+ \S+ \S+ \S+ 0 /, "absurd ($what): not routable");
	my $r2 = parse_loop($d->cmd('readloop 50 0 SELECT inet_server_port()'));
	ok(!$r2->{ports}{ $port{absurd} } && $r2->{fail} == 0,
		"absurd ($what): no read reaches it, none fails ($r2->{line})");
	is($d->cmd('write SELECT inet_server_port()'), "ok $pp $pp",
		"absurd ($what): a write goes to the real primary");
}
# its last lie stays in place for the rest of the test

check_routing($d, 'after all the lies', 300);
is($d->cmd('refresh'), 'refresh 0', 'RRrefresh still succeeds');

#
# 3. Lists of liars only: the handle copes, reads and writes fail cleanly
#    and name the node and why.  (Observed: a node that answered with an SQL
#    error counts as having answered, so the handle is RR_OK with no primary;
#    one whose answer could not be parsed, or that is no PostgreSQL server,
#    does not, so RR_BAD "no node answered".  Either is accepted here.)
#
$node{absurd}->safe_psql('postgres',
	text_status("SELECT 'boss', '1', '1', '0/1', NULL, NULL, '0', '0', 't', 'f'"));
for my $case (
	[ 'noext', qr/extension is not installed/ ],
	[ 'oldver', qr/unexpected shape/ ],
	[ 'absurd', qr/unexpected answer from replroute\.node_status\(\): unknown role "boss"/ ],
	[ 'garbage', qr/invalid response to SSL negotiation|expected authentication request/ ],
	[ 'pgjunk', qr/health query failed|no connection to the server/ ])
{
	my ($name, $why) = @$case;
	my $dl = ReplrouteTest::driver(list_conninfo($port{$name}));
	like($dl->{connect}, qr/^connect (ok|bad) /, "only $name: RRconnect returns ($dl->{connect})");
	my $read = $dl->cmd('read SELECT 1');
	like($read, qr/^null .*127\.0\.0\.1:$port{$name}: .*$why/,
		"only $name: a read fails, naming the node and why ($read)");
	my $write = $dl->cmd('write SELECT 1');
	like($write, qr/^null .*127\.0\.0\.1:$port{$name}: .*$why/,
		"only $name: a write fails, naming the node and why ($write)");
	if ($dl->{connect} =~ /^connect bad/)
	{
		# every call on an RR_BAD handle keeps the reason readable (the
		# message once grew by a prefix per call, pushing the reason out)
		$dl->cmd('readloop 40 0 SELECT 1');
		my $last = $dl->cmd('write SELECT 1');
		like($last, qr/^null the replroute handle is not usable: no node answered:.*$why/,
			"only $name: after 42 calls the message still says why");
		unlike($last, qr/not usable: the replroute handle is not usable/,
			"only $name: ... prefixed once");
	}
	is($dl->finish, 0, "only $name: the driver exits 0");
	unlike($dl->stderr, qr/AddressSanitizer|LeakSanitizer|runtime error/,
		"only $name: no sanitizer report");
}

is($d->finish, 0, 'the driver exits 0 (no leak after RRfinish)');
unlike($d->stderr, qr/AddressSanitizer|LeakSanitizer|runtime error/, 'no sanitizer report');

#
# 4. replroute check with liars in the list: exit codes as documented
#    (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), never a crash
#
SKIP:
{
	skip "$cli is not built", 1 unless -x $cli;

	my @cases = (
		# name, ports, expected exit, what the line must say
		[ 'healthy', [ $pp, $p1, $p2 ], 0, qr/^REPLROUTE OK - primary 127\.0\.0\.1:$pp, 2 standbys routable/ ],
		[ 'noext', [ $pp, $p1, $p2, $port{noext} ], 3,
			qr/^REPLROUTE UNKNOWN - replroute extension missing on 127\.0\.0\.1:$port{noext}/ ],
		[ 'oldver', [ $pp, $p1, $p2, $port{oldver} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{oldver} excluded: replroute\.node_status\(\) has an unexpected shape/ ],
		[ 'absurd', [ $pp, $p1, $p2, $port{absurd} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{absurd} excluded: unexpected answer from replroute\.node_status\(\): unknown role "boss"/ ],
		[ 'sleeper', [ $pp, $p1, $p2, $port{sleeper} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{sleeper} not answering yet/ ],
		[ 'garbage', [ $pp, $p1, $p2, $port{garbage} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{garbage} down: .*(invalid response to SSL negotiation|expected authentication request)/ ],
		[ 'stream', [ $pp, $p1, $p2, $port{stream} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{stream} down: .*(invalid response to SSL negotiation|expected authentication request)/ ],
		[ 'pgstream', [ $pp, $p1, $p2, $port{pgstream} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{pgstream} not answering yet/ ],
		[ 'pgjunk', [ $pp, $p1, $p2, $port{pgjunk} ], 1,
			qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$port{pgjunk} (down|excluded): / ],
		# UNKNOWN (noext) outranks WARNING (the others)
		[ 'every liar', \@order, 3, qr/^REPLROUTE UNKNOWN - replroute extension missing on 127\.0\.0\.1:$port{noext}/ ],
		# without the real nodes: no primary reachable, CRITICAL
		[ 'noext alone', [ $port{noext} ], 2, qr/^REPLROUTE CRITICAL - no primary reachable/ ],
		[ 'absurd alone', [ $port{absurd} ], 2, qr/^REPLROUTE CRITICAL - / ],
		[ 'garbage alone', [ $port{garbage} ], 2, qr/^REPLROUTE CRITICAL - no node answered/ ],
		[ 'liars only', [ map { $port{$_} } qw(noext oldver absurd sleeper garbage stream pgstream pgjunk) ],
			2, qr/^REPLROUTE CRITICAL - / ],
	);
	for my $case (@cases)
	{
		my ($name, $ports, $want, $re) = @$case;
		my ($out, $err) = ('', '');
		my $t = time;
		IPC::Run::run([ $cli, 'check', list_conninfo(@$ports) ],
			'<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		my $status = $?;
		my $secs = time - $t;
		chomp $out;
		is($status & 127, 0, "check $name: no crash (signal " . ($status & 127) . ')');
		is($status >> 8, $want, "check $name: exit $want ($out)");
		like($out, $re, "check $name: the line names the problem");
		unlike($err, qr/Sanitizer|runtime error/, "check $name: nothing on stderr but messages");
		cmp_ok($secs, '<', 4, sprintf("check $name: done in %.2f s (connect_timeout 2 s)", $secs));
		like($out, qr/lost synchronization with server/, 'check pgjunk: names the protocol violation')
		  if $name eq 'pgjunk';
	}
}

stop_fake_servers();
done_testing();
