
# Read-your-writes through the Django router and middleware
# (replroute.django, the example project in examples/django), with both
# standbys applying WAL 300 ms late (recovery_min_apply_delay): 300
# write-then-read request pairs (the read in the writing request, and
# the next request's read) see every write, with the token carried in the
# session and in a signed cookie; a forged cookie is ignored.  Then a
# standby is promoted while the old primary still runs: writes from the
# same process move to the new primary.
#
# Python is Debian's /usr/bin/python3 (python3-django, python3-psycopg2,
# python3-venv; make test installs them), or $REPLROUTE_PYTHON.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Spec;
use IPC::Run;
use JSON::PP qw(decode_json);
use Time::HiRes qw(time usleep);
use ReplrouteTest;

my $srcdir = File::Spec->rel2abs($ENV{TESTDIR} // '.');
my $python = $ENV{REPLROUTE_PYTHON} // '/usr/bin/python3';
$ENV{PYTHONDONTWRITEBYTECODE} = 1;
$ENV{PIP_DISABLE_PIP_VERSION_CHECK} = 1;
my $tmp = PostgreSQL::Test::Utils::tempdir;

# the package, installed as the README says (051_python.pl checks this)
system('cp', '-r', "$srcdir/python", "$tmp/src") == 0 or die "cannot copy python/";
for my $cmd ([ $python, '-m', 'venv', '--system-site-packages', "$tmp/venv" ],
	[ "$tmp/venv/bin/pip", 'install', '-q', '--no-build-isolation', "$tmp/src" ])
{
	my ($out, $err);
	IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err)
	  or BAIL_OUT("@$cmd failed: $err");
}
my $vpy = "$tmp/venv/bin/python";

my $delay = '300ms';
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	standby_conf => "recovery_min_apply_delay = $delay\n");
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);

my %d = (in => '', out => '', err => '');
my $timer = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
my $h;
{
	local $ENV{REPLROUTE_CONNINFO} = ReplrouteTest::conninfo($primary, $s1, $s2);
	# lag limit above the apply delay, so that the late standbys serve
	# reads; a causal wait shorter than it, so that waits both succeed
	# and time out
	local $ENV{REPLROUTE_OPTIONS} = 'max_lag_seconds=1s causal_wait=250ms';
	$h = IPC::Run::start([ $vpy, "$tmp/src/tests/django_driver.py", "$srcdir/examples/django" ],
		init => sub { chdir $tmp or die "chdir $tmp: $!" },
		'<', \$d{in}, '>', \$d{out}, '2>', \$d{err}, $timer);
}

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

ok(cmd('migrate')->{ok}, 'migrate') or diag($d{err});
$primary->wait_for_catchup($_) for ($s1, $s2);

# the test can see stale reads: without the token, a new client's read
# right after a write misses it on a late standby
my $r = cmd('control 20');
cmp_ok($r->{stale}, '>', 0,
	"control: $r->{stale} of 20 next-request reads without the token are stale");

my ($stale, $standby_next, $total) = (0, 0, 0);
for my $store (qw(session cookie))
{
	# 150 pairs over 3 clients; the next request after 0 to 400 ms
	$r = cmd("pairs 150 3 400 $store");
	is($r->{nerrors}, 0, "$store: 150 pairs, no request failed") or diag(show($r->{errors}));
	is($r->{stale_same}, 0, "$store: 0 stale reads in the writing request");
	is($r->{stale_next}, 0, "$store: 0 stale reads in the next request");
	$stale += $r->{stale_same} + $r->{stale_next};
	$total += $r->{pairs};
	my %rf = %{ $r->{read_from} };
	my $next_standby = 0;
	$next_standby += $rf{$_} for grep { /^next:node/ } keys %rf;
	$standby_next += $next_standby;
	note(sprintf('%s: %.1f s; reads: %s; router: %s', $store, $r->{seconds}, show(\%rf),
		show($r->{stats})));
	cmp_ok($next_standby, '>', 0, "$store: standbys served $next_standby of the next-request reads");
	cmp_ok($r->{stats}{wait_ok} // 0, '>', 0, "$store: some causal waits succeeded");
}
is($stale, 0, "0 stale reads in $total write-then-read request pairs (same and next request)");

# a token in the cookie is honoured only when signed
my $pk = cmd('write')->{json}{id};
$primary->wait_for_catchup($_) for ($s1, $s2);
usleep(500_000);
$r = cmd("cookie_token unsigned $pk");
ok($r->{status} == 200 && $r->{read_from} =~ /^node/ && $r->{waits} == 0,
	'an unsigned token cookie is ignored (read on a standby, no wait)') or diag(show($r));
$r = cmd("cookie_token signed $pk");
ok($r->{status} == 200 && $r->{read_from} eq 'default' && $r->{waits} == 1,
	'a signed one is honoured (a wait, then the primary)') or diag(show($r));

#
# standby1 promoted while the old primary still runs (and accepts
# writes): the library sees the newer timeline, the router drops the
# connection to the old primary, and writes move to the new one
#
cmd('writeloop');
usleep(300_000);
$s1->promote;
my $promoted = time;
$r = cmd(sprintf('promoted %.6f %d', $promoted, $p1));
my $first = $r->{first_ok_after_ms};
ok(defined $first, 'writes reach the promoted standby while the old primary runs')
  or diag(show($r));
note(sprintf('first write on the new primary %.0f ms after the promotion; %d failed',
	$first // -1, $r->{failed}));
cmp_ok($first // 1e9, '<', 2000, 'within 2 s of the promotion');
is($r->{on_other}, 0, 'and no later write goes back to the old primary') or diag(show($r));
cmp_ok($r->{stats}{default_dropped} // 0, '>=', 1, 'the stale connection was dropped');

$d{in} .= "quit\n";
$h->finish;
is($h->result(0), 0, 'the driver exits cleanly');
unlike($d{err}, qr/Traceback/, 'no Python traceback') or diag($d{err});
note("driver stderr:\n$d{err}");

done_testing();
