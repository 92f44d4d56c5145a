
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# The replroute command-line tool against a primary and two streaming
# standbys: status (table, JSON, colour, --watch), check and its exit codes
# (healthy, lagging, standby down, another cluster's node, a node without
# the extension, primary down), route, exec compared with psql -At, session
# tokens, and argument errors (message, hint, documented exit code, never a
# crash).  Signals are in 031_cli_signals.pl; metrics, perfdata, thresholds,
# --explain and the monitoring examples in 032_cli_monitoring.pl.

use strict;
use warnings;

use IPC::Run;
use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use ReplrouteTest;

my $cli = "$ENV{TESTDIR}/client/replroute";
plan skip_all => "$cli is not built" unless -x $cli;

# Runs the CLI; returns (exit code, stdout, stderr).  Any death by signal
# is a failure of its own.
sub cli
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $cli, @args ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $status = $?;
	my $shown = join(' ', map { length($_) > 40 ? substr($_, 0, 40) . '...' : $_ } @args);
	is($status & 127, 0, "replroute $shown: no signal (no crash)");
	return ($status >> 8, $out, $err);
}

# A connection string for a list of nodes.
sub conninfo
{
	my (@nodes) = @_;
	return sprintf('host=%s port=%s dbname=postgres',
		join(',', map { $_->host } @nodes),
		join(',', map { $_->port } @nodes));
}

# psql -At output of one statement, for comparison with exec.
sub psql_at
{
	my ($node, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err)
	  or die "psql failed: $err";
	return $out;
}

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my $ci = conninfo($primary, $s1, $s2);
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my ($rc, $out, $err);

#
# --help, --version
#
($rc, $out, $err) = cli('--help');
is($rc, 0, '--help exits 0');
like($out, qr/^Usage:/m, '--help: usage');
like($out, qr/replroute exec\s+\(--read \| --write\)/, '--help: exec synopsis');
like($out, qr/^Exit codes:/m, '--help: exit codes');
like($out, qr/^  SIGINT, SIGTERM: .*130 or 143/m, '--help: the exit codes of signals');
like($out, qr/replroute metrics/, '--help: metrics');
is(scalar(grep { length($_) > 80 } split /\n/, $out), 0, '--help fits 80 columns');
($rc, $out, $err) = cli('--version');
is($rc, 0, '--version exits 0');
like($out, qr/^replroute \d+\.\d+\.\d+ \(libreplroute \d+\.\d+\.\d+\)\n\z/,
	'--version: tool and library versions');

#
# status: the table
#
($rc, $out, $err) = cli('status', $ci);
is($rc, 0, 'status exits 0');
is($err, '', 'status: nothing on stderr');
my $sysid = $primary->safe_psql('postgres',
	'SELECT system_identifier FROM pg_control_system()');
like($out, qr/\Acluster $sysid, primary 127\.0\.0\.1:$pp, timeline 1\n\n/,
	'status: the header line names the cluster, the primary and the timeline');
like($out, qr/^host\s+port\s+state\s+role\s+tl\s+wal_lsn\s+lag\s+lag_s$/m,
	'status: header');
like($out, qr{^127\.0\.0\.1\s+$pp\s+ok\s+primary\s+1\s+[0-9A-F]+/[0-9A-F]+\s+0 B\s+0\.00$}m,
	'status: primary row');
