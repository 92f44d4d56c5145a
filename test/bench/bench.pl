#!/usr/bin/perl
#
# bench.pl: the benchmarks of "make bench" (run by test/bench/run_bench.sh).
#
# Starts a primary and two standbys on 127.0.0.1 (PostgreSQL::Test::Cluster,
# via ReplrouteTest::make_cluster), Pgpool-II in front of them when it is
# installed, and runs each measurement with its contenders in alternating
# blocks (or, for pgbench, interleaved at random per transaction).  Figures go to stdout as "name: value" lines, then a summary
# table; progress goes to stderr.  Every server is stopped at exit, also on
# failure or interrupt.
#
# Environment: RR_BENCH (the C driver, default ./rr_bench beside this
# script), PGPOOL (default: pgpool on PATH or /usr/sbin/pgpool; "none" skips
# the Pgpool-II parts), BENCH_SCALE (default 1; 0.2 gives a quick smoke
# run), BENCH_LAG_BYTES (the byte threshold both routers get in the
# detection test, default 131072).
#
# Benchmarks are not tests: nothing here passes or fails on a timing.

use strict;
use warnings;

# PostgreSQL::Test::Utils sends STDOUT and STDERR to its log file from INIT
# on; keep the terminal for the figures.
my ($OUT, $ERR);

BEGIN
{
	open($OUT, '>&', \*STDOUT) or die "cannot dup stdout: $!";
	open($ERR, '>&', \*STDERR) or die "cannot dup stderr: $!";
	$OUT->autoflush(1);
	$ERR->autoflush(1);
}

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use POSIX qw(floor WNOHANG);
use Time::HiRes qw(time usleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use ReplrouteTest;
use ReplrouteFresh;

# not a TAP test: no plan, no "no tests run" complaint at exit
Test::More->builder->no_ending(1);
# the framework's notes (BackgroundPsql's, for one) go to its log, not
# among the figures: Test::Builder kept the terminal's stdout at load time,
# before PostgreSQL::Test::Utils sent STDOUT to the log
Test::More->builder->output(\*STDOUT);
Test::More->builder->todo_output(\*STDOUT);

# END blocks (which stop the servers) must run on Ctrl-C and kill too
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { die "interrupted by signal $_[0]\n" };

my $here = dirname(File::Spec->rel2abs(__FILE__));
my $rr_bench = $ENV{RR_BENCH} // "$here/rr_bench";
my $scale = $ENV{BENCH_SCALE} // 1;
my $lag_bytes = $ENV{BENCH_LAG_BYTES} // 131072;
my $started = time;
# BENCH_SECTIONS=9,11 runs only those sections (for a quick look at one)
my %sections = map { $_ => 1 } split /,/, ($ENV{BENCH_SECTIONS} // '');
sub section { return !%sections || $sections{ $_[0] }; }

my @figures;     # [name, value] in the order printed
my %fig;
my $pgpool_pid;    # Pgpool-II's main process
my $pgpool_dir;

sub progress { print $ERR "bench: @_\n"; return; }

sub n { my ($x, $min) = @_; my $v = floor($x * $scale); return $v < ($min // 1) ? ($min // 1) : $v; }

sub median
{
	my @s = sort { $a <=> $b } @_;
	return undef unless @s;
	return $s[ int((@s - 1) / 2) ] if @s % 2;
	return ($s[ @s / 2 - 1 ] + $s[ @s / 2 ]) / 2;
}

sub figure
{
	my ($name, $value) = @_;
	push @figures, [ $name, $value ];
	$fig{$name} = $value;
	print $OUT "$name: $value\n";
	return;
}

# Run the C driver; its "name: value" lines become figures.
sub driver
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ $rr_bench, @args ], '<', \undef, '>', \$out,
		'2>', sub { print $ERR $_[0]; $err .= $_[0]; });
	die "rr_bench $args[0] failed\n" unless $ok;
	for my $line (split /\n/, $out)
	{
		figure($1, $2) if $line =~ /^(\w+): (.*)$/;
	}
	return;
}

sub tcp_ci
{
	my (@nodes) = @_;
	return 'host=' . join(',', map { '127.0.0.1' } @nodes)
	  . ' port=' . join(',', map { $_->port } @nodes)
	  . ' dbname=postgres connect_timeout=5';
}

# ---------------------------------------------------------------------------
# Pgpool-II

sub find_pgpool
{
	return undef if defined $ENV{PGPOOL} && $ENV{PGPOOL} eq 'none';
	return $ENV{PGPOOL} if $ENV{PGPOOL};
	for my $d (split(/:/, $ENV{PATH}), '/usr/sbin')
	{
		return "$d/pgpool" if -x "$d/pgpool";
	}
	return undef;
}

sub pgpool_version
{
	my ($bin) = @_;
	my $v = `$bin --version 2>&1`;
	return $v =~ /(\d+\.\d+(?:\.\d+)?)/ ? $1 : 'unknown';
}

# Start Pgpool-II (streaming replication mode, load balancing to the
# standbys, delay_threshold, sr_check_period at its minimum of 1 s) on a
# free port.  Returns its port.
sub start_pgpool
{
	my ($bin, $primary, @standbys) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $pcp_port = PostgreSQL::Test::Cluster::get_free_port();
	my $user = getpwuid($<);
	$pgpool_dir = PostgreSQL::Test::Utils::tempdir_short('pgpool');
	my @nodes = ($primary, @standbys);

	# prefer_lower_delay_standby stays off: when on, a session whose standby
	# is found delayed is moved to another standby for good (4.3's
	# pool_query_context.c), so reads would never come back to it and the
	# detection figure could not be measured; off, a delayed standby's
	# reads go to the primary until it has caught up.
	my $conf = <<"EOF";
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $port
socket_dir = '$pgpool_dir'
pcp_listen_addresses = '127.0.0.1'
pcp_port = $pcp_port
pcp_socket_dir = '$pgpool_dir'
wd_ipc_socket_dir = '$pgpool_dir'
pid_file_name = '$pgpool_dir/pgpool.pid'
logdir = '$pgpool_dir'
log_destination = 'stderr'
logging_collector = off
enable_pool_hba = off
pool_passwd = ''
num_init_children = 8
max_pool = 1
load_balance_mode = on
statement_level_load_balance = off
sr_check_period = 1
sr_check_user = '$user'
sr_check_password = ''
sr_check_database = 'postgres'
delay_threshold = $lag_bytes
prefer_lower_delay_standby = off
health_check_period = 0
failover_on_backend_error = off
memory_cache_enabled = off
EOF
	for my $i (0 .. $#nodes)
	{
		# reads go to standbys only, as with replroute
		my $w = $i == 0 ? 0 : 1;
		$conf .= "backend_hostname$i = '127.0.0.1'\n"
		  . "backend_port$i = " . $nodes[$i]->port . "\n"
		  . "backend_weight$i = $w\n"
		  . "backend_flag$i = 'ALLOW_TO_FAILOVER'\n"
		  . "backend_application_name$i = '" . $nodes[$i]->name . "'\n";
	}
	PostgreSQL::Test::Utils::append_to_file("$pgpool_dir/pgpool.conf", $conf);
	PostgreSQL::Test::Utils::append_to_file("$pgpool_dir/pcp.conf", '');

	progress("starting Pgpool-II on 127.0.0.1:$port (files in $pgpool_dir)");
	my $pid = fork();
	die "fork: $!\n" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$pgpool_dir/pgpool.log");
		open(STDERR, '>', "$pgpool_dir/pgpool.err");
		exec($bin, '-n', '-D', '-f', "$pgpool_dir/pgpool.conf", '-F', "$pgpool_dir/pcp.conf")
		  or POSIX::_exit(127);
	}
	$pgpool_pid = $pid;

	my $ci = "host=127.0.0.1 port=$port dbname=postgres";
	my $ready = ReplrouteTest::poll_until(60, sub {
		return 1 if waitpid($pgpool_pid, WNOHANG) == $pgpool_pid;    # it died
		return IPC::Run::run([ 'psql', '-X', '-At', '-d', $ci, '-c', 'SELECT 1' ],
			'>', \my $o, '2>', \my $e);
	});
	if (!defined $ready || kill(0, $pgpool_pid) == 0)
	{
		undef $pgpool_pid if kill(0, $pgpool_pid) == 0;
		my $log = -e "$pgpool_dir/pgpool.err" ? slurp_file("$pgpool_dir/pgpool.err") : '';
		die "Pgpool-II did not start:\n$log\n";
	}
	my $nodes = '';
	IPC::Run::run([ 'psql', '-X', '-At', '-d', $ci, '-c', 'SHOW pool_nodes' ],
		'>', \$nodes, '2>', \my $e);
	progress("Pgpool-II nodes: $_") for split /\n/, $nodes;
	return $port;
}

sub stop_pgpool
{
	return unless $pgpool_pid;
	my $pid = $pgpool_pid;
	undef $pgpool_pid;
	kill 'INT', $pid;    # fast shutdown
	my $t = time;
	while (waitpid($pid, WNOHANG) != $pid)
	{
		if (time - $t > 10)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
			last;
		}
		usleep(50_000);
	}
	progress('Pgpool-II stopped');
	return;
}

