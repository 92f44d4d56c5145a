
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# Privileges and secrets.  A role with neither superuser nor pg_monitor can
# use node_status(), is_routable() and wait_for_lsn on every node and
# nothing else; standbys() and slots() are denied (42501).  No function
# output (as that role or as superuser), CLI output, driver output or error
# message ever contains a password: neither the one in standby2's
# primary_conninfo (which the primary really checks, scram-sha-256) nor the
# one in the client's conninfo, keyword/value or URI, with nodes up or down,
# bad options and bad keywords next to the password.

use strict;
use warnings;

use IPC::Run;
use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ReplrouteTest;

my $cli = "$ENV{TESTDIR}/client/replroute";
my $rr_test = "$ENV{TESTDIR}/test/rr_test";
plan skip_all => "$cli is not built" unless -x $cli;
plan skip_all => "$rr_test is not built" unless -x $rr_test;

# Every password contains "S3cret", so a partial copy is caught too.
my $secret_repl   = 'xS3cretRepl4711q';      # standby2's primary_conninfo
my $secret_client = 'xS3cretClient0815z';    # the client's conninfo
my $secret_wrong  = 'xS3cretWrong9042k';     # a wrong client password
my $leak = qr/S3cret/i;

my $plain = 'regress_replroute_plain';

# Fails if $text shows any password; $text is shown only when it does.
sub no_leak
{
	my ($text, $name) = @_;
	my $ok = unlike($text // '', $leak, "$name: no password");
	return $ok;
}

#
# 1. The cluster, the roles, and standby2 streaming with a password
#
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my @nodes = ($primary, $s1, $s2);

$primary->safe_psql('postgres',
	"CREATE ROLE regress_replroute_repl LOGIN REPLICATION PASSWORD '$secret_repl';"
	  . "CREATE ROLE regress_replroute_pw LOGIN PASSWORD '$secret_client';"
	  . "CREATE ROLE $plain LOGIN;");
$primary->wait_for_catchup($_) for ($s1, $s2);

# Password authentication (before the framework's trust lines) for the
# replication role on the primary and for regress_replroute_pw everywhere:
# that those connect proves the passwords were really sent.
sub require_password
{
	my ($node, @lines) = @_;
	my $hba = $node->data_dir . '/pg_hba.conf';
	my $old = slurp_file($hba);
	open my $fh, '>', $hba or die "could not write $hba: $!";
	print $fh map { "$_\n" } @lines;
	print $fh $old;
	close $fh;
	$node->reload;
	return;
}
require_password($primary,
	'host replication regress_replroute_repl 127.0.0.1/32 scram-sha-256',
	'host all regress_replroute_pw 127.0.0.1/32 scram-sha-256');
require_password($_, 'host all regress_replroute_pw 127.0.0.1/32 scram-sha-256')
  for ($s1, $s2);

my $repl_conninfo = 'host=' . $primary->host . ' port=' . $primary->port
  . " user=regress_replroute_repl password=$secret_repl application_name=standby2";
$s2->append_conf('postgresql.conf', "primary_conninfo = '$repl_conninfo'");
$s2->reload;
ok( $primary->poll_query_until('postgres',
		"SELECT usename = 'regress_replroute_repl' AND state = 'streaming' "
		  . "FROM pg_stat_replication WHERE application_name = 'standby2'"),
	'standby2 streams as regress_replroute_repl, authenticated by its password')
  or die 'standby2 does not stream with the new primary_conninfo';
$primary->wait_for_catchup($_) for ($s1, $s2);
is( $s2->safe_psql('postgres',
		"SELECT conninfo LIKE '%user=regress_replroute_repl%' FROM pg_stat_wal_receiver"),
	't', 'standby2: its WAL receiver uses the new primary_conninfo');

#
# 2. The unprivileged role
#

# psql as $user on $node: (exit code, stdout, stderr); errors show SQLSTATE.
sub psql_as
{
	my ($node, $user, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql", extra_params => [ '-U', $user ]);
	return ($rc, $out, $err);
}

is( $primary->safe_psql('postgres',
		"SELECT rolsuper OR rolreplication OR rolbypassrls "
		  . "OR pg_has_role('$plain', 'pg_monitor', 'USAGE') "
		  . "OR pg_has_role('$plain', 'pg_read_all_stats', 'USAGE') "
		  . "OR pg_has_role('$plain', 'pg_read_all_settings', 'USAGE') "
		  . "FROM pg_roles WHERE rolname = '$plain'"),
	'f', "$plain: no superuser, no pg_monitor, no monitoring role");

my @all_output;    # every function result and error, for the final check
for my $n (@nodes)
{
	my $name = $n->name;
	my $is_primary = $n == $primary;
	my ($rc, $out, $err);

	($rc, $out, $err) = psql_as($n, $plain, 'SELECT role FROM replroute.node_status()');
	is($out, $is_primary ? 'primary' : 'standby', "$name: node_status() as $plain");
	($rc, $out, $err) = psql_as($n, $plain, 'SELECT replroute.is_routable(NULL, 1e9)');
	like($out, qr/^[tf]$/, "$name: is_routable() as $plain");
	($rc, $out, $err) = psql_as($n, $plain, 'SELECT replroute.probe()');
	like($out, qr/^1 \Q@{[ $is_primary ? 'primary' : 'standby' ]}\E /,
		"$name: probe() as $plain");
	push @all_output, $out, $err;
	($rc, $out, $err) = psql_as($n, $plain, "CALL replroute.wait_for_lsn('0/0', 0)");
	is($out, $is_primary ? 'not in recovery' : 'success',
		"$name: CALL wait_for_lsn as $plain");
	($rc, $out, $err) = psql_as($n, $plain,
		"CALL replroute.wait_for_lsn('FFFFFFFF/FFFFFFFF', 0)");
	is($out, $is_primary ? 'not in recovery' : 'timeout',
		"$name: CALL wait_for_lsn (unreached target) as $plain");

	for my $f (qw(standbys slots))
	{
		($rc, $out, $err) = psql_as($n, $plain, "SELECT * FROM replroute.$f()");
		isnt($rc, 0, "$name: $f() fails as $plain");
		like($err, qr/ERROR:  42501: permission denied for function $f/,
			"$name: $f() as $plain: permission denied (42501)");
		push @all_output, $out, $err;
	}

	# "nothing else": every routine of the schema, from the catalog
	my %can = map { split /\|/ } split /\n/, $n->safe_psql('postgres',
		"SELECT p.oid::regprocedure, has_function_privilege('$plain', p.oid, 'EXECUTE') "
		  . "FROM pg_proc p WHERE p.pronamespace = 'replroute'::regnamespace");
	cmp_ok(scalar keys %can, '>=', 5, "$name: the schema's routines are listed");
	is_deeply(
		[ sort grep { $can{$_} eq 't' } keys %can ],
		[
			'replroute.is_routable(bigint,double precision)',
			'replroute.node_status()',
			'replroute.probe()',
			'replroute.wait_for_lsn(pg_lsn,integer,text)'
		],
		"$name: $plain may execute exactly node_status, probe, is_routable, wait_for_lsn");
	is( $n->safe_psql('postgres',
			"SELECT has_schema_privilege('$plain', 'replroute', 'USAGE'), "
			  . "has_schema_privilege('$plain', 'replroute', 'CREATE')"),
		't|f', "$name: $plain has USAGE but not CREATE on schema replroute");

	# the same calls, errors included, for the leak check below
	for my $q (
		'SELECT * FROM replroute.node_status()',
		'SELECT replroute.is_routable()',
		'SELECT replroute.is_routable(-1)',
		"CALL replroute.wait_for_lsn('0/0', 0)",
		'CALL replroute.wait_for_lsn(NULL)',
		"BEGIN; CALL replroute.wait_for_lsn('0/0', 0)")
	{
		($rc, $out, $err) = psql_as($n, $plain, $q);
		push @all_output, $out, $err;
	}
}

# What core itself shows the role: no conninfo, no primary_conninfo.
{
	my ($rc, $out, $err) = psql_as($s2, $plain,
		'SELECT count(*), count(conninfo), count(sender_host) FROM pg_stat_wal_receiver');
	is($out, '1|0|0',
		"standby2: $plain sees the WAL receiver but not its conninfo or host");
	($rc, $out, $err) = psql_as($s2, $plain, 'SHOW primary_conninfo');
	like($err, qr/ERROR:  42501: /, "standby2: $plain cannot read primary_conninfo");
	push @all_output, $out, $err;
	$out = $s2->safe_psql('postgres', 'SELECT conninfo FROM pg_stat_wal_receiver');
	like($out, qr/user=regress_replroute_repl/,
		'standby2: a superuser sees the receiver conninfo');
	no_leak($out, 'standby2: pg_stat_wal_receiver.conninfo as superuser (masked by core)');
}

# Superuser: every function, on every node, errors included.
my $su = $primary->safe_psql('postgres', 'SELECT current_user');
for my $n (@nodes)
{
	for my $q (
		'SELECT * FROM replroute.node_status()',
		'SELECT replroute.is_routable()',
		'SELECT replroute.is_routable(0, 0)',
		'SELECT * FROM replroute.standbys()',
		'SELECT * FROM replroute.slots()',
		"CALL replroute.wait_for_lsn('0/0', 0)",
		"CALL replroute.wait_for_lsn('FFFFFFFF/FFFFFFFF', 0)",
		'SELECT replroute.is_routable(0, -1)',
		'CALL replroute.wait_for_lsn(NULL)',
		"DO \$\$DECLARE s text; BEGIN CALL replroute.wait_for_lsn('0/0', 0, s); END\$\$")
	{
		my ($rc, $out, $err) = psql_as($n, $su, $q);
		push @all_output, $out, $err;
	}
}
my $standby2_status = $s2->safe_psql('postgres',
	'SELECT row_to_json(n) FROM replroute.node_status() n');
unlike($standby2_status, qr/regress_replroute_repl|127\.0\.0\.1|host=|application_name/,
	'standby2: node_status() shows nothing of primary_conninfo');
my $all = join("\n", @all_output);
like($all, qr/standby2/, '(the outputs were collected: standbys() names standby2)');
like($all, qr/42501/, '(and the errors too)');
no_leak($all, 'every function result and error, as superuser and as the plain role');

#
# 3. The CLI with a password in the client's conninfo
#
my $hosts = join(',', map { $_->host } @nodes);
my $ports = join(',', map { $_->port } @nodes);
my $ci = "host=$hosts password=$secret_client port=$ports dbname=postgres connect_timeout=5";
my $uri = "postgresql://$su:$secret_client\@"
  . join(',', map { $_->host . ':' . $_->port } @nodes) . '/postgres?connect_timeout=5';
my $ci_pw = "host=$hosts port=$ports dbname=postgres user=regress_replroute_pw "
  . "password=$secret_client";
my $ci_wrong = "host=$hosts port=$ports dbname=postgres user=regress_replroute_pw "
  . "password=$secret_wrong connect_timeout=5";
my $ci_plain = "host=$hosts port=$ports dbname=postgres user=$plain password=$secret_client";

# Runs the CLI: checks it did not crash and exited $want.  Returns (exit
# code, stdout, stderr).
sub cli_run
{
	my ($name, $want, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $cli, @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $status = $?;
	is($status & 127, 0, "replroute $name: no crash");
	is($status >> 8, $want, "replroute $name: exit $want")
	  or diag("stdout: $out\nstderr: $err");
	return ($status >> 8, $out, $err);
}

# cli_run, and no password in stdout or stderr.
sub cli
{
	my ($name, @rest) = @_;
	my ($rc, $out, $err) = cli_run($name, @rest);
	no_leak($out, "replroute $name: stdout");
	no_leak($err, "replroute $name: stderr");
	return ($rc, $out, $err);
}

my ($rc, $out, $err);
# (regress_replroute_pw has no pg_monitor: check warns that slots are
# unreadable)
for my $c ([ 'keyword/value', $ci, 0 ], [ 'URI', $uri, 0 ], [ 'scram role', $ci_pw, 1 ])
{
	my ($form, $conninfo, $check_rc) = @$c;
	($rc, $out, $err) = cli("status ($form)", 0, 'status', $conninfo);
	is(scalar(() = $out =~ /^127\.0\.0\.1\s+\d+\s+ok\s/mg), 3,
		"status ($form): the three nodes are up");
	($rc, $out, $err) = cli("status --json ($form)", 0, 'status', '--json', $conninfo);
	my $doc = eval { decode_json($out) };
	is_deeply([ map { $_->{state} } @{ $doc->{nodes} // [] } ], [qw(up up up)],
		"status --json ($form): three nodes up");
	cli("check ($form)", $check_rc, 'check', $conninfo);
	($rc, $out, $err) = cli("route --read ($form)", 0, 'route', '--read', $conninfo);
	($rc, $out, $err) = cli("route --write ($form)", 0, 'route', '--write', $conninfo);
	is($out, "host=127.0.0.1 port=${\ $primary->port}\n", "route --write ($form): the primary");
	($rc, $out, $err) = cli("exec --read ($form)", 0, 'exec', '--read', $conninfo,
		'SELECT current_user');
	like($out, qr/^(\Q$su\E|regress_replroute_pw)\n\z/, "exec --read ($form): rows");
	cli("exec --write ($form)", 0, 'exec', '--write', $conninfo, 'SELECT 1');
	($rc, $out, $err) = cli("exec --write --token ($form)", 0, 'exec', '--write', '--token',
		$conninfo, 'SELECT 1');
	my ($token) = $err =~ m{token: (\S+)};
	cli("exec --read --after-token ($form)", 0, 'exec', '--read', '--after-token',
		$token // '0/0', $conninfo, 'SELECT 1');
	($rc, $out, $err) = cli("exec --read SQL error ($form)", 1, 'exec', '--read', $conninfo,
		'SELECT * FROM regress_replroute_nope');
	like($err, qr/regress_replroute_nope/, "exec --read SQL error ($form): the message");
	cli("exec --write SQL error ($form)", 1, 'exec', '--write', $conninfo, 'SELECT 1/0');
	cli("exec --write syntax error ($form)", 1, 'exec', '--write', $conninfo, 'SELEC 1');
	cli("bad -o value ($form)", 2, 'status', '-o', 'max_lag_bytes=lots', $conninfo);
	cli("unknown -o key ($form)", 2, 'route', '--read', '-o', 'bogus=1', $conninfo);
	cli("check, unknown -o key ($form)", 3, 'check', '-o', 'policy=nope', $conninfo);
}

# bad keywords and values next to the password
my @bad_conninfo = (
	[ 'bad keyword after the password', "host=$hosts port=$ports password=$secret_client bogus=1" ],
	[ 'bad keyword before the password', "bogus=1 password=$secret_client host=$hosts port=$ports" ],
	[ 'misspelt password keyword', "host=$hosts port=$ports passwd=$secret_client" ],
	[ 'word without "=" after the password', "host=$hosts port=$ports password=$secret_client junk" ],
	[ 'unterminated quote', "host=$hosts port=$ports password='$secret_client" ],
	[ 'bad port after the password', "host=$hosts password=$secret_client port=notaport" ],
	[ 'bad connect_timeout after the password', "$ci connect_timeout=soon" ],
	[ 'ports not matching hosts', "host=$hosts password=$secret_client port=1,2" ],
	[ 'URI with a bad parameter', "$uri&bogus=1" ],
	[ 'URI with a bad port', "postgresql://$su:$secret_client\@127.0.0.1:99999/postgres" ],);
for my $b (@bad_conninfo)
{
	my ($what, $conninfo) = @$b;
	($rc, $out, $err) = cli("status, $what", 2, 'status', $conninfo);
	like($err, qr/^replroute: error: /, "status, $what: an error");
	cli("exec, $what", 2, 'exec', '--read', $conninfo, 'SELECT 1');
	cli("check, $what", 3, 'check', $conninfo);
}
# libpq rejects these at connect time, per node
($rc, $out, $err) = cli('status, bad sslmode after the password', 1, 'status',
	"$ci sslmode=bogus");
like($err, qr/sslmode/, 'status, bad sslmode: names it');

# libpq's own parse errors for these URIs quote the password (the whole URI,
# or the undecodable part of it); replroute passes them on unchanged
for my $b (
	[ 'URI, bad percent-encoding in the password',
		"postgresql://$su:$secret_client%zz\@127.0.0.1:${\ $primary->port}/postgres" ],
	[ 'URI, %00 in the password',
		"postgresql://$su:$secret_client%00\@127.0.0.1:${\ $primary->port}/postgres" ],
	[ 'URI, unterminated IPv6 address', "postgresql://$su:$secret_client\@[::1" ],
	[ 'URI, empty IPv6 address', "postgresql://$su:$secret_client\@[]:5432/postgres" ],
	[ 'URI, junk after an IPv6 address', "postgresql://$su:$secret_client\@[::1]x" ])
{
	my ($what, $conninfo) = @$b;
	($rc, $out, $err) = cli_run("status, $what", 2, 'status', $conninfo);
	like($err, qr/^replroute: error: invalid connection string: /,
		"replroute status, $what: invalid connection string");
	no_leak($out, "replroute status, $what: stdout");
	no_leak($err, "replroute status, $what: stderr");
}

# the wrong password: authentication fails on every node, and the message
# says so without the password
($rc, $out, $err) = cli('status, wrong password', 1, 'status', $ci_wrong);
like($err, qr/password authentication failed for user "regress_replroute_pw"/,
	'status, wrong password: says authentication failed');
cli('check, wrong password', 2, 'check', $ci_wrong);
cli('exec, wrong password', 1, 'exec', '--read', $ci_wrong, 'SELECT 1');

# the plain role: status works, its slot section says slots are unavailable
($rc, $out, $err) = cli("status as $plain", 0, 'status', $ci_plain);
is(scalar(() = $out =~ /^127\.0\.0\.1\s+\d+\s+ok\s/mg), 3,
	"status as $plain: the three nodes are up");
like($out, qr/^Replication slots: not available \(.*permission denied for function slots/m,
	"status as $plain: slots not available, and why");
($rc, $out, $err) = cli("status --json as $plain", 0, 'status', '--json', $ci_plain);
my $doc = eval { decode_json($out) } // {};
is_deeply($doc->{slots}, [], "status --json as $plain: no slots");
like($doc->{slots_error} // '', qr/permission denied for function slots/,
	"status --json as $plain: slots_error says why");
($rc, $out, $err) = cli("check as $plain", 1, 'check', $ci_plain);
like($out, qr/^REPLROUTE WARNING - /, "check as $plain: WARNING (slots unreadable)");
cli("exec --read as $plain", 0, 'exec', '--read', $ci_plain, 'SELECT 1');

#
# 4. The C driver, through the library
#
# Runs the driver with one handle through a few calls; checks its answers
# show no password ($todo: the reason that is known not to hold yet).
sub drive
{
	my ($name, $conninfo, $want_connect, $todo) = @_;
	my $d = ReplrouteTest::driver($conninfo, '');
	my $text = "$d->{connect}\n";
	like($d->{connect}, $want_connect, "driver $name: connect line");
	# RRconnect returns once it can route; a refresh hears every node
	$text .= $d->cmd('refresh') . "\n";
	$text .= join("\n", $d->lines('status')) . "\n";
	$text .= $d->cmd($_) . "\n" for (
		'read SELECT 1', 'write SELECT 1', 'read SELECT * FROM regress_replroute_nope',
		'write SELECT 1/0', 'readconn', 'writeconn', 'settoken nonsense', 'token');
	is($d->finish, 0, "driver $name: exits cleanly");
	{
		local $TODO = $todo;
		no_leak($text, "driver $name: stdout");
	}
	no_leak($d->stderr, "driver $name: stderr");
	return $text;
}
my $text = drive('keyword/value', $ci, qr/^connect ok/);
like($text, qr/^node 2 127\.0\.0\.1 \d+ up standby /m, 'driver keyword/value: status lines');
like($text, qr/^error 42P01 /m, 'driver keyword/value: the SQL error line');
drive('URI', $uri, qr/^connect ok/);
drive('scram role', $ci_pw, qr/^connect ok/);
drive('wrong password', $ci_wrong, qr/^connect bad .*password authentication failed/);
drive('bad keyword', "$ci bogus=1", qr/^connect bad .*invalid connection option "bogus"/);
drive('bad port', "host=$hosts password=$secret_client port=notaport",
	qr/^connect bad .*invalid port number/);
drive('bad URI parameter', "$uri&bogus=1", qr/^connect bad .*invalid URI query parameter/);
drive('URI, bad percent-encoding in the password',
	"postgresql://$su:$secret_client%zz\@127.0.0.1:${\ $primary->port}/postgres",
	qr/^connect bad .*invalid percent-encoded token/);

#
# 5. A node down, and a port where nothing listens
#
$s1->stop('fast');
my $free_port = PostgreSQL::Test::Cluster::get_free_port();
my $ci_down = "host=$hosts,127.0.0.1 password=$secret_client port=$ports,$free_port "
  . 'dbname=postgres connect_timeout=5';
($rc, $out, $err) = cli('status, nodes down', 0, 'status', $ci_down);
like($out, qr/^  127\.0\.0\.1:${\ $s1->port} down: /m, 'status, nodes down: the note');
cli('status --json, nodes down', 0, 'status', '--json', $ci_down);
cli('check, nodes down', 1, 'check', $ci_down);
cli('route --read, nodes down', 0, 'route', '--read', $ci_down);
cli('exec --read, nodes down', 0, 'exec', '--read', $ci_down, 'SELECT 1');
cli('exec --write error, nodes down', 1, 'exec', '--write', $ci_down, 'SELECT 1/0');
($rc, $out, $err) = cli('status, nothing listening', 1, 'status',
	"host=127.0.0.1 port=$free_port password=$secret_client");
like($err, qr/no node answered/, 'status, nothing listening: the message');
cli("status as $plain, a node down", 0, 'status', $ci_plain);
drive('nodes down', $ci_down, qr/^connect ok/);
drive('nothing listening', "host=127.0.0.1 port=$free_port password=$secret_client",
	qr/^connect bad /);
$s1->start;

#
# 6. standbys() and slots() are SQL functions: an operator from the
#    caller's search_path must not run inside them
#
$primary->safe_psql('postgres', q{
CREATE SCHEMA regress_replroute_evil;
CREATE FUNCTION regress_replroute_evil.texteq(text, text) RETURNS boolean
  LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'regress_replroute_evil ran'; RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE FUNCTION regress_replroute_evil.int4eq(integer, integer) RETURNS boolean
  LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'regress_replroute_evil ran'; RETURN $1 OPERATOR(pg_catalog.=) $2; END$$;
CREATE OPERATOR regress_replroute_evil.= (LEFTARG = text, RIGHTARG = text,
  FUNCTION = regress_replroute_evil.texteq);
CREATE OPERATOR regress_replroute_evil.= (LEFTARG = integer, RIGHTARG = integer,
  FUNCTION = regress_replroute_evil.int4eq);
});
for my $f (qw(standbys slots))
{
	my ($r, $o, $e) = $primary->psql('postgres',
		"SET search_path = regress_replroute_evil, pg_catalog; "
		  . "SELECT count(*) FROM replroute.$f()");
	is($r, 0, "$f() works with a hostile search_path");
	unlike($e, qr/regress_replroute_evil ran/,
		"$f(): no operator of the caller's search_path runs inside it");
}
$primary->safe_psql('postgres', 'DROP SCHEMA regress_replroute_evil CASCADE');

done_testing();
