
# Copyright: see README.md

# A slow resolver costs calls nothing.  Standby2 is listed by a host name
# whose lookup takes 1.5 s (test/slowdns.so, an LD_PRELOAD getaddrinfo that
# sleeps for names ending in .slow.test, then answers 127.0.0.1).  Names
# are looked up off the caller's path, once per connection attempt: RRconnect
# does not wait for the lookup, reads never wait for one, standby2 joins
# once resolved, and while it is down its reconnect attempts (each with a
# 1.5 s lookup, within connect_timeout) stall nothing.  (Version 1 resolved inside every connection
# attempt: each of them stalled the call that made it.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use ReplrouteTest;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = "host=127.0.0.1,127.0.0.1,standby2.slow.test port=$pp,$p1,$p2 dbname=postgres";
my %env = (
	LD_PRELOAD => "$ENV{TESTDIR}/test/slowdns.so",
	RR_SLOWDNS_MS => 1500,
	# the driver is built with ASan, whose runtime must otherwise come first
	ASAN_OPTIONS => 'verify_asan_link_order=0:detect_leaks=1',
);

my $t0 = time;
my $d = ReplrouteTest::driver($ci, '', %env);
my $took = time - $t0;
like($d->{connect}, qr/^connect ok/, 'RRconnect with a slowly resolving name in the list');
cmp_ok($took, '<', 1.0, sprintf('RRconnect did not wait for the 1.5 s lookup (%.2f s)', $took));

my $sql = 'SELECT inet_server_port()';
my $r = ReplrouteTest::parse_loop($d->cmd("readloop 600 10000 $sql"));
is($r->{fail}, 0, "6 s of reads while the name resolves: none failed ($r->{line})");
cmp_ok($r->{maxus}, '<', 500_000,
	sprintf('no read waited for the lookup (slowest %.3f s)', $r->{maxus} / 1e6));
cmp_ok($r->{ports}{$p2} // 0, '>', 0, 'standby2 joined once its name resolved');

# down: every reconnect attempt looks the name up again (1.5 s each)
$s2->stop('immediate');
$r = ReplrouteTest::parse_loop($d->cmd("readloop 600 10000 $sql"));
is($r->{fail}, 0, "6 s of reads with standby2 down and retried: none failed ($r->{line})");
cmp_ok($r->{maxus}, '<', 500_000,
	sprintf('no read waited for a reconnect lookup (slowest %.3f s)', $r->{maxus} / 1e6));
my ($line) = grep { /^node 2 / } $d->lines('status');
like($line, qr/^node 2 standby2\.slow\.test $p2 (down|connecting) /, "standby2 shown by its name, not fit ($line)");

$s2->start;
my $back = ReplrouteTest::poll_until(30, sub {
	my $x = ReplrouteTest::parse_loop($d->cmd("readloop 20 10000 $sql"));
	return $x->{ports}{$p2};
});
ok(defined $back, 'standby2 is back after its restart, through its name');

ReplrouteTest::finish_drivers();
done_testing();