END
{
	my $rc = $?;
	stop_pgpool();
	$? = $rc;
}

# ---------------------------------------------------------------------------
# 1. health call cost: pgbench, prepared, 1 client, on a standby

# What a router would have to run without the extension: the same facts
# from core functions and pg_stat_wal_receiver (lag_seconds the usual way,
# with its false lag on an idle primary).
my $CORE_EQUIVALENT = <<'EOF';
SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END AS role,
       c.system_identifier,
       r.received_tli AS timeline,
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
            ELSE pg_current_wal_flush_lsn() END AS wal_lsn,
       pg_last_wal_receive_lsn() AS receive_lsn,
       r.latest_end_lsn AS upstream_lsn,
       greatest(pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), r.latest_end_lsn),
                                pg_last_wal_replay_lsn()), 0)::bigint AS lag_bytes,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END AS lag_seconds,
       r.status = 'streaming' AS streaming,
       extract(epoch FROM clock_timestamp() - r.last_msg_receipt_time) AS upstream_contact_seconds,
       pg_get_wal_replay_pause_state() <> 'not paused' AS replay_paused,
       pg_last_xact_replay_timestamp() AS last_replay_time,
       clock_timestamp() AS server_time
  FROM pg_control_system() c
  LEFT JOIN pg_stat_wal_receiver r ON true;
EOF

