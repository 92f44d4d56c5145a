
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# Load: 32 concurrent pgbench clients calling replroute.node_status() on a
# standby while the primary writes heavily.  No errors, and replay keeps up:
# the standby's lag is sampled every 100 ms with the write load alone (phase
# A) and with the write load plus the node_status() load (phase B), and the
# figures are printed side by side.  Nothing is asserted about their ratio
# (timing on a shared machine is no test); what is asserted is that both
# pgbench runs succeed without a single failed transaction or error, and
# that the standby catches up after each phase.

use strict;
use warnings;

use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $seconds = 8;         # each phase
my $scale = 5;

my ($primary, $s1) = ReplrouteTest::make_cluster(standbys => 1);
my $tmp = PostgreSQL::Test::Utils::tempdir();

sub pgbench_args
{
	my ($node, @args) = @_;
	return [ 'pgbench', '-h', $node->host, '-p', $node->port, @args, 'postgres' ];
}

my ($out, $err) = ('', '');
ok(IPC::Run::run(pgbench_args($primary, '-i', '-q', '-s', $scale),
	'<', \undef, '>', \$out, '2>', \$err), "pgbench -i -s $scale on the primary")
  or diag($err);
$primary->wait_for_catchup($s1, 'replay');

open(my $fh, '>', "$tmp/node_status.sql") or die $!;
print $fh "SELECT * FROM replroute.node_status();\n";
close $fh;

# runs $code with Test::More's notes (the psql sessions' chatter) discarded
sub quietly
{
	my ($code) = @_;
	my $tb = Test::More->builder;
	my $saved = $tb->output;
	open(my $null, '>', File::Spec->devnull) or die $!;
	$tb->output($null);
	my @r = eval { $code->() };
	my $died = $@;
	$tb->output($saved);
	die $died if $died;
	return @r;
}

# sessions that sample the lag: the primary's view of the standby (bytes),
# the standby's own (bytes and seconds)
my ($bp, $bs) = quietly(sub {
	($primary->background_psql('postgres'), $s1->background_psql('postgres')) });

# returns (primary's lag_bytes for the standby, standby's own lag_bytes and
# lag_seconds, the latter 'null' when unknown)
sub sample
{
	my ($b, $s) = quietly(sub {
		($bp->query_safe(
			"SELECT coalesce(max(lag_bytes), 0) FROM replroute.standbys() "
			  . "WHERE application_name = 'standby1'"),
		 $bs->query_safe(
			"SELECT lag_bytes || ' ' || coalesce(lag_seconds::text, 'null') "
			  . 'FROM replroute.node_status()')) });
	return ($b, split(/ /, $s));
}

