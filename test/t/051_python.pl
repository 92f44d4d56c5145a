
# The Python package (python/): installed with pip into a venv, offline;
# its server-less unit tests; the binding's API against a primary and two
# standbys; then the example Django project (examples/django) through the
# package's router, middleware and backend, driven in-process with Django's
# test client: a black-hole replica in the list, a replica killed in the
# middle of a read, and a failover (primary killed, a standby promoted).
#
# Python is Debian's /usr/bin/python3 (python3-django, python3-psycopg2,
# python3-venv; make test installs them), or $REPLROUTE_PYTHON.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use File::Spec;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time usleep);
use ReplrouteTest;

my $srcdir = File::Spec->rel2abs($ENV{TESTDIR} // '.');
my $python = $ENV{REPLROUTE_PYTHON} // '/usr/bin/python3';
$ENV{PYTHONDONTWRITEBYTECODE} = 1;
$ENV{PIP_DISABLE_PIP_VERSION_CHECK} = 1;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# run a command in $tmp (so that nothing of the source tree is on sys.path)
sub run_cmd
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run(\@cmd, init => sub { chdir $tmp or die "chdir $tmp: $!" },
			'<', \undef, '>', \$out, '2>', \$err);
	};
	$err .= $@ if $@;
	return ($ok, $out, $err);
}

#
# Packaging: python3 -m venv --system-site-packages, then
# pip install --no-build-isolation ./python, with no network
#
# a copy, so that pip's build files stay out of the source tree
system('cp', '-r', "$srcdir/python", "$tmp/src") == 0 or die "cannot copy python/";
my ($ok, $out, $err) = run_cmd($python, '-m', 'venv', '--system-site-packages', "$tmp/venv");
ok($ok, "$python -m venv --system-site-packages") or diag($err);
($ok, $out, $err) = run_cmd("$tmp/venv/bin/pip", 'install', '--no-build-isolation', "$tmp/src");
ok($ok && $out =~ /Successfully installed replroute-1\.1\.0/,
	'pip install --no-build-isolation ./python: replroute 1.1.0') or diag("$out\n$err");
my $vpy = "$tmp/venv/bin/python";
($ok, $out, $err) = run_cmd($vpy, '-c',
	'import replroute, replroute.django; print(replroute.__file__, replroute.__version__)');
like($out, qr{^\Q$tmp\E/venv/lib/python[\d.]+/site-packages/replroute/__init__\.py 1\.1\.0$},
	'the venv imports the installed package') or diag($err);

($ok, $out, $err) = run_cmd('env', "REPLROUTE_HEADER=$srcdir/client/replroute.h",
	$vpy, '-m', 'unittest', 'discover', '-s', "$tmp/src/tests", '-p', 'test_*.py');
ok($ok, 'server-less unit tests (python/tests/test_unit.py)') or diag($err);
note($err);

#
# The binding against a real cluster
#
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);