sub bench_health
{
	my ($standby) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir('health');
	my %scripts = (
		select1 => "SELECT 1;\n",
		node_status => "SELECT * FROM replroute.node_status();\n",
		probe => "SELECT replroute.probe();\n",
		core_equivalent => $CORE_EQUIVALENT);
	my @order = qw(node_status probe select1 core_equivalent);
	my $secs = n(15, 3);

	for my $k (@order)
	{
		(my $one = $scripts{$k}) =~ s/\n/ /g;
		PostgreSQL::Test::Utils::append_to_file("$dir/$k.sql", "$one\n");
		# the query must work as written
		$standby->safe_psql('postgres', $scripts{$k});
	}

	# One pgbench run with the three queries as three scripts, picked at
	# random for each transaction: the finest alternation there is, so a
	# burst of load from elsewhere hits all three alike.  The per-
	# transaction log (-l) says which script ran and how long it took.
	progress("1. health call cost: pgbench -M prepared -c 1 -T $secs on standby1, "
		  . join(', ', @order) . ' interleaved at random per transaction');
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[ 'pgbench', '-n', '-M', 'prepared', '-c', '1', '-j', '1', '-T', $secs,
		  (map { ('-f', "$dir/$_.sql") } @order),
		  '-l', '--sampling-rate=0.25', "--log-prefix=$dir/tx",
		  '-h', '127.0.0.1', '-p', $standby->port, 'postgres' ],
		'<', \undef, '>', \$out, '2>', \$err)
	  or die "pgbench failed: $err\n";
	my %lat;
	for my $log (glob("$dir/tx.*"))
	{
		open(my $fh, '<', $log) or die "cannot read $log: $!\n";
		while (<$fh>)
		{
			# client_id transaction_no time script_no time_epoch time_us
			my @f = split;
			push @{ $lat{ $order[ $f[3] ] } }, $f[2] if @f >= 4;
		}
		close $fh;
	}
	my (%tps, %med);
	for my $k (@order)
	{
		my $l = $lat{$k} or die "pgbench logged no transaction of $k\n";
		my $sum = 0;
		$sum += $_ for @$l;
		# the rate one client running only this query would get
		$tps{$k} = @$l / ($sum / 1e6);
		$med{$k} = median(@$l);
		progress(sprintf('  %s: %d transactions logged, median %.0f us', $k, scalar @$l, $med{$k}));
	}
	figure("health_${_}_tps", sprintf('%.0f', $tps{$_})) for @order;
	figure("health_${_}_median_us", sprintf('%.1f', $med{$_})) for @order;
	figure('health_ratio_node_status_vs_select1', sprintf('%.3f', $tps{node_status} / $tps{select1}));
	figure('health_ratio_probe_vs_select1', sprintf('%.3f', $tps{probe} / $tps{select1}));
	figure('health_ratio_node_status_vs_core_equivalent',
		sprintf('%.3f', $tps{node_status} / $tps{core_equivalent}));
	# what a call costs beyond a round trip, in microseconds of one session
	figure('health_node_status_extra_us', sprintf('%.1f', $med{node_status} - $med{select1}));
	figure('health_core_equivalent_extra_us',
		sprintf('%.1f', $med{core_equivalent} - $med{select1}));
	return;
}

# ---------------------------------------------------------------------------
# 9. freshness: every figure and every routed read against the ground truth
#    (the scenarios of test/t/015_freshness.pl, with longer windows)

