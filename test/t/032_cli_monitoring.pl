
# Copyright (c) 2026, The replroute Developers (see LICENSE)

# What an operator sees, on a cluster whose second standby has its replay
# paused while the primary writes:
#   - status fits 80 columns with 15-character IPv4 hosts and shows the
#     paused standby as paused;
#   - metrics is valid Prometheus text (promtool, and a parser of the
#     format), exactly as expected for that state, with the paused
#     standby's lag_seconds growing between two scrapes;
#   - check prints perfdata and exits 1 / 2 at the -w / -c thresholds;
#   - route --read --explain names the excluded standby and why;
#   - the library's event handler (through the C driver) reports the
#     standby's exclusion and its readmission after the resume, in order,
#     with the reason;
#   - the examples in examples/monitoring work: the textfile-collector
#     script (and node_exporter reading its file), the postgres_exporter
#     queries;
# then, after a failover, the old primary started again, still writable on
# timeline 1, makes check CRITICAL.

use strict;
use warnings;

use File::Temp;
use HTTP::Tiny;
use IPC::Run;
use JSON::PP qw(decode_json);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use ReplrouteTest;

my $cli = "$ENV{TESTDIR}/client/replroute";
plan skip_all => "$cli is not built" unless -x $cli;
my $examples = "$ENV{TESTDIR}/examples/monitoring";

# Runs the CLI; returns (exit code, stdout, stderr).
sub cli
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $cli, @args ], '<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

# The exit code of $code->() once it is $want, polling; undef on timeout.
sub poll_exit
{
	my ($want, @args) = @_;
	my @r;
	ReplrouteTest::poll_until(30, sub { @r = cli(@args); $r[0] == $want });
	return @r;
}