($ok, $out, $err) = run_cmd($vpy, "$tmp/src/tests/api_check.py", $ci, $pp, $p1, $p2);
my $checks = 0;
my @detail;
for my $line (split /\n/, $out)
{
	if ($line =~ /^(not )?ok - (.*)$/)
	{
		ok(!defined $1, "API: $2") or diag(join("\n", @detail));
		$checks++;
		@detail = ();
	}
	elsif ($line =~ /^# (.*)/) { diag($1); }
}
ok($ok && $checks >= 30, "the API checks ran to the end ($checks)") or diag($err);

#
# Django, with a black hole in the list: a listener that completes the TCP
# handshake (the kernel does, from the backlog) and never answers
#
my $hole = IO::Socket::INET->new(
	LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1024, Proto => 'tcp')
  or die "cannot listen: $!";
my $hp = $hole->sockport;
# node0 primary, node1 standby1, node2 the black hole, node3 standby2
my $dci = "host=127.0.0.1,127.0.0.1,127.0.0.1,127.0.0.1 port=$pp,$p1,$hp,$p2 "
  . "dbname=postgres connect_timeout=2";

my %d = (in => '', out => '', err => '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $h;
{
	local $ENV{REPLROUTE_CONNINFO} = $dci;
	local $ENV{REPLROUTE_OPTIONS} = 'max_lag_seconds=1s causal_wait=250ms';
	$h = IPC::Run::start([ $vpy, "$tmp/src/tests/django_driver.py", "$srcdir/examples/django" ],
		init => sub { chdir $tmp or die "chdir $tmp: $!" },
		'<', \$d{in}, '>', \$d{out}, '2>', \$d{err}, $timer);
}

# one command, one JSON answer
sub cmd
{
	my ($line) = @_;
	$d{in} .= "$line\n";
	$timer->start($PostgreSQL::Test::Utils::timeout_default);
	$h->pump until $d{out} =~ /\n/;
	$d{out} =~ s/^([^\n]*)\n//;
	my $r = decode_json($1);
	diag("$line: $r->{traceback}") if $r->{traceback};
	return $r;
}

sub show { return JSON::PP->new->canonical->encode($_[0]); }

my $r = cmd('migrate');
ok($r->{ok}, 'manage.py migrate through the router') or diag(show($r));
is($primary->safe_psql('postgres', "SELECT to_regclass('notes_note') IS NOT NULL"), 't',
	'the example\'s table is on the primary (migrations run on default)');

$r = cmd('write');
is($r->{status}, 200, 'a write request succeeds') or diag(show($r));
is($r->{port}, $pp, '... on the primary');

# db_for_read() in a loop for 8 s: over the black hole's connect timeout
# (2 s) and the library's reconnects to it
$r = cmd('dbr 8 5');
ok($r->{calls} > 100, "db_for_read() called $r->{calls} times over 8 s");
note(sprintf('db_for_read() with a black hole listed: median %.3f ms, max %.3f ms',
	$r->{median_ms}, $r->{max_ms}));
cmp_ok($r->{max_ms}, '<', 500,
	'db_for_read() never waits on the black hole (max under 500 ms; a wait is 2000 ms)');
cmp_ok($r->{median_ms}, '<', 20, 'db_for_read() median under 20 ms');
cmp_ok($r->{write_max_ms}, '<', 500, "db_for_write() ($r->{write_calls} calls) never waits either");
ok(!$r->{aliases}{node2}, 'no read routed to the black hole') or diag(show($r->{aliases}));
ok($r->{aliases}{node1} && $r->{aliases}{node3}, 'reads routed to both standbys')
  or diag(show($r->{aliases}));

$r = cmd('requests 30');
is_deeply($r->{errors}, [], '30 read requests, no error');
ok(!$r->{read_from}{node2}, 'none read from the black hole') or diag(show($r));
cmp_ok($r->{max_ms}, '<', 1000, 'no request waits on the black hole');

#
# A standby killed while a read runs on it: the read is retried elsewhere
#
cmd('slow_start 3');
my $victim;
ReplrouteTest::poll_until(60, sub {
	for my $s ($s1, $s2)
	{
		my $n = $s->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' "
			  . "AND pid <> pg_backend_pid()");
		$victim = $s if $n > 0;
	}
	return defined $victim;
});
ok(defined $victim, 'the slow read runs on a standby');
$victim->stop('immediate');
$r = cmd('slow_result');
is($r->{status}, 200, 'the read whose standby was killed succeeds') or diag(show($r));
my $vport = $victim->port;
ok(defined $r->{port} && $r->{port} != $vport,
	"... answered by another node (port $r->{port}, killed $vport)");
cmp_ok($r->{stats}{retry} // 0, '>=', 1, '... after one retry');

# the killed node once more, as the library's pick (forced: the library
# would not pick it now): the connect fails, the read is retried
my $vindex = $victim == $s1 ? 1 : 3;
$r = cmd("forced $vindex");
is($r->{status}, 200, 'a read sent to the dead standby\'s alias succeeds') or diag(show($r));
ok(defined $r->{port} && $r->{port} != $vport, "... served by port $r->{port}");
is($r->{retries}, 1, '... after exactly one retry');
$r = cmd('stats');
ok((grep { /node_down node$vindex/ } @{ $r->{events} }),
	'the library reported the node down (event logged by the router)')
  or diag(show($r->{events}));

$victim->start;
$primary->wait_for_catchup($victim);

#
# Failover: the primary killed, standby1 promoted; writes from the same
# process (no settings change, no restart) reach the new primary
#
cmd('writeloop');
usleep(300_000);
$primary->stop('immediate');
usleep(200_000);
$s1->promote;
my $promoted = time;
$r = cmd(sprintf('promoted %.6f', $promoted));
my $first = $r->{first_ok_after_ms};
ok(defined $first, 'writes succeed again after the promotion') or diag(show($r));
note(sprintf('first write %.0f ms after the promotion; %d writes failed meanwhile (%s)',
	$first // -1, $r->{failed}, join('; ', @{ $r->{errors} })));
cmp_ok($first // 1e9, '<', 2000, 'within 2 s of the promotion');
is($r->{port}, $p1, '... on the promoted standby');

$r = cmd('requests 20');
is_deeply($r->{errors}, [], 'reads after the failover succeed');
ok(!$r->{read_from}{node1}, 'the new primary gets no reads as a standby alias')
  or diag(show($r->{read_from}));

$d{in} .= "quit\n";
$h->finish;
is($h->result(0), 0, 'the driver exits cleanly');
unlike($d{err}, qr/Traceback/, 'no Python traceback') or diag($d{err});
note("driver stderr:\n$d{err}");
close $hole;

done_testing();