sub bench_freshness
{
	my ($primary, $s1, $s2) = @_;
	my $ci = tcp_ci($primary, $s1, $s2);
	ReplrouteFresh::prepare($primary);
	my %env = (
		primary => $primary, standbys => [ $s1, $s2 ], subject => $s1, subject_index => 1,
		tools => $ENV{RR_FRESH_TOOL}, cli => $ENV{RR_CLI}, conninfo => $ci,
		tmp => $ENV{RR_FRESH_DIR} // PostgreSQL::Test::Utils::tempdir('fresh'),
		drivers => {
			lib10 => [ ReplrouteTest::driver($ci), 10_000 ],
			lib500 => [ ReplrouteTest::driver($ci), 500_000 ],
		});
	my $k = $scale < 1 ? 1 : 1.5;
	my %only = map { $_ => 1 } split /,/, ($ENV{RR_FRESH_ONLY} // '');
	for my $sc (ReplrouteFresh::scenarios(\%env, scale => $k, apply_delay_secs => 15))
	{
		my ($name, %a) = @$sc;
		next if %only && !$only{$name};
		progress("9. freshness: $name");
		$a{before}->() if $a{before};
		my $res = ReplrouteFresh::run_scenario(name => $name, env => \%env, %a);
		progress("   $_") for ReplrouteFresh::report($res);
		for my $f (qw(ext ext_net lib10 lib500 naive pgdog))
		{
			my $acc = $res->{fig}{$f} or next;
			figure("fresh_${name}_${f}_below_s", sprintf('%.3f', $acc->{min} // 0));
			figure("fresh_${name}_${f}_above_s", sprintf('%.3f', $acc->{max} // 0));
			figure("fresh_${name}_${f}_excess_s", sprintf('%.3f', $acc->{excess} // 0));
			figure("fresh_${name}_${f}_max_s", sprintf('%.3f', $acc->{top} // 0));
		}
		figure("fresh_${name}_truth_max_s", sprintf('%.3f', $res->{truth_max} // 0));
		for my $r (sort keys %{ $res->{read} })
		{
			my $rd = $res->{read}{$r};
			figure("fresh_${name}_${r}_reads", $rd->{n});
			figure("fresh_${name}_${r}_failed", $rd->{fail});
			figure("fresh_${name}_${r}_on_standbys", $rd->{on_subject});
			figure("fresh_${name}_${r}_stale", $rd->{stale});
			# how long after the limit (1 s) the worst served read was
			figure("fresh_${name}_${r}_exposure_s",
				sprintf('%.3f', $rd->{worst} > 1 ? $rd->{worst} - 1 : 0));
		}
		if ($a{stopped})
		{
			$env{drivers}{refuse}[0]->finish;
			delete $env{drivers}{refuse};
		}
	}
	$_->[0]->finish for values %{ $env{drivers} };
	return;
}

# ---------------------------------------------------------------------------
# 10. slow standbys: standby2 behind a delaying proxy; reads served by
#     standby1 beside the same loop without the proxy, in alternating blocks

sub bench_slow
{
	my ($primary, $s1, $s2) = @_;
	my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
	my $list = sub { 'host=' . join(',', ('127.0.0.1') x @_) . ' port=' . join(',', @_) . ' dbname=postgres' };
	my $sql = 'SELECT inet_server_port()';
	for my $case ([ 'rtt50', 25 ], [ 'answer150', 75 ])
	{
		my ($label, $delay) = @$case;
		progress("10. slow standby ($label: $delay ms each way in front of standby2)");
		my $proxy = ReplrouteTest::proxy($p2, delay_ms => $delay);
		my $base = ReplrouteTest::driver($list->($pp, $p1, $p2));
		my $slow = ReplrouteTest::driver($list->($pp, $p1, $proxy->port));
		$_->cmd("readloop 200 1000 $sql") for $base, $slow;    # warm up
		my (@bm, @sm);
		my ($slow_reads, $all_reads, $fails) = (0, 0, 0);
		for (1 .. n(5, 2))
		{
			my $b = ReplrouteTest::parse_loop($base->cmd("readloop 500 2000 $sql"));
			my $r = ReplrouteTest::parse_loop($slow->cmd("readloop 500 2000 $sql"));
			push @bm, $b->{medus}{$p1};
			push @sm, $r->{medus}{$p1};
			$slow_reads += $r->{ports}{ $proxy->port } // 0;
			$all_reads += $r->{ok};
			$fails += $r->{fail} + $b->{fail};
		}
		figure("slow_${label}_other_node_median_us", sprintf('%.0f', median(@sm)));
		figure("slow_${label}_baseline_median_us", sprintf('%.0f', median(@bm)));
		figure("slow_${label}_other_node_slowdown_ms", sprintf('%.3f', (median(@sm) - median(@bm)) / 1000));
		figure("slow_${label}_reads_on_slow_standby_share", sprintf('%.3f', $slow_reads / ($all_reads || 1)));
		figure("slow_${label}_failed_reads", $fails);
		$_->finish for $base, $slow;
		$proxy->stop;
	}
	return;
}

# ---------------------------------------------------------------------------
# 11. liveness: frozen nodes, a silent partition, terminated backends, a fast
#     restart beside plain libpq (node_timeout 2 s, the default)

sub node_pids
{
	my ($node) = @_;
	my $pm = $node->{_pid};
	return ($pm, split(' ', `ps -o pid= --ppid $pm`));
}

sub mix_log
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "cannot read $file: $!";
	my @l = map { [ split ' ', $_, 4 ] } <$fh>;
	close $fh;
	return @l;
}

# longest time without a successful write, from "T ok|fail" samples
sub write_gap
{
	my (@samples) = @_;    # [t_us, ok]
	my ($last_ok, $gap) = (undef, 0);
	for my $s (@samples)
	{
		next unless $s->[1];
		$gap = $s->[0] - $last_ok if defined $last_ok && $s->[0] - $last_ok > $gap;
		$last_ok = $s->[0];
	}
	return $gap / 1e6;
}

sub bench_liveness
{
	my ($primary, $s1, $s2) = @_;
	my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
	my $ci = tcp_ci($primary, $s1, $s2);
	my $tmp = PostgreSQL::Test::Utils::tempdir('live');
	my $freeze = n(30, 6);
	$primary->safe_psql('postgres',
		'CREATE TABLE bench_live_w (id bigint PRIMARY KEY); CREATE TABLE bench_live_r (id bigint PRIMARY KEY); '
		  . 'CREATE TABLE bench_live_p (id bigint PRIMARY KEY)');
	$primary->wait_for_catchup($_) for ($s1, $s2);

	# a standby frozen for $freeze s; 4 handles read through the whole list,
	# one more reads through a list without it
	progress("11a. standby1 frozen for $freeze s while 4 handles read");
	my @rd = map { ReplrouteTest::driver($ci) } 1 .. 4;
	my $other = ReplrouteTest::driver(tcp_ci($primary, $s2));
	my $nreads = int(($freeze + 4) / 0.05);
	$_->send("readloop $nreads 10000 SELECT pg_sleep(0.04), inet_server_port()") for @rd, $other;
	usleep(2_000_000);
	kill 'STOP', node_pids($s1);
	usleep(int($freeze * 1e6));
	kill 'CONT', reverse node_pids($s1);
	my ($worst, $fail) = (0, 0);
	for my $d (@rd)
	{
		my $r = ReplrouteTest::parse_loop($d->line);
		$worst = $r->{maxus} if $r->{maxus} > $worst;
		$fail += $r->{fail};
		$d->finish;
	}
	my $o = ReplrouteTest::parse_loop($other->line);
	$other->finish;
	figure('live_frozen_standby_secs', $freeze);
	figure('live_frozen_standby_worst_read_s', sprintf('%.3f', $worst / 1e6));
	figure('live_frozen_standby_failed_reads', $fail);
	figure('live_frozen_standby_other_handle_worst_read_ms', sprintf('%.1f', $o->{maxus} / 1e3));
	$primary->wait_for_catchup($s1);

	# the primary frozen while writing
	progress('11b. primary frozen for 4 s while writing');
	my $dw = ReplrouteTest::driver($ci);
	$dw->send("mixloop 9 5000 1 bench_live_w $tmp/w.log");
	usleep(2_000_000);
	kill 'STOP', node_pids($primary);
	usleep(4_000_000);
	kill 'CONT', reverse node_pids($primary);
	my $mix = $dw->line;
	my ($maxus) = $mix =~ /maxus=(\d+)/;
	my @w = mix_log("$tmp/w.log");
	my @acked = map { $_->[1] } grep { $_->[0] eq 'ok' } @w;
	my $present = @acked ? $primary->safe_psql('postgres',
		'SELECT count(*) FROM bench_live_w WHERE id IN (' . join(',', @acked) . ')') : 0;
	my $unknown = grep { $_->[0] eq 'fail' && ($_->[3] // '') =~ /outcome .* is unknown/ } @w;
	figure('live_frozen_primary_worst_write_s', sprintf('%.3f', $maxus / 1e6));
	figure('live_frozen_primary_outcome_unknown_errors', $unknown);
	figure('live_frozen_primary_acked_missing', scalar(@acked) - $present);
	$dw->finish;

	# a silent partition: a proxy in front of standby2 stops forwarding
	progress("11c. silent partition of standby2 for $freeze s (a proxy that stops forwarding)");
	my $proxy = ReplrouteTest::proxy($p2);
	my $pci = 'host=127.0.0.1,127.0.0.1,127.0.0.1 port=' . join(',', $pp, $p1, $proxy->port) . ' dbname=postgres';
	my @pr = map { ReplrouteTest::driver($pci) } 1 .. 2;
	$_->send("readloop $nreads 10000 SELECT pg_sleep(0.04), inet_server_port()") for @pr;
	usleep(2_000_000);
	$proxy->freeze;
	usleep(int($freeze * 1e6));
	$proxy->thaw;
	($worst, $fail) = (0, 0);
	for my $d (@pr)
	{
		my $r = ReplrouteTest::parse_loop($d->line);
		$worst = $r->{maxus} if $r->{maxus} > $worst;
		$fail += $r->{fail};
		$d->finish;
	}
	$proxy->stop;
	figure('live_partition_worst_read_s', sprintf('%.3f', $worst / 1e6));
	figure('live_partition_failed_reads', $fail);

	# a terminated primary backend while writes run
	progress('11d. primary backends terminated during a write loop');
	my $dt = ReplrouteTest::driver($ci);
	$dt->cmd('write SELECT 1');
	$dt->send('write SELECT pg_sleep(1)');
	my $wpid;
	ReplrouteTest::poll_until(10, sub {
		($wpid) = split /\n/, $primary->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(1)%' AND pid <> pg_backend_pid()");
		return defined $wpid;
	});
	$primary->safe_psql('postgres', "SELECT pg_terminate_backend($wpid)");
	my $first = $dt->line;
	my $after = ReplrouteTest::parse_loop($dt->cmd('writeloop 50 1000 SELECT 1'));
	figure('live_terminated_failed_writes', ($first =~ /^null/ ? 1 : 0) + $after->{fail});
	figure('live_terminated_next_writes_ok', $after->{ok});
	$dt->finish;

	# a fast restart of the primary: replroute and plain libpq write at once
	progress('11e. fast restart of the primary: replroute and plain libpq writing side by side');
	my $dr = ReplrouteTest::driver($ci);
	$dr->send("mixloop 6 2000 1 bench_live_r $tmp/r.log");
	my $plain = IPC::Run::start([ $ENV{RR_FRESH_TOOL}, 'plainwrite', "$tmp/p.log", 2000, 6,
		'bench_live_p', 'host=127.0.0.1 port=' . $pp . ' dbname=postgres' ]);
	usleep(2_000_000);
	$primary->restart(fast => 1);
	$dr->line;
	$plain->finish;
	my @r = grep { $_->[0] =~ /^(ok|fail)$/ } mix_log("$tmp/r.log");
	my @p = map { [ split ' ' ] } do { open(my $fh, '<', "$tmp/p.log") or die; <$fh> };
	figure('live_restart_replroute_failed_writes', scalar grep { $_->[0] eq 'fail' } @r);
	figure('live_restart_libpq_failed_writes', scalar grep { $_->[1] eq 'fail' } @p);
	figure('live_restart_replroute_gap_s', sprintf('%.3f', write_gap(map { [ $_->[2], $_->[0] eq 'ok' ] } @r)));
	figure('live_restart_libpq_gap_s', sprintf('%.3f', write_gap(map { [ $_->[0], $_->[1] eq 'ok' ] } @p)));
	$dr->finish;
	return;
}

# ---------------------------------------------------------------------------
# 13. health cost by thread count: 1, 8 and 32 threads reading through one
#     shared monitor (RRmonitor), beside the same threads with an RRconnect
#     handle each, in alternating blocks (rr_bench monitor)

sub bench_monitor
{
	my ($ci) = @_;
	my $rounds = n(3, 1);
	progress("13. health cost: 1, 8, 32 reading threads, one monitor vs a handle each, "
		  . "$rounds rounds of 3 s blocks");
	# the framework names connections after the script (PGAPPNAME); the
	# library's must carry its own name, which the health backend count looks for
	local $ENV{PGAPPNAME};
	delete $ENV{PGAPPNAME};
	driver('monitor', 3, $rounds, $ci, 1, 8, 32);
	return;
}

# ---------------------------------------------------------------------------
# main

my $rc = eval {
	my $pgpool = find_pgpool();
	my $pgver = `postgres --version`;
	chomp $pgver;
	my $cpu = `lscpu 2>/dev/null` =~ /^Model name:\s*(.*)$/m ? $1 : 'unknown CPU';
	my $ncpu = `nproc 2>/dev/null`;
	chomp $ncpu;
	print $OUT "# replroute bench: $ncpu CPU ($cpu), $pgver, "
	  . ($pgpool ? 'Pgpool-II ' . pgpool_version($pgpool) : 'no Pgpool-II') . "\n";
	if (!$pgpool && ($ENV{PGPOOL} // '') eq 'none')
	{
		progress('NOTICE: PGPOOL=none: the Pgpool-II figures (3 and the Pgpool-II part of 4) are skipped.');
	}
	elsif (!$pgpool)
	{
		progress('NOTICE: Pgpool-II is not installed (Debian package pgpool2): '
			  . 'the Pgpool-II figures (3 and the Pgpool-II part of 4) are skipped. '
			  . 'Run "make bench" as root to have it installed.');
	}

	# A benchmark configuration: the framework logs every statement and
	# gives 1MB of shared_buffers, fine for tests, not for timing.
	my $conf = "log_statement = none\nlog_replication_commands = off\n"
	  . "shared_buffers = 32MB\nmax_connections = 100\n";
	progress('starting a primary and two standbys on 127.0.0.1');
	my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(primary_conf => $conf);
	$primary->safe_psql('postgres',
		'CREATE TABLE bench_kv (k int PRIMARY KEY, v bigint NOT NULL);'
		  . 'INSERT INTO bench_kv VALUES (1, 0), (2, 0);'
		  . 'CREATE TABLE bench_w (id bigserial, payload text);');
	$primary->wait_for_catchup($_) for ($s1, $s2);
	my $ci3 = tcp_ci($primary, $s1, $s2);
	my $s1_ci = "host=127.0.0.1 port=" . $s1->port . " dbname=postgres";

	# 1
	bench_health($s1) if section(1);

	# 2, 3
	my $pool_port = ($pgpool && (section(3) || section(4))) ?
	  start_pgpool($pgpool, $primary, $s1, $s2) : undef;
	my $pool_ci = $pool_port ? "host=127.0.0.1 port=$pool_port dbname=postgres" : '-';
	if (section(2) || section(3))
	{
		progress('2. routing overhead' . ($pgpool ? ' and 3. Pgpool-II' : '')
			  . ': SELECT 1 loops, blocks of 400 queries, ' . n(50, 5) . ' rounds');
		driver('latency', n(50, 5), 400, $s1_ci,
			"host=127.0.0.1 port=" . $s2->port . " dbname=postgres",
			$ci3, tcp_ci($primary, $s1), '', $pool_ci);
	}

	# 6: two more standbys for the scaling figure, stopped right after
	if (section(6))
	{
		progress('6. refresh scaling: adding standby3 and standby4');
		$primary->backup('bench_base');
		my @more;
		for my $i (3, 4)
		{
			my $s = PostgreSQL::Test::Cluster->new("standby$i");
			$s->init_from_backup($primary, 'bench_base', has_streaming => 1);
			$s->start;
			push @more, $s;
		}
		$primary->wait_for_catchup($_) for @more;
		# on loopback, then through a proxy that adds 0.5 ms each way
		driver('refresh', n(20, 4), 80, 500,
			map { $_->port } $primary, $s1, $s2, @more);
		$_->stop for @more;
	}

	# 5
	if (section(5))
	{
		progress('5. dead node: a host that accepts TCP and never answers, first in the list');
		driver('deadnode', n(5, 2), 2, '127.0.0.1,127.0.0.1,127.0.0.1',
			join(',', map { $_->port } $primary, $s1, $s2));
	}

	# 7
	if (section(7))
	{
		progress('7. session consistency: write then read, consistency=session vs none');
		driver('session', n(20, 4), 100, $ci3, 1, 2);
	}

	# 4: with writes running on the primary
	if (section(4))
	{
		progress("4. detection: pgbench -R 50 on the primary, ~9 kB of WAL per transaction; "
			  . "pause/resume replay on standby1; byte threshold $lag_bytes for both routers");
		my $wdir = PostgreSQL::Test::Utils::tempdir('writes');
		PostgreSQL::Test::Utils::append_to_file("$wdir/w.sql",
			"INSERT INTO bench_w (payload) SELECT repeat('x', 1000) FROM generate_series(1, 8);\n");
		my $lsn0 = $primary->lsn('insert');
		my $t0 = time;
		my $writer = IPC::Run::start(
			[ 'pgbench', '-n', '-c', '1', '-R', '50', '-T', '600', '-f', "$wdir/w.sql",
			  '-h', '127.0.0.1', '-p', $primary->port, 'postgres' ],
			'<', \undef, '>', \my $wout, '2>', \my $werr);
		my $detect_ok = eval {
			driver('detect', n(5, 2), $s1_ci, $s1->port, $ci3, $pool_ci,
				'replroute', "max_lag_bytes=${lag_bytes}B",
				'replroute_defaults', '');
			1;
		};
		my $detect_err = $@;
		$writer->kill_kill(grace => 1);
		if ($detect_ok)
		{
			my $lsn1 = $primary->lsn('insert');
			my $bytes = $primary->safe_psql('postgres', "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')");
			figure('detect_wal_rate_kb_per_s', sprintf('%.0f', $bytes / 1024 / (time - $t0)));
			figure('detect_threshold_bytes', $lag_bytes);
		}
		die $detect_err unless $detect_ok;
	}
	stop_pgpool() if $pool_port;

	# 8
	if (section(8))
	{
		my $reads = n(1_000_000, 10_000);
		progress("8. memory: $reads routed reads in one process");
		driver('memory', $reads, $ci3, '');
	}

	# 9, 10, 11
	bench_freshness($primary, $s1, $s2) if section(9);
	bench_slow($primary, $s1, $s2) if section(10);
	bench_liveness($primary, $s1, $s2) if section(11);

	# 13 (before 12, which has a cluster of its own)
	bench_monitor($ci3) if section(13);

	# 12: the Python package's Django router, on a cluster of its own
	# (its failover figure promotes a standby)
	if (section(12))
	{
		require "$here/PythonBench.pm";
		PythonBench::run(figure => \&figure, progress => \&progress, conf => $conf);
	}

	summary($pgpool ? 1 : 0);
	progress(sprintf('done in %.0f s', time - $started));
	0;
};
unless (defined $rc)
{
	print $ERR "bench: error: $@";
	$rc = 1;
}
exit $rc;

# ---------------------------------------------------------------------------
# summary table

sub summary
{
	my ($have_pool) = @_;
	my @rows;
	my $f = sub { my $v = $fig{ $_[0] }; defined $v ? $v : 'n/a' };
	my $pool = sub { $have_pool ? $f->(@_) : 'skipped' };
	my $mm = sub { $f->("$_[0]_median_ms") . ' / ' . $f->("$_[0]_max_ms") };
	my $pmm = sub { $have_pool ? $mm->(@_) : 'skipped' };

	push @rows, [ '1 health call, pgbench TPS on a standby',
		$f->('health_node_status_tps'),
		'SELECT 1: ' . $f->('health_select1_tps'),
		$f->('health_ratio_node_status_vs_select1') ];
	push @rows, [ '  the client\'s probe (probe(), 1.1)',
		$f->('health_probe_tps'),
		'SELECT 1: ' . $f->('health_select1_tps'),
		$f->('health_ratio_probe_vs_select1') . ' (target 0.95)' ];
	push @rows, [ '',
		'',
		'core functions: ' . $f->('health_core_equivalent_tps'),
		$f->('health_ratio_node_status_vs_core_equivalent') ];
	push @rows, [ '2 read latency, median us',
		$f->('latency_replroute_median_us'),
		'libpq, one standby: ' . $f->('latency_direct_median_us'),
		$f->('latency_ratio_replroute_vs_direct') . ' (target 1.05)' ];
	push @rows, [ '  same spread (two standbys in turn)',
		$f->('latency_replroute_median_us'),
		'libpq, alternating: ' . $f->('latency_direct_alternating_median_us'),
		$f->('latency_ratio_replroute_vs_direct_alternating') ];
	push @rows, [ '  library alone (one standby listed)',
		$f->('latency_replroute_one_standby_median_us'),
		'libpq, one standby: ' . $f->('latency_direct_median_us'),
		$f->('latency_ratio_replroute_one_standby_vs_direct') ];
	push @rows, [ '3 read latency, median us',
		$f->('latency_replroute_median_us'),
		'Pgpool-II: ' . $pool->('latency_pgpool_median_us'),
		'pgpool/rr ' . $pool->('latency_ratio_pgpool_vs_replroute') ];
	push @rows, [ '4 paused standby dropped, med / max ms',
		$mm->('detect_replroute_out'),
		'Pgpool-II: ' . $pmm->('detect_pgpool_out'), '' ];
	push @rows, [ '  (replroute all defaults: 1 s limit)',
		$mm->('detect_replroute_defaults_out'), '', '' ];
	push @rows, [ '  resumed standby back, med / max ms',
		$mm->('detect_replroute_back'),
		'Pgpool-II: ' . $pmm->('detect_pgpool_back'), '' ];
	push @rows, [ '5 first read, silent host first, ms',
		$f->('deadnode_replroute_median_ms'),
		'libpq prefer-standby: ' . $f->('deadnode_libpq_prefer_standby_median_ms'),
		'libpq/rr ' . $f->('deadnode_ratio_libpq_prefer_standby_vs_replroute') ];
	push @rows, [ '',
		'',
		'libpq any: ' . $f->('deadnode_libpq_any_median_ms'),
		'libpq/rr ' . $f->('deadnode_ratio_libpq_any_vs_replroute') ];
	push @rows, [ '  first read, healthy 3-node list, ms',
		$f->('deadnode_healthy_replroute_median_ms'),
		'libpq prefer-standby: ' . $f->('deadnode_healthy_libpq_prefer_standby_median_ms'),
		'libpq/rr ' . $f->('deadnode_healthy_ratio_libpq_prefer_standby_vs_replroute') . ' (target >= 1)' ];
	push @rows, [ '6 refresh 1/2/4 standbys, loopback, us',
		join(' / ', map { $f->("refresh_${_}_median_us") } qw(1_standby 2_standbys 4_standbys)),
		'one by one (4): ' . $f->('refresh_sequential_4_standbys_median_us'),
		'4 vs 1: ' . $f->('refresh_ratio_4_vs_1') ];
	push @rows, [ '  the same at ' . $f->('refresh_rtt_ms') . ' ms round trip, us',
		join(' / ', map { $f->("refresh_rtt_${_}_median_us") } qw(1_standby 2_standbys 4_standbys)),
		'one by one (4): ' . $f->('refresh_rtt_sequential_4_standbys_median_us'),
		'4 vs 1: ' . $f->('refresh_rtt_ratio_4_vs_1') ];
	push @rows, [ '7 read after write, med / p99 us',
		$f->('session_read_after_write_median_us') . ' / ' . $f->('session_read_after_write_p99_us'),
		'plain: ' . $f->('plain_read_after_write_median_us') . ' / ' . $f->('plain_read_after_write_p99_us'),
		$f->('session_ratio_read_median_session_vs_plain') . ' / p99 '
		  . $f->('session_ratio_read_p99_session_vs_plain') . ' (target 2)' ];
	push @rows, [ '  stale reads / on standbys',
		$f->('session_stale_reads') . ' / ' . $f->('session_standby_share'),
		'plain: ' . $f->('plain_stale_reads') . ' / ' . $f->('plain_standby_share'),
		'of ' . $f->('session_pairs_per_contender') ];
	push @rows, [ '8 peak RSS start / end, kB',
		$f->('memory_peak_rss_start_kb') . ' / ' . $f->('memory_peak_rss_end_kb'),
		$f->('memory_reads') . ' routed reads',
		'+' . $f->('memory_peak_rss_growth_kb') . ' kB' ];

	push @rows, [ '10 reads on another node, 50 ms RTT', $f->('slow_rtt50_other_node_median_us') . ' us',
		'no slow node: ' . $f->('slow_rtt50_baseline_median_us') . ' us',
		'+' . $f->('slow_rtt50_other_node_slowdown_ms') . ' ms (target 1)' ];
	push @rows, [ '  standby answering in 150 ms: reads',
		$f->('slow_answer150_reads_on_slow_standby_share') . ' of all', 'version 1: 0 of 40', '' ];
	push @rows, [ '11 standby frozen ' . $f->('live_frozen_standby_secs') . ' s: worst read',
		$f->('live_frozen_standby_worst_read_s') . ' s, ' . $f->('live_frozen_standby_failed_reads') . ' failed',
		'other handle: ' . $f->('live_frozen_standby_other_handle_worst_read_ms') . ' ms',
		'target 2.6 s' ];
	push @rows, [ '  primary frozen: worst write',
		$f->('live_frozen_primary_worst_write_s') . ' s',
		$f->('live_frozen_primary_outcome_unknown_errors') . ' "outcome unknown"',
		$f->('live_frozen_primary_acked_missing') . ' acked missing' ];
	push @rows, [ '  silent partition: worst read',
		$f->('live_partition_worst_read_s') . ' s, ' . $f->('live_partition_failed_reads') . ' failed',
		'', 'target 2.6 s' ];
	push @rows, [ '  terminated primary backend',
		$f->('live_terminated_failed_writes') . ' failed write',
		'then ' . $f->('live_terminated_next_writes_ok') . ' of 50 ok', '' ];
	push @rows, [ '  fast restart: failed writes / gap s',
		$f->('live_restart_replroute_failed_writes') . ' / ' . $f->('live_restart_replroute_gap_s'),
		'libpq: ' . $f->('live_restart_libpq_failed_writes') . ' / ' . $f->('live_restart_libpq_gap_s'), '' ];
	push @rows, [ '12 Django db_for_read, black hole, med / max ms',
		$f->('django_blackhole_db_for_read_median_ms') . ' / ' . $f->('django_blackhole_db_for_read_max_ms'),
		'targets: 1 / 50', '' ];
	push @rows, [ '  token reads on standbys; failover write ms',
		$f->('django_token_read_replica_share') . '; ' . $f->('django_failover_first_write_ms'),
		'targets: 0.9; 2000', '' ];
	my $per = sub { my ($who, $what) = @_; join(' / ', map { $f->("${who}_${_}_threads_$what") } 1, 8, 32) };
	push @rows, [ '13 health queries/s, 1 / 8 / 32 threads',
		$per->('monitor', 'health_queries_per_s') . ' (one monitor)',
		'a handle each: ' . $per->('plain', 'health_queries_per_s'),
		'32 vs 1: ' . $f->('monitor_health_queries_ratio_32_vs_1_threads') . ' vs '
		  . $f->('plain_health_queries_ratio_32_vs_1_threads') ];
	push @rows, [ '  health backends per node',
		$per->('monitor', 'health_backends_per_node'),
		'a handle each: ' . $per->('plain', 'health_backends_per_node'), '' ];
	push @rows, [ '  reads/s',
		$per->('monitor', 'reads_per_s'),
		'a handle each: ' . $per->('plain', 'reads_per_s'), '' ];

	my @head = ('figure', 'replroute', 'versus', 'ratio');
	my @w = map { length } @head;
	for my $r (@rows)
	{
		for my $i (0 .. 3)
		{
			$w[$i] = length $r->[$i] if length $r->[$i] > $w[$i];
		}
	}
	my $fmt = join(' | ', map { "%-${_}s" } @w) . "\n";
	print $OUT "\n";
	printf $OUT $fmt, @head;
	printf $OUT $fmt, map { '-' x $_ } @w;
	printf $OUT $fmt, @$_ for @rows;
	freshness_table($f);
	return;
}

# 9: one row per scenario: each figure's worst (figure - truth) below and
# above, in seconds; "excess" is above beyond max(0.2 s, the caller's
# interval); stale reads of the routers
sub freshness_table
{
	my ($f) = @_;
	my @figs = qw(ext lib10 lib500 naive pgdog);
	my @head = ('scenario (truth max s)', map({ "$_ below/above" } @figs),
		'lib10 excess', 'stale reads lib10/lib500/cli/haproxy');
	my @rows;
	for my $sc (qw(idle steady apply_delay paused conflict cutoff burst bigtxn primary_stopped))
	{
		next unless defined $fig{"fresh_${sc}_truth_max_s"};
		push @rows, [ "$sc (" . $f->("fresh_${sc}_truth_max_s") . ')',
			(map { $f->("fresh_${sc}_${_}_below_s") . ' / ' . $f->("fresh_${sc}_${_}_above_s") } @figs),
			$f->("fresh_${sc}_lib10_excess_s"),
			join('/', map { $f->("fresh_${sc}_${_}_stale") } qw(lib10 lib500 cli haproxy)) ];
	}
	return unless @rows;
	my @w = map { length } @head;
	for my $r (@rows)
	{
		$w[$_] = length $r->[$_] > $w[$_] ? length $r->[$_] : $w[$_] for 0 .. $#$r;
	}
	my $fmt = join(' | ', map { "%-${_}s" } @w) . "\n";
	print $OUT "\n9. freshness against the ground truth (seconds; ext_net: below net of delivery delay)\n";
	printf $OUT $fmt, @head;
	printf $OUT $fmt, map { '-' x $_ } @w;
	printf $OUT $fmt, @$_ for @rows;
	return;
}