#
# A parser of the Prometheus text exposition format (version 0.0.4), so
# the check does not depend on promtool alone: returns (samples, errors).
#
sub parse_exposition
{
	my ($text) = @_;
	my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
	my $label = qr/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"/;
	my $value = qr/[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN/;
	my (%type, %help, %closed, @samples, @errors);
	my $family = '';
	push @errors, 'does not end with a newline' unless $text =~ /\n\z/;
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^# (HELP|TYPE) ($name) (.*)$/)
		{
			my ($what, $n, $rest) = ($1, $2, $3);
			push @errors, "$what of $n after its samples" if $closed{$n} || $family eq $n;
			if ($what eq 'TYPE')
			{
				push @errors, "second TYPE for $n" if $type{$n}++;
				push @errors, "bad type $rest" unless $rest =~ /^(counter|gauge|histogram|summary|untyped)$/;
			}
			else
			{
				push @errors, "second HELP for $n" if $help{$n}++;
			}
		}
		elsif ($line =~ /^#/ || $line eq '')
		{
			push @errors, 'empty line' if $line eq '';
		}
		elsif ($line =~ /^($name)(?:\{((?:$label)(?:,$label)*)?\})? ($value)(?: -?\d+)?$/)
		{
			my ($n, $labels, $v) = ($1, $2 // '', $3);
			push @errors, "$n has no TYPE" unless $type{$n};
			push @errors, "samples of $n are not together" if $closed{$n};
			$closed{$family} = 1 if $family ne $n && $family ne '';
			$family = $n;
			my %l;
			while ($labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)
			{
				push @errors, "$n: label $1 twice" if exists $l{$1};
				$l{$1} = $2;
			}
			push @samples, { name => $n, labels => \%l, value => $v };
		}
		else
		{
			push @errors, "not a valid line: $line";
		}
	}
	return (\@samples, \@errors);
}

# The value of the sample $name with these labels, or undef.
sub sample
{
	my ($samples, $name, %labels) = @_;
	for my $s (@$samples)
	{
		next unless $s->{name} eq $name;
		next if grep { ($s->{labels}{$_} // '') ne $labels{$_} } keys %labels;
		return $s->{value};
	}
	return undef;
}

my $have_promtool = system('sh', '-c', 'command -v promtool >/dev/null') == 0;

# promtool check metrics: (ok, output); ok is undef without promtool.
sub promtool
{
	my ($text) = @_;
	return (undef, 'promtool not installed') unless $have_promtool;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ 'promtool', 'check', 'metrics' ], '<', \$text,
		'>', \$out, '2>', \$err);
	return ($ok, $out . $err);
}

my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
my ($pp, $p1, $p2) = map { $_->port } ($primary, $s1, $s2);
my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
my $sysid = $primary->safe_psql('postgres',
	'SELECT system_identifier FROM pg_control_system()');
# 127.000.000.001 is 127.0.0.1: a 15-character IPv4 host, the widest
my $wide = '127.000.000.001';
my $ci_wide = "host=$wide,$wide,$wide port=$pp,$p1,$p2 dbname=postgres connect_timeout=5";

# a replayed commit on every standby, as any cluster in use has (without
# one, and without a health answer showing it caught up, a standby cannot
# bound its own lag once paused: lag_unknown, not replay_paused)
ReplrouteTest::write_some($primary, 10);
$primary->wait_for_catchup($_) for ($s1, $s2);

# the C driver with the event handler on, from before the pause
my $d = ReplrouteTest::driver($ci, '');
like($d->{connect}, qr/^connect ok/, 'driver connected');
is($d->cmd('events on'), 'ok', 'driver: event handler on');
is($d->cmd('refresh'), 'refresh 0', 'driver: refresh');
my @events = $d->lines('eventlog');
is(scalar(grep { /^event node_excluded 2 / } @events), 0, 'no exclusion before the pause');

#
# 1. Replay paused on standby2 while the primary writes
#
$s2->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$s2->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'")
  or die 'replay did not pause';
ReplrouteTest::write_some($primary, 300);
$primary->wait_for_catchup($s1);
my ($rc, $out, $err);
ok( defined ReplrouteTest::poll_until(30, sub {
		($rc, $out, $err) = cli('status', '--json', $ci);
		my $doc = eval { decode_json($out) } // {};
		($doc->{nodes}[2]{condition} // '') eq 'replay_paused' }),
	'the paused standby is excluded (replay_paused)')
  or diag(explain(ReplrouteTest::node_status($s2)), $out);
# the driver's handle sees it too, and its event handler says so
ok( defined ReplrouteTest::poll_until(30, sub {
		$d->cmd('refresh');
		push @events, $d->lines('eventlog');
		grep { /^event node_excluded 2 / } @events }),
	'driver: the paused standby is excluded')
  or diag(join("\n", $d->lines('status')));

#
# 2. status: 80 columns with the widest IPv4 hosts; the paused standby
#    shown as paused
#
($rc, $out, $err) = cli('status', $ci_wide);
is($rc, 0, 'status (wide hosts) exits 0');
note($out);
my @long = grep { length($_) > 80 } split /\n/, $out;
is(scalar @long, 0, 'status fits 80 columns with 15-character IPv4 hosts')
  or diag(join("\n", @long));
like($out, qr/\Acluster $sysid, primary \Q$wide\E:$pp, timeline 1\n/, 'status: the header line');
like($out, qr/^\Q$wide\E\s+$p2\s+replay_paused\s+standby\s+1\s+\S+\s+\d+(\.\d)? [kMG]?B\s+\d+\.\d\d$/m,
	'status: the paused standby is shown as replay_paused, with its lag');
like($out, qr/^  \Q$wide\E:$p2 replay_paused: lags .*replay is paused/ms,
	'status: the note says replay is paused');
# within generous limits it is fit, and the note still says it is paused
($rc, $out, $err) = cli('status', '-o', 'max_lag_seconds=3600s max_lag_bytes=1GB', $ci);
like($out, qr/^127\.0\.0\.1\s+$p2\s+ok\s+standby\s/m, 'status, generous limits: the paused standby is ok');
like($out, qr/^  127\.0\.0\.1:$p2 ok: replay is paused \(its lag is within the limits so far\)$/m,
	'status, generous limits: the note says it is paused');

#
# 3. metrics: valid text, the exact series for this state, lag growing
#
my ($m1, $m2);
($rc, $m1, $err) = cli('metrics', $ci);
is($rc, 0, 'metrics exits 0');
my ($samples, $errors) = parse_exposition($m1);
is_deeply($errors, [], 'metrics: valid text exposition format (parser)');
my ($pok, $pout) = promtool($m1);
SKIP:
{
	skip 'promtool not installed', 1 unless defined $pok;
	ok($pok, 'metrics: promtool check metrics passes') or diag($pout);
	is($pout, '', 'metrics: promtool has no lint remark');
}
# the exact exposition, with the measured figures (marked <num>) matched as numbers
my $expected = <<"EOT";
# HELP replroute_cluster_up Whether some node of the cluster answered (1) or none (0).
# TYPE replroute_cluster_up gauge
replroute_cluster_up 1
# HELP replroute_cluster_info The cluster's system identifier, as a label; always 1.
# TYPE replroute_cluster_info gauge
replroute_cluster_info{system_identifier="$sysid"} 1
# HELP replroute_cluster_timeline The cluster's timeline (the primary's).
# TYPE replroute_cluster_timeline gauge
replroute_cluster_timeline 1
# HELP replroute_cluster_primary_known Whether writes have a primary to go to (1) or not (0).
# TYPE replroute_cluster_primary_known gauge
replroute_cluster_primary_known 1
# HELP replroute_node_up Whether the node answered its health query (1) or not (0).
# TYPE replroute_node_up gauge
replroute_node_up{host="127.0.0.1",port="$pp"} 1
replroute_node_up{host="127.0.0.1",port="$p1"} 1
replroute_node_up{host="127.0.0.1",port="$p2"} 1
# HELP replroute_node_role The node's role as a label (primary, standby, promoting, unknown); always 1.
# TYPE replroute_node_role gauge
replroute_node_role{host="127.0.0.1",port="$pp",role="primary"} 1
replroute_node_role{host="127.0.0.1",port="$p1",role="standby"} 1
replroute_node_role{host="127.0.0.1",port="$p2",role="standby"} 1
# HELP replroute_node_reason Why the node is or is not used, as a label (ok, down, replay_paused, ...); always 1.
# TYPE replroute_node_reason gauge
replroute_node_reason{host="127.0.0.1",port="$pp",reason="ok"} 1
replroute_node_reason{host="127.0.0.1",port="$p1",reason="ok"} 1
replroute_node_reason{host="127.0.0.1",port="$p2",reason="replay_paused"} 1
# HELP replroute_node_routable Whether reads may go to the node now (1) or not (0).
# TYPE replroute_node_routable gauge
replroute_node_routable{host="127.0.0.1",port="$pp"} 1
replroute_node_routable{host="127.0.0.1",port="$p1"} 1
replroute_node_routable{host="127.0.0.1",port="$p2"} 0
# HELP replroute_node_timeline The node's timeline.
# TYPE replroute_node_timeline gauge
replroute_node_timeline{host="127.0.0.1",port="$pp"} 1
replroute_node_timeline{host="127.0.0.1",port="$p1"} 1
replroute_node_timeline{host="127.0.0.1",port="$p2"} 1
# HELP replroute_node_lag_bytes WAL the node has not replayed yet, in bytes, against the primary.
# TYPE replroute_node_lag_bytes gauge
replroute_node_lag_bytes{host="127.0.0.1",port="$pp"} 0
replroute_node_lag_bytes{host="127.0.0.1",port="$p1"} <num>
replroute_node_lag_bytes{host="127.0.0.1",port="$p2"} <num>
# HELP replroute_node_lag_seconds An upper bound on how long the node has been missing WAL the primary had, in seconds.
# TYPE replroute_node_lag_seconds gauge
replroute_node_lag_seconds{host="127.0.0.1",port="$pp"} 0.000
replroute_node_lag_seconds{host="127.0.0.1",port="$p1"} <num>
replroute_node_lag_seconds{host="127.0.0.1",port="$p2"} <num>
# HELP replroute_node_replay_paused Whether the standby's replay is paused (1) or not (0).
# TYPE replroute_node_replay_paused gauge
replroute_node_replay_paused{host="127.0.0.1",port="$p1"} 0
replroute_node_replay_paused{host="127.0.0.1",port="$p2"} 1
# HELP replroute_node_streaming Whether the standby's WAL receiver is streaming (1) or not (0).
# TYPE replroute_node_streaming gauge
replroute_node_streaming{host="127.0.0.1",port="$p1"} 1
replroute_node_streaming{host="127.0.0.1",port="$p2"} 1
# HELP replroute_slots_readable Whether the primary's replication slots could be read (1) or not (0).
# TYPE replroute_slots_readable gauge
replroute_slots_readable 1
# HELP replroute_slot_active Whether the replication slot is in use (1) or not (0).
# TYPE replroute_slot_active gauge
replroute_slot_active{slot_name="regress_replroute_s1"} 1
# HELP replroute_slot_retained_bytes WAL the replication slot holds back, in bytes.
# TYPE replroute_slot_retained_bytes gauge
replroute_slot_retained_bytes{slot_name="regress_replroute_s1"} <num>
EOT
my $pattern = join('\d+(?:\.\d+)?', map { quotemeta } split /<num>/, $expected, -1);
like($m1, qr/\A$pattern\z/, 'metrics: exactly the expected exposition for this state')
  or diag("got:\n$m1");
cmp_ok(sample($samples, 'replroute_node_lag_bytes', port => $p2), '>', 1024,
	'metrics: the paused standby lags more than 1 kB');
my $lag1 = sample($samples, 'replroute_node_lag_seconds', port => $p2);
usleep(1_100_000);
($rc, $m2, $err) = cli('metrics', $ci);
my ($samples2) = parse_exposition($m2);
my $lag2 = sample($samples2, 'replroute_node_lag_seconds', port => $p2);
cmp_ok($lag2, '>', $lag1 + 0.5,
	"metrics: the paused standby's replroute_node_lag_seconds grows between scrapes ($lag1 -> $lag2)");

#
# 4. check: perfdata; exit 1 / 2 at the -w / -c lag thresholds
#
($rc, $out, $err) = poll_exit(1, 'check', '-w', 'lag=1s', '-c', 'lag=1h', $ci);
is($rc, 1, 'check -w lag=1s -c lag=1h: WARNING (1)');
like($out, qr/^REPLROUTE WARNING - standby 127\.0\.0\.1:$p2 replay_paused: lags [\d.]+ s behind, over the warning threshold lag=1s; primary 127\.0\.0\.1:$pp, 1 standby routable \| /,
	'check: the line names the standby, its reason and the threshold');
like($out, qr/ '127\.0\.0\.1:$p2 lag_seconds'=[\d.]+s;1;3600;0 '127\.0\.0\.1:$p2 lag_bytes'=\d+B;;;0 /,
	'check: perfdata with the thresholds');
($rc, $out, $err) = poll_exit(2, 'check', '-w', '1s', '-c', '2s', $ci);
is($rc, 2, 'check -w 1s -c 2s: CRITICAL (2) once the lag passes 2 s');
like($out, qr/^REPLROUTE CRITICAL - standby 127\.0\.0\.1:$p2 replay_paused: lags [\d.]+ s behind, over the critical threshold lag=2s/,
	'check: names the critical threshold');
($rc, $out, $err) = cli('check', '-w', 'bytes=1kB', '-c', 'bytes=1GB', $ci);
is($rc, 1, 'check -w bytes=1kB: WARNING (1)');
like($out, qr/over the warning threshold bytes=1\.0 kB/, 'check: names the bytes threshold');
like($out, qr/'127\.0\.0\.1:$p2 lag_bytes'=\d+B;1024;1073741824;0/, 'check: bytes perfdata with thresholds');
($rc, $out, $err) = cli('check', '-w', '1kB', '-c', '2kB', $ci);
is($rc, 2, 'check -c 2kB: CRITICAL (2)');
($rc, $out, $err) = cli('check', '-w', 'lag=1h', '-c', 'lag=2h', '-w', 'bytes=1GB', '-c', 'bytes=2GB', $ci);
is($rc, 0, 'check with thresholds above the lag: OK (0), the thresholds decide');
like($out, qr/^REPLROUTE OK - primary 127\.0\.0\.1:$pp, 1 standby routable \| /, 'check: OK line');
# slot retention: an inactive slot that reserves WAL
$primary->safe_psql('postgres',
	"SELECT pg_create_physical_replication_slot('regress_replroute_cli', true)");
ReplrouteTest::write_some($primary, 100);
($rc, $out, $err) = cli('check', '-w', 'lag=1h', '-c', 'lag=2h', '-c', 'retained=1kB', $ci);
is($rc, 2, 'check -c retained=1kB: CRITICAL (2)');
like($out, qr/slot regress_replroute_cli retains [\d.]+ [kMG]?B of WAL, over the critical threshold retained=1\.0 kB/,
	'check: names the slot and the threshold');
like($out, qr/slot regress_replroute_cli inactive/, 'check: and that it is inactive');
like($out, qr/ 'regress_replroute_cli retained_bytes'=\d+B;;1024;0/, 'check: retained perfdata');
$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('regress_replroute_cli')");

#
# 5. route --read --explain: names the excluded standby and why
#
($rc, $out, $err) = cli('route', '--read', '--explain', $ci);
is($rc, 0, 'route --read --explain exits 0');
like($out, qr/\Ahost=127\.0\.0\.1 port=$p1\nread: one node chosen\n/, 'explain: the chosen node first');
like($out, qr/^  127\.0\.0\.1:$pp \(primary\) fit, not chosen: the primary takes reads only when/m,
	'explain: the primary is the fallback');
like($out, qr/^  127\.0\.0\.1:$p1 \(standby\) chosen: fit for reads \(policy round_robin\)$/m,
	'explain: the chosen standby');
like($out, qr/^  127\.0\.0\.1:$p2 \(standby\) excluded, replay_paused: lags .*replay is paused$/ms,
	'explain: the excluded standby, its reason and the message');
($rc, $out, $err) = cli('route', '--read', '--explain', '-o', 'max_lag_seconds=3600s max_lag_bytes=1GB policy=least_lag', $ci);
like($out, qr/^  127\.0\.0\.1:$p2 \(standby\) (chosen|fit, not chosen: the policy \(least_lag\) chose\s+another fit standby)/m,
	'explain, generous limits: the paused standby is fit');
($rc, $out, $err) = cli('route', '--read', '--explain', '-o', 'fallback=error',
	ReplrouteTest::conninfo($primary, $s2));
is($rc, 1, 'route --read --explain, no node fit: exits 1');
like($err, qr/^replroute: error: no node fit for reads/, 'explain, no node fit: the error');
like($out, qr/^read: no node can serve$/m, 'explain, no node fit: says so');
like($out, qr/^  127\.0\.0\.1:$pp \(primary\) not chosen: the primary takes no reads\s+\(fallback=error\)$/m,
	'explain, no node fit: the primary takes no reads');
($rc, $out, $err) = cli('route', '--write', '--explain', $ci);
like($out, qr/\Ahost=127\.0\.0\.1 port=$pp\nwrite: one node chosen\n  127\.0\.0\.1:$pp \(primary\) chosen: the primary\n/,
	'explain --write: the primary');

#
# 6. the examples: the textfile-collector script, node_exporter reading
#    its file, and postgres_exporter with the queries file
#
my $textdir = PostgreSQL::Test::Utils::tempdir;
{
	local $ENV{REPLROUTE} = $cli;
	($rc, $out, $err) = ('', '', '');
	IPC::Run::run([ "$examples/replroute-textfile.sh", $textdir, $ci ],
		'<', \undef, '>', \$out, '2>', \$err);
	is($? >> 8, 0, 'textfile script exits 0') or diag($err);
	my $prom = PostgreSQL::Test::Utils::slurp_file("$textdir/replroute.prom");
	my (undef, $errs) = parse_exposition($prom);
	is_deeply($errs, [], 'textfile script: the .prom file is valid');
	like($prom, qr/^replroute_node_up\{host="127\.0\.0\.1",port="$p2"\} 1$/m, 'textfile script: the metrics');
	is(scalar(() = glob("$textdir/.replroute*")), 0, 'textfile script: no temporary file left');
	# a failing run leaves the last good file alone
	local $ENV{REPLROUTE} = '/bin/false';
	IPC::Run::run([ "$examples/replroute-textfile.sh", $textdir, $ci ],
		'<', \undef, '>', \$out, '2>', \$err);
	isnt($? >> 8, 0, 'textfile script: a failing replroute fails the script');
	is(PostgreSQL::Test::Utils::slurp_file("$textdir/replroute.prom"), $prom,
		'textfile script: and leaves the last good file');
	is(scalar(() = glob("$textdir/.replroute*")), 0, 'textfile script: no temporary file left');
}

# GET http://127.0.0.1:$port/metrics until it answers; the body, or undef.
sub scrape
{
	my ($port) = @_;
	my $body;
	ReplrouteTest::poll_until(30, sub {
		my $r = HTTP::Tiny->new(timeout => 5)->get("http://127.0.0.1:$port/metrics");
		$body = $r->{content} if $r->{success};
		return $r->{success};
	});
	return $body;
}

SKIP:
{
	my $bin = '/usr/bin/prometheus-node-exporter';
	skip 'prometheus-node-exporter not installed', 3 unless -x $bin;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my ($o, $e) = ('', '');
	my $h = IPC::Run::start([ $bin, "--web.listen-address=127.0.0.1:$port",
		'--collector.disable-defaults', '--collector.textfile',
		"--collector.textfile.directory=$textdir" ], '<', \undef, '>', \$o, '2>', \$e);
	my $body = scrape($port) // '';
	$h->kill_kill;
	like($body, qr/^replroute_node_up\{host="127\.0\.0\.1",port="$pp"\} 1$/m,
		'node_exporter serves the metrics of the textfile');
	like($body, qr/^replroute_node_reason\{host="127\.0\.0\.1",port="$p2",reason="replay_paused"\} 1$/m,
		'node_exporter: the reason of the paused standby');
	like($body, qr/^node_textfile_scrape_error 0$/m, 'node_exporter: no textfile error')
	  or diag($e);
}

# postgres_exporter with the queries file against one node: its /metrics
# page and its stderr.  (One exporter per node: the multi-target form of
# DATA_SOURCE_NAME is broken in 0.11.)
sub postgres_exporter
{
	my ($bin, $node) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my ($o, $e) = ('', '');
	local $ENV{DATA_SOURCE_NAME} = 'postgresql://' . (getpwuid($<))[0]
	  . '@127.0.0.1:' . $node->port . '/postgres?sslmode=disable';
	my $h = IPC::Run::start([ $bin, "--web.listen-address=127.0.0.1:$port",
		"--extend.query-path=$examples/queries.yaml", '--disable-default-metrics',
		'--disable-settings-metrics' ], '<', \undef, '>', \$o, '2>', \$e);
	my $body = scrape($port) // '';
	$h->kill_kill;
	return ($body, $e);
}

SKIP:
{
	my $bin = '/usr/bin/prometheus-postgres-exporter';
	skip 'prometheus-postgres-exporter not installed', 8 unless -x $bin;
	my ($body, $e) = postgres_exporter($bin, $primary);
	like($body, qr/^pg_exporter_user_queries_load_error\{[^}]*\} 0$/m,
		'postgres_exporter loads queries.yaml') or diag($e);
	like($body, qr/^pg_exporter_last_scrape_error 0$/m, 'postgres_exporter: the queries run without error')
	  or diag($e);
	like($body, qr/^pg_replroute_node_status_lag_bytes\{role="primary",server="127\.0\.0\.1:$pp",system_identifier="$sysid"\} 0$/m,
		'postgres_exporter: node_status() of the primary');
	like($body, qr/^pg_replroute_slots_retained_bytes\{database="",server="127\.0\.0\.1:$pp",slot_name="regress_replroute_s1",slot_type="physical",wal_status="reserved"\} \S+$/m,
		'postgres_exporter: slots() of the primary');
	my ($pe_ok, $pe_out) = promtool($body);
	ok($pe_ok // 1, 'postgres_exporter: its output passes promtool') or diag($pe_out);
	($body, $e) = postgres_exporter($bin, $s2);
	like($body, qr/^pg_exporter_last_scrape_error 0$/m, 'postgres_exporter on the standby: no error')
	  or diag($e);
	like($body, qr/^pg_replroute_node_status_replay_paused\{role="standby",server="127\.0\.0\.1:$p2",system_identifier="$sysid"\} 1$/m,
		'postgres_exporter: the paused standby');
	like($body, qr/^pg_replroute_node_status_lag_seconds\{role="standby",server="127\.0\.0\.1:$p2",system_identifier="$sysid"\} \S+$/m,
		'postgres_exporter: its lag_seconds');
}

#
# 7. the event handler: exclusion during the pause, readmission after it,
#    in order, with the reason
#
ReplrouteTest::resume_replay($s2);
$primary->wait_for_catchup($s2);
ok( defined ReplrouteTest::poll_until(30, sub {
		$d->cmd('refresh');
		push @events, $d->lines('eventlog');
		grep { /^event node_readmitted 2 / } @events }),
	'driver: the standby is readmitted after the resume');
my @s2 = grep { /^event node_(excluded|readmitted) 2 / } @events;
note(join("\n", @events));
like($s2[0] // '', qr/^event node_excluded 2 $p2 replay_paused 1 lags .*replay is paused$/,
	'event: first the exclusion, with the reason replay_paused and the message');
like($s2[-1] // '', qr/^event node_readmitted 2 $p2 ok 1 $/, 'event: then the readmission, reason ok');
is(scalar @s2, 2, 'event: one exclusion and one readmission, nothing else for that standby');
is($d->finish, 0, 'driver exits cleanly (no leak after RRfinish)');
unlike($d->stderr, qr/AddressSanitizer|LeakSanitizer|runtime error/, 'driver: no sanitizer report');

#
# 8. an old primary back up, writable on timeline 1, after a failover:
#    CRITICAL
#
$primary->stop('fast');
$s1->promote;
$s1->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'no promotion';
$primary->start;
ok( defined ReplrouteTest::poll_until(30, sub {
		($rc, $out, $err) = cli('check', $ci);
		$out =~ /old_primary/ }),
	'check sees the old primary');
is($rc, 2, 'check: a writable node on a lower timeline is CRITICAL (2)');
like($out, qr/^REPLROUTE CRITICAL - node 127\.0\.0\.1:$pp old_primary: claims to be primary on timeline 1, but timeline 2 exists/,
	'check: names the old primary');
like($out, qr/primary 127\.0\.0\.1:$p1, \d standbys? routable \| /, 'check: the new primary');
($rc, $out, $err) = cli('status', $ci);
like($out, qr/\Acluster $sysid, primary 127\.0\.0\.1:$p1, timeline 2\n/, 'status: the new primary and timeline');
like($out, qr/^127\.0\.0\.1\s+$pp\s+old_primary\s+primary\s+1\s/m, 'status: the old primary');
($rc, $out, $err) = cli('metrics', $ci);
like($out, qr/^replroute_node_reason\{host="127\.0\.0\.1",port="$pp",reason="old_primary"\} 1$/m,
	'metrics: the old primary');
like($out, qr/^replroute_cluster_timeline 2$/m, 'metrics: timeline 2');

done_testing();