for my $p ($p1, $p2)
{
	like($out,
		qr{^127\.0\.0\.1\s+$p\s+ok\s+standby\s+1\s+[0-9A-F]+/[0-9A-F]+\s+\d+(\.\d)? [kMG]?B\s+\d+\.\d\d$}m,
		"status: standby row for port $p");
}
unlike($out, qr/^Notes:/m, 'status: no notes when every node is ok');
like($out, qr/^Replication slots on the primary 127\.0\.0\.1:$pp:$/m, 'status: slots header');
like($out, qr/^regress_replroute_s1\s+yes\s+reserved\s+\d/m, 'status: the active slot');
unlike($out, qr/\e\[/, 'status: no colour when stdout is not a terminal');

# option after the conninfo, long form
($rc, $out, $err) = cli('status', $ci, '--options=policy=random');
is($rc, 0, 'status: options after CONNINFO are accepted');

#
# status --json
#
($rc, $out, $err) = cli('status', '--json', $ci);
is($rc, 0, 'status --json exits 0');
like($out, qr/\A\{.*\}\n\z/s, 'status --json: one object');
my $doc = eval { decode_json($out) };
ok($doc, 'status --json: valid JSON') or diag($out);
is(scalar @{ $doc->{nodes} }, 3, 'status --json: 3 nodes');
is_deeply([ map { $_->{port} } @{ $doc->{nodes} } ], [ $pp, $p1, $p2 ],
	'status --json: ports in conninfo order');
is_deeply([ map { $_->{role} } @{ $doc->{nodes} } ],
	[ 'primary', 'standby', 'standby' ], 'status --json: roles');
is(scalar(grep { $_->{role} eq 'primary' } @{ $doc->{nodes} }), 1,
	'status --json: exactly one primary');
is_deeply([ map { $_->{state} } @{ $doc->{nodes} } ], [ 'up', 'up', 'up' ],
	'status --json: all up');
ok($doc->{nodes}[0]{routable}, 'status --json: primary routable (true)');
like($out, qr/"port":$pp,/, 'status --json: port is a number');
like($out, qr/"timeline":1,/, 'status --json: timeline is a number');
like($out, qr/"lag_bytes":0,"lag_seconds":0(\.0+)?,/, 'status --json: lags are numbers');
is($doc->{cluster}{system_identifier}, $sysid, 'status --json: the system identifier (a string)');
is_deeply($doc->{cluster}{primary}, { host => '127.0.0.1', port => $pp },
	'status --json: the primary');
is($doc->{cluster}{timeline}, 1, 'status --json: the timeline');
is_deeply([ map { $_->{condition} } @{ $doc->{nodes} } ], [qw(ok ok ok)],
	'status --json: condition is the reason word');
is_deeply([ map { defined $_->{streaming} ? ($_->{streaming} ? 1 : 0) : undef } @{ $doc->{nodes} } ],
	[ undef, 1, 1 ], 'status --json: standbys streaming (null on the primary)');
ok(!$doc->{nodes}[1]{replay_paused}, 'status --json: replay_paused false');
like($out, qr/"routable":(true|false)/, 'status --json: routable is a boolean');
like($out, qr{"wal_lsn":"[0-9A-F]+/[0-9A-F]+"}, 'status --json: wal_lsn is a string');
my ($slot) = grep { $_->{slot_name} eq 'regress_replroute_s1' } @{ $doc->{slots} };
ok($slot, 'status --json: the slot is listed');
ok($slot && $slot->{active} && JSON::PP::is_bool($slot->{active}),
	'status --json: slot active is boolean true');
like($out, qr/"retained_bytes":\d+/, 'status --json: retained_bytes is a number');

#
# colour only on a terminal and without NO_COLOR (needs IO::Pty)
#
SKIP:
{
	skip 'IO::Pty not installed', 3 unless eval { require IO::Pty; 1 };
	local $ENV{TERM} = 'xterm';
	my $tty = '';
	delete local $ENV{NO_COLOR};
	IPC::Run::run([ $cli, 'status', $ci ], '<', \undef, '>pty>', \$tty, '2>', \my $e);
	is($? >> 8, 0, 'status on a terminal exits 0');
	like($tty, qr/\e\[32mok\e\[0m/, 'status on a terminal: colour');
	local $ENV{NO_COLOR} = '';
	IPC::Run::run([ $cli, 'status', $ci ], '<', \undef, '>pty>', \$tty, '2>', \$e);
	unlike($tty, qr/\e\[/, 'status on a terminal with NO_COLOR set: no colour');
}

#
# status --watch, stdout not a terminal: tables separated by a blank line
# until SIGINT
#
{
	my ($wout, $werr) = ('', '');
	my $h = IPC::Run::start([ $cli, 'status', '--watch', '0.2', $ci ],
		'<', \undef, '>', \$wout, '2>', \$werr);
	ReplrouteTest::poll_until(10,
		sub { $h->pump_nb; my @n = ($wout =~ /^host\s+port/mg); @n >= 3 });
	$h->signal('INT');
	$h->finish;
	my $st = $h->full_result;
	is($st & 127, 0, 'status --watch: ends on SIGINT without dying of it');
	is($st >> 8, 0, 'status --watch: exit 0 after SIGINT');
	my @tables = ($wout =~ /^host\s+port/mg);
	cmp_ok(scalar @tables, '>=', 3, 'status --watch: several tables');
	like($wout, qr/\n\nhost\s+port/, 'status --watch: blank line between tables');
	unlike($wout, qr/\e\[/, 'status --watch: no escapes when not a terminal');
}

#
# check: healthy
#
($rc, $out, $err) = cli('check', $ci);
is($rc, 0, 'check: healthy cluster is OK (0)');
like($out, qr/^REPLROUTE OK - primary 127\.0\.0\.1:$pp, 2 standbys routable \| /,
	'check: OK summary line');
like($out, qr/ '127\.0\.0\.1:$p1 lag_seconds'=[\d.]+s;;;0 '127\.0\.0\.1:$p1 lag_bytes'=\d+B;;;0 /,
	'check: perfdata of a standby');
like($out, qr/ 'regress_replroute_s1 retained_bytes'=\d+B;;;0\n\z/, 'check: perfdata of the slot');

#
# route
#
($rc, $out, $err) = cli('route', '--write', $ci);
is($rc, 0, 'route --write exits 0');
is($out, "host=127.0.0.1 port=$pp\n", 'route --write: the primary');
for (1 .. 2)
{
	($rc, $out, $err) = cli('route', $ci, '--read');
	is($rc, 0, 'route --read exits 0');
	like($out, qr/^host=127\.0\.0\.1 port=($p1|$p2)\n\z/, 'route --read: a standby');
}

#
# exec: output as psql -At prints it
#
my $rows_sql = "SELECT g, CASE WHEN g % 2 = 0 THEN NULL ELSE 'v' || g END, 'a|b', '' "
  . 'FROM generate_series(1, 5) g';
($rc, $out, $err) = cli('exec', '--read', $ci, $rows_sql);
is($rc, 0, 'exec --read: rows exit 0');
is($out, psql_at($primary, $rows_sql), 'exec --read: multi-row, NULLs, "|" as psql -At');
($rc, $out, $err) = cli('exec', '--read', $ci, 'SELECT 1 WHERE false');
is($out, psql_at($primary, 'SELECT 1 WHERE false'), 'exec: no rows as psql -At');

($rc, $out, $err) = cli('exec', '--write', $ci,
	'CREATE TABLE regress_cli_a (id int, v text)');
is($rc, 0, 'exec --write: CREATE TABLE exits 0');
is($out, psql_at($primary, 'CREATE TABLE regress_cli_b (id int, v text)'),
	'exec --write: command tag as psql -At');
is($out, "CREATE TABLE\n", 'exec --write: CREATE TABLE tag');

($rc, $out, $err) = cli('exec', '--write', '--token', $ci,
	"INSERT INTO regress_cli_a VALUES (1, NULL), (2, 'x|y') RETURNING *");
is($rc, 0, 'exec --write --token: exits 0');
is($out,
	psql_at($primary, "INSERT INTO regress_cli_b VALUES (1, NULL), (2, 'x|y') RETURNING *"),
	'exec --write: INSERT RETURNING rows and tag as psql -At');
like($err, qr{^replroute: session token: [0-9A-F]+/[0-9A-F]+\n\z},
	'exec --write --token: token on stderr');
my ($token) = $err =~ m{token: (\S+)};

# read-your-writes across processes: the table and rows are visible at once
($rc, $out, $err) = cli('exec', '--read', '--after-token', $token // '0/0', $ci,
	'SELECT * FROM regress_cli_a ORDER BY id');
is($rc, 0, 'exec --read --after-token: exits 0');
is($out, "1|\n2|x|y\n", 'exec --read --after-token: sees the write');

($rc, $out, $err) = cli('exec', '--write', $ci, "UPDATE regress_cli_a SET v = v");
is($out, "UPDATE 2\n", 'exec --write: UPDATE tag');

($rc, $out, $err) = cli('exec', '--read', $ci, 'SELECT * FROM regress_cli_nope');
is($rc, 1, 'exec: SQL error exits 1');
like($err, qr/^replroute: error: 127\.0\.0\.1:($p1|$p2): relation "regress_cli_nope" does not exist\n\z/,
	'exec: SQL error message on stderr, one line, naming the node');
is($out, '', 'exec: SQL error prints nothing on stdout');
($rc, $out, $err) = cli('exec', '--write', $ci, 'SELECT 1/0');
is($rc, 1, 'exec --write: division by zero exits 1');
like($err, qr/^replroute: error: 127\.0\.0\.1:$pp: division by zero\n\z/,
	'exec --write: the server message, naming the primary');
($rc, $out, $err) = cli('exec', '--write', $ci, 'SELEC 1');
is($err, qq{replroute: error: 127.0.0.1:$pp: syntax error at or near "SELEC"\n},
	'exec: a syntax error on one line, without "LINE 1:" and the caret');

#
# arguments: message, hint, documented exit code, no crash
#
# (the framework sets PGHOST: without it, CONNINFO cannot be left out)
my $free_port = PostgreSQL::Test::Cluster::get_free_port();
my @bad = (
	[ [], 2, qr/no command/ ],
	[ [ 'frobnicate', $ci ], 2, qr/unknown command "frobnicate"/ ],
	[ [ 'status' ], 2, qr/missing CONNINFO/ ],
	[ [ 'status', '--bogus', $ci ], 2, qr/unknown option "--bogus"/ ],
	[ [ 'status', $ci, 'extra' ], 2, qr/too many arguments/ ],
	[ [ 'status', '--watch', '0', $ci ], 2, qr/--watch/ ],
	[ [ 'status', '--watch=-1', $ci ], 2, qr/--watch/ ],
	[ [ 'status', '--watch', '1e9', $ci ], 2, qr/--watch/ ],
	[ [ 'status', '-o', 'max_lag_bytes=lots', $ci ], 2, qr/max_lag_bytes/ ],
	[ [ 'status', '-o', 'a=1', '-o', 'b=2', $ci ], 2, qr/more than once/ ],
	[ [ 'status', 'host=127.0.0.1 port=notaport' ], 2, qr/invalid/ ],
	[ [ 'status', '--read', $ci ], 2, qr/--read cannot be used with "status"/ ],
	[ [ 'route', $ci ], 2, qr/--read or --write/ ],
	[ [ 'route', '--read', '--read', $ci ], 2, qr/--read is given more than once/ ],
	[ [ 'route', '--read', '--write', $ci ], 2, qr/cannot be used together/ ],
	[ [ 'route', '--read', '-o' ], 2, qr/-o needs a value/ ],
	[ [ 'exec', '--read', $ci ], 2, qr/missing SQL/ ],
	[ [ 'exec', '--write', '--after-token', '0/1', $ci, 'SELECT 1' ], 2, qr/--after-token/ ],
	[ [ 'exec', '--read', '--token', $ci, 'SELECT 1' ], 2, qr/--token/ ],
	[ [ 'exec', '--read', '--after-token', 'nonsense', $ci, 'SELECT 1' ], 2,
		qr/invalid session token/ ],
	[ [ 'exec', '--write', '--token', '-o', 'consistency=none', $ci, 'SELECT 1' ], 2,
		qr/consistency=session/ ],
	[ [ 'status', 'x' x 100_000 ], 2, qr/invalid connection string/ ],
	[ [ 'status', '-o', 'y' x 100_000, $ci ], 2, qr/too long/ ],
	[ [ '--' . ('z' x 100_000) ], 2, qr/unknown option/ ],
	[ [ 'check' ], 3, qr/missing CONNINFO/ ],
	[ [ 'check', '--json', $ci ], 3, qr/--json cannot be used with "check"/ ],
	[ [ 'check', '-o', 'bogus=1', $ci ], 3, qr/unknown option "bogus"/ ],
	[ [ 'check', 'host=127.0.0.1 port=notaport' ], 3, qr/invalid/ ],
	[ [ 'check', '-w', 'lag=soon', $ci ], 3, qr/invalid threshold "lag=soon"/ ],
	[ [ 'check', '-w', 'speed=1s', $ci ], 3, qr/expected lag=, bytes= or retained=/ ],
	[ [ 'check', '-w', '5', $ci ], 3, qr/needs a unit or a name/ ],
	[ [ 'check', '-c', 'bytes=1s', $ci ], 3, qr/bytes takes a size/ ],
	[ [ 'check', '-w', 'lag=5s', '-c', 'lag=1s', $ci ], 3, qr/above the critical one/ ],
	[ [ 'check', '-w', '1s', '-w', 'lag=2s', $ci ], 3, qr/given more than once/ ],
	[ [ 'status', '-w', '1s', $ci ], 2, qr/-w cannot be used with "status"/ ],
	[ [ 'status', '--explain', $ci ], 2, qr/--explain cannot be used with "status"/ ],
	[ [ 'status', '--json=yes', $ci ], 2, qr/--json takes no value/ ],
	[ [ 'metrics', '--json', $ci ], 2, qr/--json cannot be used with "metrics"/ ],
	[ [ 'metrics', $ci, 'extra' ], 2, qr/too many arguments/ ],);
for my $case (@bad)
{
	my ($args, $want, $re) = @$case;
	my $name = join(' ', map { length($_) > 30 ? substr($_, 0, 30) . '...' : $_ } @$args);
	delete local @ENV{qw(PGHOST PGHOSTADDR PGPORT PGSERVICE)};
	($rc, $out, $err) = cli(@$args);
	is($rc, $want, "bad arguments ($name): exit $want");
	like($err, qr/^replroute: error: /, "bad arguments ($name): error on stderr");
	like($err, $re, "bad arguments ($name): names the problem");
	like($err, qr/^Try "replroute --help"/m, "bad arguments ($name): hint");
	cmp_ok(length($err), '<', 2000, "bad arguments ($name): message of sane length");
	like($out, qr/^REPLROUTE UNKNOWN - /, "bad arguments ($name): plugin line on stdout")
	  if $want == 3;
}

# nothing listening: an error, and the picture all the same
($rc, $out, $err) = cli('status', "host=127.0.0.1 port=$free_port");
is($rc, 1, 'status: no node answered exits 1');
like($err, qr/^replroute: error: no node answered/, 'status: no node answered message');
like($out, qr/^127\.0\.0\.1\s+$free_port\s+down\s/m, 'status: the node is shown down');
($rc, $out, $err) = cli('status', '--json', "host=127.0.0.1 port=$free_port");
is($rc, 1, 'status --json: no node answered exits 1');
$doc = eval { decode_json($out) };
ok($doc, 'status --json: a JSON object although no node answered') or diag($out);
is_deeply([ map { [ $_->{state}, $_->{condition} ] } @{ $doc->{nodes} // [] } ],
	[ [ 'down', 'down' ] ], 'status --json: the node is down');
like($doc->{error} // '', qr/^no node answered/, 'status --json: error says why');
($rc, $out, $err) = cli('metrics', "host=127.0.0.1 port=$free_port");
is($rc, 0, 'metrics: no node answered, still exits 0 (the exposition says so)');
like($out, qr/^replroute_cluster_up 0\n/m, 'metrics: replroute_cluster_up 0');
like($out, qr/^replroute_node_up\{host="127\.0\.0\.1",port="$free_port"\} 0\n/m,
	'metrics: the node is down');
like($out, qr/^replroute_node_reason\{host="127\.0\.0\.1",port="$free_port",reason="down"\} 1\n/m,
	'metrics: reason down');
unlike($out, qr/^replroute_node_lag_seconds\{/m, 'metrics: no lag for a node that is down');
like($err, qr/^replroute: error: no node answered/, 'metrics: and the error on stderr');

# CONNINFO from the environment: PGHOST and PGPORT with lists (psql habits)
{
	local $ENV{PGHOST} = '127.0.0.1,127.0.0.1,127.0.0.1';
	local $ENV{PGPORT} = "$pp,$p1,$p2";
	local $ENV{PGDATABASE} = 'postgres';
	($rc, $out, $err) = cli('status', '--json');
	is($rc, 0, 'status without CONNINFO (PGHOST, PGPORT): exits 0');
	is_deeply([ map { $_->{port} } @{ (eval { decode_json($out) } // {})->{nodes} // [] } ],
		[ $pp, $p1, $p2 ], 'status without CONNINFO: the nodes of PGHOST and PGPORT');
	($rc, $out, $err) = cli('exec', '--write', 'SELECT inet_server_port()');
	is($out, "$pp\n", 'exec without CONNINFO: SQL is the only argument');
	($rc, $out, $err) = cli('route', '--write');
	is($out, "host=127.0.0.1 port=$pp\n", 'route without CONNINFO');
}
# ... and PGSERVICE: a service file naming the nodes
{
	my $dir = PostgreSQL::Test::Utils::tempdir;
	open(my $fh, '>', "$dir/pg_service.conf") or die "pg_service.conf: $!";
	print $fh "[regress_replroute_cli]\nhost=127.0.0.1,127.0.0.1,127.0.0.1\n"
	  . "port=$pp,$p1,$p2\ndbname=postgres\n";
	close($fh);
	delete local @ENV{qw(PGHOST PGHOSTADDR PGPORT)};
	local $ENV{PGSERVICEFILE} = "$dir/pg_service.conf";
	local $ENV{PGSERVICE} = 'regress_replroute_cli';
	($rc, $out, $err) = cli('status', '--json');
	is($rc, 0, 'status without CONNINFO (PGSERVICE): exits 0');
	is_deeply([ map { $_->{port} } @{ (eval { decode_json($out) } // {})->{nodes} // [] } ],
		[ $pp, $p1, $p2 ], 'status without CONNINFO: the nodes of the service');
	($rc, $out, $err) = cli('check');
	is($rc, 0, 'check without CONNINFO (PGSERVICE): OK');
	like($out, qr/^REPLROUTE OK - primary 127\.0\.0\.1:$pp, 2 standbys routable/, 'check: the service\'s primary');
}
($rc, $out, $err) = cli('check', "host=127.0.0.1 port=$free_port");
is($rc, 2, 'check: no node answered is CRITICAL (2)');
like($out, qr/^REPLROUTE CRITICAL - no node answered/, 'check: CRITICAL line');

#
# check: a node of another cluster (CRITICAL), a node without the extension
# (UNKNOWN), both (CRITICAL wins)
#
my $foreign = PostgreSQL::Test::Cluster->new('foreign');
$foreign->init;
$foreign->start;
$foreign->safe_psql('postgres', 'CREATE EXTENSION replroute');
my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;

($rc, $out, $err) = cli('check', conninfo($primary, $s1, $s2, $foreign));
is($rc, 2, 'check: a node of another cluster is CRITICAL (2)');
like($out, qr/^REPLROUTE CRITICAL - node 127\.0\.0\.1:${\ $foreign->port} foreign_cluster: system identifier/,
	'check: names the foreign node');
($rc, $out, $err) = cli('status', conninfo($primary, $s1, $s2, $foreign));
like($out, qr/^127\.0\.0\.1\s+${\ $foreign->port}\s+foreign_cluster\s+primary\s/m,
	'status: foreign node (it answers) shown as foreign_cluster');
like($out, qr/^  127\.0\.0\.1:${\ $foreign->port} foreign_cluster: system identifier \d+ differs/m,
	'status: the notes say why');
($rc, $out, $err) = cli('status', '--json', conninfo($primary, $s1, $s2, $foreign));
$doc = decode_json($out);
is_deeply([ @{ $doc->{nodes}[3] }{qw(state condition)} ], [ 'up', 'foreign_cluster' ],
	'status --json: the foreign node is up, foreign_cluster');
ok(!$doc->{nodes}[3]{routable}, 'status --json: the foreign node is not routable');

($rc, $out, $err) = cli('check', conninfo($primary, $s1, $s2, $bare));
is($rc, 3, 'check: a node without the extension is UNKNOWN (3)');
like($out, qr/^REPLROUTE UNKNOWN - node 127\.0\.0\.1:${\ $bare->port} extension_missing: the replroute extension is not installed/,
	'check: names the node without the extension');
($rc, $out, $err) = cli('status', conninfo($primary, $s1, $s2, $bare));
is($rc, 0, 'status with a node without the extension: exits 0 (the others serve)');
my @notes = grep { /^  \S/ } split /\n/, ($out =~ /^Notes:\n(.*?)\n\n/ms)[0] // '';
is(scalar @notes, 1, 'status: one note, for the node without the extension');
like($notes[0] // '', qr/^  127\.0\.0\.1:${\ $bare->port} extension_missing: the replroute extension is not installed/,
	'status: the note names the node and the reason');
unlike($out, qr/LINE 1|\^/, 'status: no statement position or caret');
# only the node without the extension: the headline does not say "unreachable"
($rc, $out, $err) = cli('route', '--write', conninfo($bare));
is($rc, 1, 'route --write, only a node without the extension: exits 1');
like($err, qr/^replroute: error: no primary known: 1 node could not be judged/,
	'route --write: the headline says why there is no primary');
like($err, qr/^  127\.0\.0\.1:${\ $bare->port} extension_missing: /m, 'route --write: and names the node');

($rc, $out, $err) = cli('check', conninfo($primary, $s1, $s2, $foreign, $bare));
is($rc, 2, 'check: CRITICAL outranks UNKNOWN');
$foreign->stop;
$bare->stop;

#
# check: a standby over max_lag_bytes (replay paused on standby2 while the
# primary writes)
#
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$s2->poll_query_until('postgres',
	"SELECT pg_get_wal_replay_pause_state() = 'paused'")
  or die 'replay did not pause';
ReplrouteTest::write_some($primary, 200);
$primary->wait_for_catchup($s1);

($rc, $out, $err) = cli('check', '-o', 'max_lag_bytes=1kB', $ci);
is($rc, 1, 'check: a lagging standby is WARNING (1)');
like($out, qr/^REPLROUTE WARNING - standby 127\.0\.0\.1:$p2 replay_paused: lags [\d.]+ [kMG]?B/,
	'check: names the lagging standby');
($rc, $out, $err) = cli('status', $ci, '-o', 'max_lag_bytes=1kB');
like($out, qr/^127\.0\.0\.1\s+$p2\s+replay_paused\s+standby\s/m,
	'status: the paused standby is shown as paused');
like($out, qr/^  127\.0\.0\.1:$p2 replay_paused: lags /m, 'status: note on the lag');
($rc, $out, $err) = cli('status', '--json', '-o', 'max_lag_bytes=1kB', $ci);
$doc = decode_json($out);
ok(!$doc->{nodes}[2]{routable}, 'status --json: lagging standby routable false');
is($doc->{nodes}[2]{condition}, 'replay_paused', 'status --json: condition replay_paused');
ok($doc->{nodes}[2]{replay_paused}, 'status --json: replay_paused true');
cmp_ok($doc->{nodes}[2]{lag_bytes}, '>', 1024, 'status --json: its lag_bytes');
for (1 .. 3)
{
	($rc, $out, $err) = cli('route', '--read', '-o', 'max_lag_bytes=1kB', $ci);
	is($out, "host=127.0.0.1 port=$p1\n", 'route --read avoids the lagging standby');
}
ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);

#
# a standby down: WARNING; reads go to the other one
#
$s2->stop('fast');
($rc, $out, $err) = cli('check', $ci);
is($rc, 1, 'check: a standby down is WARNING (1)');
like($out, qr/^REPLROUTE WARNING - node 127\.0\.0\.1:$p2 down: /, 'check: names the down node');
like($out, qr/primary 127\.0\.0\.1:$pp, 1 standby routable \| /, 'check: context at the end');
like($out, qr/ '127\.0\.0\.1:$p2 lag_seconds'=U;;;0 '127\.0\.0\.1:$p2 lag_bytes'=U;;;0/,
	'check: perfdata of the down node is U');
($rc, $out, $err) = cli('status', $ci);
is($rc, 0, 'status with a node down exits 0');
like($out, qr/^127\.0\.0\.1\s+$p2\s+down\s+-\s/m, 'status: the node is down');
like($out, qr/^  127\.0\.0\.1:$p2 down: /m, 'status: note on the down node');
($rc, $out, $err) = cli('status', '--json', $ci);
$doc = decode_json($out);
is($doc->{nodes}[2]{state}, 'down', 'status --json: state down');
ok(!defined $doc->{nodes}[2]{role}, 'status --json: role null when down');
ok(!defined $doc->{nodes}[2]{lag_bytes}, 'status --json: lag_bytes null when down');
($rc, $out, $err) = cli('route', '--read', $ci);
is($out, "host=127.0.0.1 port=$p1\n", 'route --read: the standby still up');

#
# the primary down: CRITICAL; writes fail, reads still work
#
$primary->stop('fast');
($rc, $out, $err) = cli('check', $ci);
is($rc, 2, 'check: no primary is CRITICAL (2)');
like($out, qr/^REPLROUTE CRITICAL - no primary reachable/, 'check: says no primary');
($rc, $out, $err) = cli('route', '--write', $ci);
is($rc, 1, 'route --write without a primary exits 1');
like($err, qr/^replroute: error: no primary reachable/, 'route --write: error message');
($rc, $out, $err) = cli('exec', '--write', $ci, 'SELECT 1');
is($rc, 1, 'exec --write without a primary exits 1');
like($err, qr/^replroute: error: /, 'exec --write: error message');
($rc, $out, $err) = cli('exec', '--read', $ci, 'SELECT 42');
is($out, "42\n", 'exec --read still works on the standby');
($rc, $out, $err) = cli('status', $ci);
is($rc, 0, 'status without a primary still exits 0 (the standby serves reads)');
like($out, qr/\Acluster $sysid, no primary, timeline 1\n/, 'status: the header says no primary');
like($out, qr/^127\.0\.0\.1\s+$p1\s+primary_lost\s+standby\s/m,
	'status: the standby serves as primary_lost');
like($out, qr/^Replication slots: not available \(/m, 'status: slots not available');
($rc, $out, $err) = cli('status', '--json', $ci);
$doc = decode_json($out);
is_deeply($doc->{slots}, [], 'status --json: slots empty without a primary');
ok(defined $doc->{slots_error}, 'status --json: slots_error says why');
is($doc->{cluster}{primary}, undef, 'status --json: no primary');

# no node can serve: status exits 1 (reads need a standby, the only one is
# over the limit, the primary is gone)
($rc, $out, $err) = cli('status', '-o', 'primary_lost=refuse max_lag_seconds=0.001', $ci);
is($rc, 1, 'status: exits 1 when no node can serve');
like($err, qr/^replroute: error: no node can serve: no primary reachable/,
	'status: and says so on stderr');
($rc, $out, $err) = cli('status', '--json', '-o', 'primary_lost=refuse max_lag_seconds=0.001', $ci);
is($rc, 1, 'status --json: exits 1 when no node can serve');
like((eval { decode_json($out) } // {})->{error} // '', qr/^no node can serve/,
	'status --json: error says so');

done_testing();
