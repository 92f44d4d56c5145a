
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# The replroute tool ends promptly on SIGINT (exit 130) and SIGTERM (exit
# 143), also while a statement runs inside the library (libpq retries its
# waits on EINTR: a flag alone would do nothing), and the server cancels
# that statement; also when the node running it is frozen (SIGSTOP of its
# postmaster and every child), where a cancel request cannot be answered.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use ReplrouteTest;

my $cli = "$ENV{TESTDIR}/client/replroute";
plan skip_all => "$cli is not built" unless -x $cli;

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my @nodes = ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo(@nodes);

# The node on which a statement carrying $marker is active, or undef.
sub running_on
{
	my ($marker) = @_;
	for my $n (@nodes)
	{
		my $count = $n->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
			  . "AND query LIKE '%$marker%' AND pid <> pg_backend_pid()");
		return $n if $count > 0;
	}
	return undef;
}

# Starts "replroute exec" of a 30 s sleep tagged $marker, waits until the
# statement runs on a node; returns (harness, node, \stdout, \stderr).
sub start_sleeper
{
	my ($intent, $marker) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ $cli, 'exec', $intent, $ci, "SELECT pg_sleep(30) /* $marker */" ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $node;
	ReplrouteTest::poll_until(30, sub { $node = running_on($marker) })
	  or die "the statement $marker did not start";
	return ($h, $node, \$out, \$err);
}

# Sends $sig to the harness, returns (exit status, seconds until it ended).
sub signal_and_time
{
	my ($h, $sig) = @_;
	my $t0 = time;
	$h->signal($sig);
	$h->finish;
	return (($h->full_results)[0], time - $t0);
}

#
# 1. SIGINT and SIGTERM while a read and a write run: exit at once, the
#    statement is cancelled on the server
#
for my $case ([ 'INT', 130, '--read' ], [ 'TERM', 143, '--read' ],
	[ 'INT', 130, '--write' ], [ 'TERM', 143, '--write' ])
{
	my ($sig, $code, $intent) = @$case;
	my $marker = "regress_cli_sig_\L$sig\E_" . substr($intent, 2);
	my ($h, $node, $out, $err) = start_sleeper($intent, $marker);
	ok($intent eq '--write' ? $node == $primary : $node != $primary,
		"exec $intent: the statement runs on " . $node->name);
	my ($status, $took) = signal_and_time($h, $sig);
	is($status & 127, 0, "SIG$sig, exec $intent: the tool does not die of the signal");
	is($status >> 8, $code, "SIG$sig, exec $intent: exit $code");
	cmp_ok($took, '<', 2, sprintf("SIG$sig, exec $intent: ends within 2 s (%.3f s)", $took));
	is($$out, '', "SIG$sig, exec $intent: nothing on stdout");
	ok(defined ReplrouteTest::poll_until(10, sub { !running_on($marker) }),
		"SIG$sig, exec $intent: the server cancelled the statement");
}

#
# 2. SIGINT while the node running the read is frozen: the cancel request
#    cannot be answered, the tool still ends at once
#
{
	my $marker = 'regress_cli_sig_frozen';
	my ($h, $node, $out, $err) = start_sleeper('--read', $marker);
	my $pm = $node->{_pid};
	my @children = split /\s+/, `pgrep -P $pm`;
	my @frozen = grep { /^\d+$/ } ($pm, @children);
	cmp_ok(scalar @frozen, '>', 2, 'the standby has a postmaster and children to freeze');
	kill 'STOP', @frozen;
	usleep(300_000);
	my ($status, $took) = signal_and_time($h, 'INT');
	is($status >> 8, 130, 'SIGINT, node frozen: exit 130');
	cmp_ok($took, '<', 2, sprintf('SIGINT, node frozen: ends within 2 s (%.3f s)', $took));
	kill 'CONT', @frozen;
	# the cancel request, made by a child process, goes through once the
	# node runs again (the child gives up after 5 s)
	ok(defined ReplrouteTest::poll_until(20, sub { !running_on($marker) }),
		'node thawed: the frozen statement is cancelled too');
	ok(defined ReplrouteTest::poll_until(10, sub { `pgrep -f '[r]egress_cli_sig_frozen'` eq '' }),
		'no process of the tool is left');
}

#
# 3. SIGTERM stops status --watch with 0 (its documented way to end), at
#    once also with a long interval
#
{
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ $cli, 'status', '--watch', '3600', $ci ],
		'<', \undef, '>', \$out, '2>', \$err);
	ReplrouteTest::poll_until(10, sub { $h->pump_nb; $out =~ /^Replication slots/m });
	my ($status, $took) = signal_and_time($h, 'TERM');
	is($status, 0, 'status --watch: SIGTERM ends it with 0');
	cmp_ok($took, '<', 2, sprintf('status --watch: at once (%.3f s)', $took));
}

done_testing();
