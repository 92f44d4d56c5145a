
# "make demo", as an ordinary user with replroute installed (make test has
# installed it): every step of the story must print what it claims, it
# must finish in under a minute, and nothing it started may survive it,
# also when it is interrupted with Ctrl-C or its terminal closes (SIGHUP).

use strict;
use warnings;

use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $tmp = PostgreSQL::Test::Utils::tempdir;
my %env = (%ENV, NO_COLOR => '1', TMPDIR => $tmp, KEEP => '0');

sub leftovers
{
	my @dirs = glob("$tmp/replroute-demo.*");
	my $procs = `pgrep -u $< -f '$tmp/[r]eplroute-demo' 2>/dev/null` // '';
	return (scalar(@dirs), $procs);
}

# 1. the whole story
my ($out, $err) = ('', '');
my $t0 = time;
my $ok;
{
	local %ENV = %env;
	$ok = IPC::Run::run([ 'make', '-s', 'demo' ], '<', '/dev/null', '>', \$out, '2>&1');
}
my $took = time - $t0;
note($out);
ok($ok, 'the demo succeeds') or diag($out . $err);
cmp_ok($took, '<', 60, sprintf('in under a minute (%.1f s)', $took));
unlike($out, qr/\[FAILED\]/, 'no claim failed');
like($out, qr/every claim held/, 'and it says so');
for my $claim (
	qr/\[ok\] reads spread over both standbys/,
	qr/\[ok\] writes on the primary/,
	qr/\[ok\] the lagging standby got no reads/,
	qr/\[ok\] resumed, standby2 rejoins/,
	qr/\[ok\] without the token the standby read is stale/,
	qr/\[ok\] with the token the same kind of read sees the write, on a standby/,
	qr/\[ok\] reads carried on with no error/,
	qr/\[ok\] reads still served; writes fail cleanly/,
	qr/\[ok\] writes resume on the promoted standby1/,
	qr/\[ok\] standby2 serves reads again, now on the new timeline/)
{
	like($out, $claim, "claim: $claim");
}
like($out, qr/^\$ pg_basebackup .* -R -S standby1/m, 'the cluster is built the way one does it by hand');
like($out, qr/host\s+port\s+state\s+role\s+timeline/, 'replroute status is shown');
unlike($out, qr/\e\[/, 'no colour with NO_COLOR');
my ($ndirs, $procs) = leftovers();
is($ndirs, 0, 'its temporary directory is gone');
is($procs, '', 'no process of it is left');

# 2. interrupted in the middle: Ctrl-C (SIGINT) and a closed terminal
# (SIGHUP) reach the whole process group.  The signal is sent as soon as
# step 2 starts, while the demo runs a command with its stdout sent to
# /dev/null: the notice must still be seen.
for my $case ([ 'INT', 'interrupted', 'Ctrl-C' ], [ 'HUP', 'hangup', 'SIGHUP' ])
{
	my ($sig, $notice, $what) = @$case;
	($out, $err) = ('', '');
	my $h;
	{
		local %ENV = %env;
		$h = IPC::Run::start([ 'setsid', 'make', '-s', 'demo' ], '<', '/dev/null',
			'>', \$out, '2>&1');
	}
	my $timer = time;
	$h->pump_nb while $out !~ /== 2\./ && time - $timer < 60 && usleep(100_000) >= 0;
	like($out, qr/== 2\./, "the run for $what got to step 2");
	my $pid = $h->{KIDS}[0]{PID};
	kill $sig, -$pid;
	$h->finish;
	like($out, qr/$notice: cleaning up/, "$what is noticed") or diag($out);
	($ndirs, $procs) = leftovers();
	is($ndirs, 0, "after $what its temporary directory is gone");
	is($procs, '', 'and no process of it is left');
}

done_testing();