sub median
{
	my @v = sort { $a <=> $b } @_;
	return 0 unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub max_of
{
	my $m = 0;
	for (@_) { $m = $_ if $_ > $m; }
	return $m;
}

# Runs the given pgbench commands at once, sampling the lag every 100 ms
# until all have finished.  Returns the runs (out, err, exit) and the
# samples (primary-view bytes, standby-view bytes, standby lag_seconds).
sub phase
{
	my ($name, @cmds) = @_;
	my @runs;
	for my $cmd (@cmds)
	{
		my ($clients) = join(' ', @$cmd) =~ / -c (\d+) /;
		my $run = { out => '', err => '', cmd => $cmd, clients => $clients };
		$run->{h} = IPC::Run::start($cmd, '<', \undef, '>', \$run->{out},
			'2>', \$run->{err},
			IPC::Run::timeout($seconds + $PostgreSQL::Test::Utils::timeout_default));
		push @runs, $run;
	}
	my (@bytes, @own_bytes, @secs);
	while (grep { $_->{h}->pumpable } @runs)
	{
		my $t = time;
		my ($b, $ob, $s) = sample();
		push @bytes, $b;
		push @own_bytes, $ob;
		push @secs, $s if $s ne 'null';
		$_->{h}->pump_nb for grep { $_->{h}->pumpable } @runs;
		my $left = 0.1 - (time - $t);
		usleep(int($left * 1e6)) if $left > 0;
	}
	for my $run (@runs)
	{
		$run->{h}->finish;
		$run->{exit} = $run->{h}->result(0);
	}
	return (\@runs, \@bytes, \@own_bytes, \@secs);
}

# checks a pgbench run: exit 0, transactions done, none failed, no error
sub check_run
{
	my ($what, $run) = @_;
	is($run->{exit}, 0, "$what: pgbench exits 0") or diag("$run->{out}\n$run->{err}");
	my ($clients) = $run->{out} =~ /number of clients: (\d+)/;
	is($clients, $run->{clients}, "$what: $run->{clients} clients ran");
	my ($done) = $run->{out} =~ /number of transactions actually processed: (\d+)/;
	cmp_ok($done // 0, '>', 0, "$what: transactions processed (" . ($done // 'none') . ')');
	like($run->{out}, qr/number of failed transactions: 0 \(/, "$what: no failed transaction");
	unlike($run->{out} . $run->{err}, qr/error|fatal|abort/i, "$what: no error in pgbench's output")
	  or diag($run->{err});
	my ($tps) = $run->{out} =~ /tps = ([\d.]+) \(without initial connection time\)/;
	return $tps // 0;
}

# the standby catches up after a phase: replay reaches the primary's end and
# its own lag_seconds returns to 0
sub catch_up
{
	my ($what) = @_;
	my $t = time;
	$primary->wait_for_catchup($s1, 'replay');
	my $zero = ReplrouteTest::poll_until(30, sub {
		$s1->safe_psql('postgres', 'SELECT lag_seconds = 0 FROM replroute.node_status()') eq 't' });
	ok(defined $zero, sprintf('%s: the standby caught up (%.2f s after the load)', $what, time - $t));
	return;
}

my @write_load = ('-n', '-c', 4, '-j', 2, '-T', $seconds);
my @status_load = ('-n', '-c', 32, '-j', 4, '-T', $seconds, '-M', 'prepared',
	'-f', "$tmp/node_status.sql");

# phase A: writes on the primary alone
my ($runs_a, $bytes_a, $own_a, $secs_a) = phase('A', pgbench_args($primary, @write_load));
my $tps_write_a = check_run('phase A, writes on the primary', $runs_a->[0]);
catch_up('phase A');

# phase B: the same writes, and 32 clients calling node_status() on the standby
my ($runs_b, $bytes_b, $own_b, $secs_b) = phase('B', pgbench_args($primary, @write_load),
	pgbench_args($s1, @status_load));
my $tps_write_b = check_run('phase B, writes on the primary', $runs_b->[0]);
my $tps_status = check_run('phase B, 32 clients of node_status() on the standby', $runs_b->[1]);
catch_up('phase B');

cmp_ok(scalar @$bytes_a, '>=', 10, 'phase A: lag sampled (' . scalar(@$bytes_a) . ' samples)');
cmp_ok(scalar @$bytes_b, '>=', 10, 'phase B: lag sampled (' . scalar(@$bytes_b) . ' samples)');

diag(sprintf('%-34s %12s %12s', '', 'A: writes', 'B: + status'));
diag(sprintf('%-34s %12d %12d', 'samples', scalar @$bytes_a, scalar @$bytes_b));
diag(sprintf('%-34s %12.0f %12.0f', 'lag_bytes (primary view), median', median(@$bytes_a), median(@$bytes_b)));
diag(sprintf('%-34s %12.0f %12.0f', 'lag_bytes (primary view), max', max_of(@$bytes_a), max_of(@$bytes_b)));
diag(sprintf('%-34s %12.0f %12.0f', 'lag_bytes (standby view), median', median(@$own_a), median(@$own_b)));
diag(sprintf('%-34s %12.0f %12.0f', 'lag_bytes (standby view), max', max_of(@$own_a), max_of(@$own_b)));
diag(sprintf('%-34s %12.3f %12.3f', 'lag_seconds (standby), median', median(@$secs_a), median(@$secs_b)));
diag(sprintf('%-34s %12.3f %12.3f', 'lag_seconds (standby), max', max_of(@$secs_a), max_of(@$secs_b)));
diag(sprintf('%-34s %12.1f %12.1f', 'write tps on the primary', $tps_write_a, $tps_write_b));
diag(sprintf('%-34s %12s %12.1f', 'node_status() tps on the standby', '-', $tps_status));

$bp->quit;
$bs->quit;
done_testing();
