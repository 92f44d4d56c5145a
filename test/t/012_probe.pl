
# Copyright: see README.md

# The client's health query, across extension versions and poolers:
#
# - a cluster whose extension is still at 1.0 (no replroute.probe()): the
#   library asks node_status() instead, and routes as usual;
# - after ALTER EXTENSION replroute UPDATE, a new health connection asks
#   probe() again;
# - behind PgBouncer in transaction pooling (Debian's pgbouncer), where a
#   prepared statement would be lost between transactions: the probe works,
#   the node is up and gets reads.

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ReplrouteTest;

my ($primary, $s1) = ReplrouteTest::make_cluster(standbys => 1);
my ($pp, $p1) = map { $_->port } ($primary, $s1);
$primary->safe_psql('postgres',
	"DROP EXTENSION replroute; CREATE EXTENSION replroute VERSION '1.0'");
$primary->wait_for_catchup($s1);

# what the driver's health connections ask, on a node
sub health_queries
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT CASE WHEN query LIKE '%replroute.probe()%' THEN 'probe' "
		  . "WHEN query LIKE '%node_status()%' THEN 'node_status' END, ',') "
		  . "FROM pg_stat_activity WHERE application_name = 'replroute'");
}

my $d = ReplrouteTest::driver(ReplrouteTest::conninfo($primary, $s1));
like($d->{connect}, qr/^connect ok/, 'extension 1.0: RRconnect');
my $r = ReplrouteTest::parse_loop($d->cmd('readloop 50 2000 SELECT inet_server_port()'));
is($r->{fail}, 0, "extension 1.0: no read failed ($r->{line})");
is($r->{ports}{$p1}, 50, 'extension 1.0: reads on the standby');
is(health_queries($s1), 'node_status', 'extension 1.0: the health query is node_status()');

$primary->safe_psql('postgres', 'ALTER EXTENSION replroute UPDATE');
$primary->wait_for_catchup($s1);
# new health connections (their backends ended) ask probe() first again
for my $n ($primary, $s1)
{
	$n->safe_psql('postgres',
		'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
		  . "WHERE application_name = 'replroute' AND query LIKE '%node_status%'");
}
my $probe = ReplrouteTest::poll_until(20, sub {
	$d->cmd('readloop 10 5000 SELECT 1');
	return health_queries($s1) eq 'probe' && health_queries($primary) eq 'probe';
});
ok(defined $probe, 'after ALTER EXTENSION UPDATE, the health query is probe()');
$r = ReplrouteTest::parse_loop($d->cmd('readloop 50 2000 SELECT inet_server_port()'));
is($r->{fail}, 0, "extension 1.1: no read failed ($r->{line})");
is($r->{ports}{$p1}, 50, 'extension 1.1: reads on the standby');

#
# PgBouncer, transaction pooling, in front of the standby
#
SKIP:
{
	my $bouncer = -x '/usr/sbin/pgbouncer' ? '/usr/sbin/pgbouncer' : undef;
	skip 'pgbouncer is not installed (Debian package pgbouncer)', 5 unless $bouncer;

	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $bport = PostgreSQL::Test::Cluster::get_free_port();
	my $user = getpwuid($<);
	PostgreSQL::Test::Utils::append_to_file("$dir/users.txt", qq{"$user" ""\n});
	PostgreSQL::Test::Utils::append_to_file("$dir/pgbouncer.ini", <<"EOF");
[databases]
postgres = host=127.0.0.1 port=$p1 dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
ignore_startup_parameters = extra_float_digits,options
EOF
	my $h = IPC::Run::start([ $bouncer, "$dir/pgbouncer.ini" ], '>', "$dir/out", '2>&1');
	my $up = ReplrouteTest::poll_until(20, sub {
		return system("psql -XAtq -h 127.0.0.1 -p $bport -c 'SELECT 1' postgres >/dev/null 2>&1") == 0;
	});
	ok(defined $up, "pgbouncer listens on $bport (transaction pooling)");

	my $ci = "host=127.0.0.1,127.0.0.1 port=$pp,$bport dbname=postgres";
	my $db = ReplrouteTest::driver($ci);
	like($db->{connect}, qr/^connect ok/, 'through pgbouncer: RRconnect');
	$r = ReplrouteTest::parse_loop($db->cmd('readloop 200 5000 SELECT inet_server_port()'));
	is($r->{fail}, 0, "through pgbouncer: no read failed ($r->{line})");
	is($r->{ports}{$bport}, 200, 'through pgbouncer: the standby behind it is up and gets the reads');
	my ($line) = grep { /^node 1 / } $db->lines('status');
	like($line, qr/^node 1 127\.0\.0\.1 $bport up standby /, "through pgbouncer: status ($line)");
	$db->finish;
	$h->kill_kill;
	$h->finish;
}

ReplrouteTest::finish_drivers();
done_testing();
