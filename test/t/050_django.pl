
# The Django example (examples/django): its router sends reads only to
# standbys that replroute.is_routable() calls fresh enough.  Runs the demo
# script with Debian's python3-django and python3-psycopg2; they must be
# installed (make test installs them), or this test fails.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use ReplrouteTest;

my $srcdir = $ENV{TESTDIR} // '.';
my $demo   = "$srcdir/examples/django/demo_app.py";
# Debian's interpreter, where python3-django is installed, unless told
my $python = $ENV{REPLROUTE_PYTHON}
  // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');
# no __pycache__ in the source tree
$ENV{PYTHONDONTWRITEBYTECODE} = 1;

my ($ok, $out, $err) = (0, '', '');
eval {
	$ok = IPC::Run::run([ $python, '-c', 'import django, psycopg2' ],
		'>', \$out, '2>', \$err);
	1;
} or $err = $@;
if (!$ok)
{
	fail('python3 can import django and psycopg2');
	diag("$python cannot import django and psycopg2: install the Debian packages "
		  . "python3-django and python3-psycopg2 (make test does so)\n$err");
	done_testing();
	exit;
}

my $max_lag_seconds = 0.5;
my $check_interval  = 0.1;
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);

# The demo, long-lived (its health cache and connections persist), driven
# over stdin: one command, one answer line.
my %d = (in => '', out => '', err => '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $h = IPC::Run::start(
	[
		$python, $demo,
		'--primary'         => "127.0.0.1:$pp",
		'--replica'         => "127.0.0.1:$p1",
		'--replica'         => "127.0.0.1:$p2",
		'--dbname'          => 'postgres',
		'--max-lag-seconds' => $max_lag_seconds,
		'--check-interval'  => $check_interval,
		'--retry-interval'  => 0.2,
		'--commands'
	],
	'<', \$d{in}, '>', \$d{out}, '2>', \$d{err}, $timer);

sub cmd
{
	my ($line) = @_;
	$d{in} .= "$line\n";
	$timer->start($PostgreSQL::Test::Utils::timeout_default);
	$h->pump until $d{out} =~ /\n/;
	$d{out} =~ s/^([^\n]*)\n//;
	return $1;
}

# ports of N reads, as a hashref port => count
sub reads
{
	my ($n) = @_;
	my $ans = cmd("reads $n");
	my %c;
	if ($ans =~ /^ports ((?:\d+ ?)+)$/)
	{
		$c{$_}++ for split / /, $1;
	}
	else
	{
		diag("reads $n: $ans");
		$c{error} = 1;
	}
	return \%c;
}

sub show { my ($c) = @_; return join(', ', map { "$_: $c->{$_}" } sort keys %$c); }

# The router may reuse a health answer for CHECK_INTERVAL: after a change
# on a server, wait that long (twice, for margin) before asserting on reads.
sub let_answers_expire
{
	usleep(2 * $check_interval * 1_000_000);
	return;
}

sub routable
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT replroute.is_routable(NULL, $max_lag_seconds)") eq 't';
}

# Replay paused on $node while the primary writes, until the router's limit
# is exceeded there.
sub pause_until_stale
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
	my $took = ReplrouteTest::poll_until(10,
		sub { ReplrouteTest::write_some($primary, 10); !routable($node) });
	let_answers_expire();
	return $took;
}

sub resume
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
	$primary->wait_for_catchup($node);
	my $took = ReplrouteTest::poll_until(10, sub { routable($node) });
	let_answers_expire();
	return $took;
}

my $c = reads(20);
is_deeply($c, { $p1 => 10, $p2 => 10 },
	'healthy standbys: reads spread round-robin over both, none on the primary')
  or diag(show($c));
is(cmd('atomic'), "port $pp", 'a read inside atomic() on the primary stays there');

# the script as documented in the README: N reads, one line each
my $once = '';
IPC::Run::run(
	[
		$python, $demo,
		'--primary' => "127.0.0.1:$pp",
		'--replica' => "127.0.0.1:$p1",
		'--replica' => "127.0.0.1:$p2",
		'--reads'   => 4
	],
	'>', \$once, '2>', \$err);
is( $once,
	join('', map { "read $_: port " . ($_ % 2 ? $p1 : $p2) . ' (replica' . ($_ % 2 ? 1 : 2) . ")\n" } 1 .. 4),
	'the demo script alone: four reads, alternating between the standbys')
  or diag($err);

#
# Replay paused on standby2: reads leave it once its lag exceeds the limit
#
ok(defined pause_until_stale($s2), "standby2 paused: its lag exceeds ${max_lag_seconds}s");
$c = reads(20);
is_deeply($c, { $p1 => 20 }, 'standby2 stale: every read on standby1') or diag(show($c));

# read-your-writes helper: a paused standby cannot reach the primary's position
is(cmd('wait replica2 100'), 'status timeout', 'wait_for_lsn on paused standby2 times out');
is(cmd('wait replica1 5000'), 'status success', 'wait_for_lsn on standby1 succeeds');

#
# Both paused: reads go to the primary
#
ok(defined pause_until_stale($s1), 'standby1 paused too');
$c = reads(10);
is_deeply($c, { $pp => 10 }, 'both standbys stale: every read on the primary') or diag(show($c));

#
# Resumed: the standbys serve reads again
#
ok(defined resume($s2), 'standby2 resumed and caught up');
$c = reads(10);
is_deeply($c, { $p2 => 10 }, 'standby2 serves reads again (standby1 still paused)')
  or diag(show($c));
ok(defined resume($s1), 'standby1 resumed and caught up');
$c = reads(20);
is_deeply($c, { $p1 => 10, $p2 => 10 }, 'both standbys serve reads again') or diag(show($c));

#
# A standby whose WAL receiver is not streaming is not used either
#
$s2->safe_psql('postgres',
	"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'; SELECT pg_reload_conf()");
ok(defined ReplrouteTest::poll_until(10, sub { !ReplrouteTest::node_status($s2)->{streaming} }),
	'standby2 cut off from the primary');
let_answers_expire();
$c = reads(10);
is_deeply($c, { $p1 => 10 }, 'standby2 not streaming: every read on standby1') or diag(show($c));
$s2->safe_psql('postgres', 'ALTER SYSTEM RESET primary_conninfo; SELECT pg_reload_conf()');
ok(defined ReplrouteTest::poll_until(10, sub { ReplrouteTest::node_status($s2)->{streaming} }),
	'standby2 streams again');

#
# A standby that is down: the check fails, a warning, no failed request;
# after a restart the health connection is reopened
#
$s2->stop;
let_answers_expire();
$c = reads(10);
is_deeply($c, { $p1 => 10 }, 'standby2 down: every read on standby1, none failed') or diag(show($c));
like($d{err}, qr/replroute: WARNING: replica 'replica2' is not used for reads: health check failed/,
	'the failed check is logged as a warning');
$s2->start;
ok( defined ReplrouteTest::poll_until(10, sub { reads(2)->{$p2} }),
	'standby2 restarted: it serves reads again');

$d{in} .= "quit\n";
$h->finish;
is($h->result(0), 0, 'the demo exits cleanly');
unlike($d{err}, qr/Traceback/, 'no Python traceback');
note("demo stderr:\n$d{err}");

done_testing();
