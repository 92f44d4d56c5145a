
# Copyright: see README.md

=pod

=head1 NAME

ReplrouteFresh - the ground truth of replication lag, and scenarios measured
against it (test/t/015_freshness.pl, make bench)

=head1 DESCRIPTION

All nodes of a test run on one machine, so they share one clock and the
true lag is known.  At time T a standby whose replay position is r is
missing the record that starts at r; the primary "had" it once its flushed
WAL reached that record's end E(r).  So the truth is T minus the first
moment the primary's flush position was at or past E(r), or 0 if that has
not happened by T.  The primary's flush position is sampled every few
milliseconds (test/fresh sample) with its clock, so the truth is known
between two bounds: low uses the first sample at or past E(r), high the one
before it.  E(r) comes from pg_walinspect on the primary, after the fact.
Record granularity matters: a standby that has received the head of a
record whose tail the primary has not flushed yet lacks nothing complete.

Every scenario runs the same measurements at once, for the standby under
test: the extension's figure (node_status() every 50 ms, with the naive
formula and PgDog's beside it), the library's figure and its routed reads
at application cadences of 10 ms and 500 ms, one-shot CLI reads, and a
router built on is_routable().

=cut

package ReplrouteFresh;

use strict;
use warnings;

use IPC::Run;
use List::Util qw(max min);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use ReplrouteTest;

# "X/Y" to a number (Perl's integers are 64 bits here)
sub lsn
{
	my ($text) = @_;
	return undef if !defined $text || $text eq '-' || $text eq '';
	my ($hi, $lo) = split m{/}, $text;
	return hex($hi) * 4294967296 + hex($lo);
}

=pod

=item prepare($primary)

Creates on the primary what the truth needs (pg_walinspect and a helper
that returns the end of the record at each of a list of positions).

=cut

sub prepare
{
	my ($primary) = @_;
	# the truth reads the primary's WAL after the fact: keep it
	$primary->safe_psql('postgres', "ALTER SYSTEM SET wal_keep_size = '4GB'");
	$primary->safe_psql('postgres', 'SELECT pg_reload_conf()');
	$primary->safe_psql('postgres', q{
		CREATE EXTENSION IF NOT EXISTS pg_walinspect;
		CREATE OR REPLACE FUNCTION regress_replroute_record_ends(lsns pg_lsn[])
		RETURNS TABLE (lsn pg_lsn, end_lsn pg_lsn) LANGUAGE plpgsql AS $$
		DECLARE l pg_lsn;
		BEGIN
			FOREACH l IN ARRAY lsns LOOP
				lsn := l;
				BEGIN
					SELECT r.end_lsn INTO end_lsn FROM pg_get_wal_record_info(l) r;
				EXCEPTION WHEN OTHERS THEN
					end_lsn := NULL;
				END;
				RETURN NEXT;
			END LOOP;
		END $$;
		CREATE TABLE IF NOT EXISTS regress_replroute_fresh (id bigserial, t timestamptz, pad text);
	});
	return;
}

=pod

=item Truth object

new($sample_file, $primary_name): reads the sampler's lines.
->ends($primary, @r): looks up E(r) for each replay position.
->bounds($t_us, $r): (low, high) seconds for a standby at replay r at T.
->replay($name, $t_us): the replay positions sampled just before and
just after T on node $name.

=cut

sub new
{
	my ($class, $file, $pname) = @_;
	my $self = bless { p => [], nodes => {}, end => {} }, $class;
	open(my $fh, '<', $file) or die "cannot read $file: $!";
	while (my $l = <$fh>)
	{
		my ($name, $t, $kind, $pos, $recv) = split ' ', $l;
		next unless defined $pos && $pos ne '-';
		if ($name eq $pname && $kind eq 'p')
		{
			my $v = lsn($pos);
			# the flush position only moves forward; keep it monotone
			push @{ $self->{p} }, [ $t, $v ]
			  if !@{ $self->{p} } || $v >= $self->{p}[-1][1];
		}
		elsif ($kind eq 's')
		{
			push @{ $self->{nodes}{$name} }, [ $t, lsn($pos), lsn($recv) ];
		}
	}
	close $fh;
	return $self;
}

sub ends
{
	my ($self, $primary, @r) = @_;
	my %todo = map { $_ => 1 } grep { defined && !exists $self->{end}{$_} } @r;
	my @list = sort { $a <=> $b } keys %todo;
	while (my @chunk = splice(@list, 0, 2000))
	{
		my $arr = join(',', map { sprintf('%X/%X', int($_ / 4294967296), $_ % 4294967296) } @chunk);
		my $out = $primary->safe_psql('postgres',
			"SELECT lsn, end_lsn FROM regress_replroute_record_ends('{$arr}'::pg_lsn[])");
		for my $row (split /\n/, $out)
		{
			my ($l, $e) = split /\|/, $row;
			$self->{end}{ lsn($l) } = ($e // '') eq '' ? undef : lsn($e);
		}
	}
	return;
}

# index of the first primary sample with position >= $e, or scalar(@p)
sub first_at_least
{
	my ($self, $e) = @_;
	my $p = $self->{p};
	my ($lo, $hi) = (0, scalar @$p);
	while ($lo < $hi)
	{
		my $mid = int(($lo + $hi) / 2);
		if ($p->[$mid][1] >= $e) { $hi = $mid; }
		else { $lo = $mid + 1; }
	}
	return $lo;
}

sub bounds
{
	my ($self, $t, $r) = @_;
	my $e = $self->{end}{$r};
	if (!defined $e)
	{
		# no record readable at r (the WAL is gone, or nothing follows yet):
		# byte granularity, which never understates the truth
		$self->{unknown_end}++;
		$e = $r + 1;
	}
	my $k = $self->first_at_least($e);
	my $p = $self->{p};
	return (0, 0) if $k >= @$p || $p->[$k][0] > $t;
	my $low = max(0, ($t - $p->[$k][0]) / 1e6);
	my $high = $k > 0 ? max(0, ($t - $p->[ $k - 1 ][0]) / 1e6) : $low;
	return ($low, $high);
}

# the received position sampled just after T on node $name (undef: none)
sub received
{
	my ($self, $name, $t) = @_;
	my $s = $self->{nodes}{$name} // [];
	for my $x (@$s)    # samples are in time order; few per scenario
	{
		return $x->[2] if $x->[0] >= $t;
	}
	return @$s ? $s->[-1][2] : undef;
}

# delivery delay at T: how long WAL beyond what node had received existed
sub delivery
{
	my ($self, $name, $t) = @_;
	my $recv = $self->received($name, $t);
	return 0 unless defined $recv;
	my $k = $self->first_at_least($recv + 1);
	my $p = $self->{p};
	return 0 if $k >= @$p || $p->[$k][0] > $t;
	return ($t - $p->[$k][0]) / 1e6;
}

sub replay
{
	my ($self, $name, $t) = @_;
	my $s = $self->{nodes}{$name} // [];
	my ($lo, $hi) = (0, scalar @$s);
	while ($lo < $hi)
	{
		my $mid = int(($lo + $hi) / 2);
		if ($s->[$mid][0] > $t) { $hi = $mid; }
		else { $lo = $mid + 1; }
	}
	my $before = $lo > 0 ? $s->[ $lo - 1 ][1] : undef;
	my $after = $lo < @$s ? $s->[$lo][1] : $before;
	return ($before, $after);
}

=pod

=item scenarios($env, %opts)

The scenarios, as [name, %args] for run_scenario: idle, steady,
apply_delay, paused, conflict, cutoff, burst, bigtxn, primary_stopped.
$env needs primary, standbys (the subject first), conninfo.  Options:
scale (multiplies every window and event time, default 1),
apply_delay_secs (that window, default 6 * scale).  Hooks run as the
scenario needs: settings on the subject, the conflicting query, stopping
and starting the primary (primary_stopped adds a "refuse" driver with
primary_lost=refuse, removed afterwards by the caller).

=cut

sub set_conf
{
	my ($node, $setting) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET $setting");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	return;
}

sub reset_conf
{
	my ($node, $name) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM RESET $name");
	$node->safe_psql('postgres', 'SELECT pg_reload_conf()');
	return;
}

sub scenarios
{
	my ($env, %opts) = @_;
	my $k = $opts{scale} // 1;
	my ($primary, $s1, @others) = ($env->{primary}, @{ $env->{standbys} });
	my $settle = sub { $primary->wait_for_catchup($_) for ($s1, @others); };
	my $conflict_psql;

	return (
		[ 'idle', secs => 6 * $k, writes => 0 ],
		[ 'steady', secs => 6 * $k, writes => 50 ],
		[ 'apply_delay', secs => $opts{apply_delay_secs} // 6 * $k, writes => 50,
			before => sub {
				set_conf($s1, "recovery_min_apply_delay = '500ms'");
				sleep 2;
			},
			after => sub { reset_conf($s1, 'recovery_min_apply_delay'); } ],
		[ 'paused', secs => 7 * $k, writes => 50,
			events => [
				[ 2 * $k, sub { $s1->safe_psql('postgres', 'SELECT pg_wal_replay_pause()'); } ],
				[ 5 * $k, sub { ReplrouteTest::resume_replay($s1); } ] ] ],
		[ 'conflict', secs => 8 * $k, writes => 50,
			before => sub {
				set_conf($s1, "max_standby_streaming_delay = '" . int(3 * $k) . "s'");
				$primary->safe_psql('postgres',
					'CREATE TABLE IF NOT EXISTS regress_replroute_conflict (v int); '
					  . 'INSERT INTO regress_replroute_conflict SELECT generate_series(1, 1000)');
				$settle->();
			},
			events => [
				[ 1.5 * $k, sub {
					$conflict_psql = $s1->background_psql('postgres', on_error_stop => 0);
					$conflict_psql->query('BEGIN ISOLATION LEVEL REPEATABLE READ');
					$conflict_psql->query('SELECT count(*) FROM regress_replroute_conflict');
				} ],
				[ 2 * $k, sub {
					$primary->safe_psql('postgres',
						'DELETE FROM regress_replroute_conflict; VACUUM regress_replroute_conflict');
				} ] ],
			after => sub {
				# recovery may have ended the session already
				eval { $conflict_psql->quit } if $conflict_psql;
				reset_conf($s1, 'max_standby_streaming_delay');
			} ],
		[ 'cutoff', secs => 8 * $k, writes => 50,
			events => [
				[ 2 * $k, sub { set_conf($s1, "primary_conninfo = 'host=127.0.0.1 port=1'"); } ],
				[ 6 * $k, sub { reset_conf($s1, 'primary_conninfo'); } ] ],
			after => $settle ],
		[ 'burst', secs => 8 * $k, writes => 0, delivery => 1,
			events => [
				[ 2 * $k, sub {
					PostgreSQL::Test::Utils::command_ok(
						[ 'pgbench', '-i', '-s', '5', '-q', '-h', $primary->host,
						  '-p', $primary->port, 'postgres' ], 'burst: pgbench -i -s 5');
				} ] ] ],
		[ 'bigtxn', secs => 8 * $k, writes => 0, delivery => 1,
			events => [
				[ 3 * $k, sub {
					$primary->safe_psql('postgres',
						'INSERT INTO regress_replroute_fresh (t, pad) '
						  . "SELECT clock_timestamp(), repeat('y', 100) FROM generate_series(1, 600000)");
				} ] ] ],
		[ 'primary_stopped', secs => 7 * $k, writes => 50, stopped => 1,
			before => sub {
				$env->{drivers}{refuse} =
				  [ ReplrouteTest::driver($env->{conninfo}, 'primary_lost=refuse'), 10_000 ];
			},
			events => [ [ 2 * $k, sub { $primary->stop('fast'); } ] ],
			after => sub {
				$primary->start;
				$settle->();
			} ],
	);
}

=pod

=item run_scenario(%args)

Runs one scenario with every measurement going at once and returns a
hashref of results.  Arguments: name, secs (window), events ([seconds,
code] pairs run at those offsets), writes (pgbench rate per second during
the window, 0 for none), env (the suite's hashref: primary, standbys,
subject (the standby measured), tools, cli, drivers, tmp), limit (the
max_lag_seconds the routers use).

Results: for each figure (ext, ext_net: the same net of delivery delay,
naive, pgdog, lib10, lib500) the minimum and
maximum of (figure - truth) using the bound that flatters the figure least
(below: figure - low; above: figure - high), and the number of samples;
for each reader (lib10, lib500, cli, haproxy, and refuse if asked) the
reads, failures, reads on the subject, stale reads (truth low above the
limit plus 0.5 s) and the worst truth seen; plus the driver summaries.

=cut

sub run_scenario
{
	my (%a) = @_;
	my $env = $a{env};
	my $name = $a{name};
	my $secs = $a{secs};
	my $dir = "$env->{tmp}/fresh_$name";
	mkdir $dir;
	my ($primary, $subject) = ($env->{primary}, $env->{subject});
	my @nodes = ($primary, @{ $env->{standbys} });
	my $fresh = $env->{tools};

	my @h;
	# the truth, a little longer than the window
	push @h, IPC::Run::start([ $fresh, 'sample', "$dir/truth", 2000, $secs + 1.5,
		map { $_->name . '=' . $_->connstr('postgres') } @nodes ],
		'>', '/dev/null', '2>', "$dir/truth.err");
	usleep(300_000);
	push @h, IPC::Run::start([ $fresh, 'ext', "$dir/ext", 50_000, $secs, $subject->connstr('postgres') ],
		'>', '/dev/null', '2>', "$dir/ext.err");
	push @h, IPC::Run::start([ $fresh, 'haproxy', "$dir/haproxy", 100_000, 10_000, $secs,
		$subject->connstr('postgres'), $primary->connstr('postgres') ],
		'>', '/dev/null', '2>', "$dir/haproxy.err");
	my $cli_loop = sprintf(q{end=$(( $(date +%%s) + %d )); while [ $(date +%%s) -lt $end ]; do
		%s exec --read "%s" "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, pg_last_wal_replay_lsn()" >> %s 2>&1 || echo fail >> %s; sleep 0.3; done},
		int($secs), $env->{cli}, $env->{conninfo}, "$dir/cli", "$dir/cli");
	push @h, IPC::Run::start([ 'sh', '-c', $cli_loop ], '>', '/dev/null', '2>', "$dir/cli.err");
	my %drivers = %{ $env->{drivers} };    # name => [driver, delay_us]
	for my $dn (sort keys %drivers)
	{
		my ($d, $delay) = @{ $drivers{$dn} };
		$d->send("freshloop $secs $delay $dir/$dn");
	}
	my $writer;
	if ($a{writes})
	{
		my $script = "$dir/write.sql";
		open(my $fh, '>', $script) or die;
		print $fh "INSERT INTO regress_replroute_fresh (t, pad) VALUES (clock_timestamp(), repeat('x', 200));\n";
		close $fh;
		$writer = IPC::Run::start([ 'pgbench', '-n', '-c', '1', '-R', $a{writes}, '-T', int($secs) + 1,
			'-f', $script, '-h', $primary->host, '-p', $primary->port, 'postgres' ],
			'>', "$dir/pgbench.out", '2>&1');
	}

	my $t0 = time;
	for my $ev (@{ $a{events} // [] })
	{
		my ($at, $code) = @$ev;
		my $wait = $t0 + $at - time;
		usleep(int($wait * 1e6)) if $wait > 0;
		$code->();
	}
	my %summary;
	for my $dn (sort keys %drivers)
	{
		$summary{$dn} = $drivers{$dn}[0]->line;
	}
	$_->finish for @h;
	if ($writer)
	{
		$writer->kill_kill;
		$writer->finish;
	}
	$a{after}->() if $a{after};

	return analyze($env, $name, $dir, $a{limit} // 1.0, \%summary);
}

# the highest truth the standby $name had over [T - W, T] (from the replay
# samples), undef if none
sub envelope
{
	my ($self, $name, $t, $w) = @_;
	my $top;
	for my $at ($t, $t - $w / 2, $t - $w)
	{
		my ($r) = $self->replay($name, $at);
		next unless defined $r;
		my (undef, $high) = $self->bounds($at, $r);
		$top = $high if !defined $top || $high > $top;
	}
	return $top;
}

# worst (figure - truth) both ways; undef figures are "unknown" and skipped.
# $env_high: the highest truth over the caller's look-back window W =
# max(0.2 s, time since its previous figure) (undef: not known); "excess" is
# how far the figure was above that: a figure may trail the truth by W (it
# is an upper bound as of its last look; SPEC 1.1.1 and 2.4), never more.
sub account
{
	my ($acc, $fig, $low, $high, $env_high) = @_;
	return unless defined $fig && $fig ne '-' && $fig >= 0;
	$acc->{n}++;
	$acc->{top} = $fig if !defined $acc->{top} || $fig > $acc->{top};
	my $below = $fig - $low;     # negative: the figure is below the truth
	my $above = $fig - $high;    # positive: above even the highest truth
	$acc->{min} = $below if !defined $acc->{min} || $below < $acc->{min};
	$acc->{max} = $above if !defined $acc->{max} || $above > $acc->{max};
	if (defined $env_high)
	{
		my $top = $env_high > $high ? $env_high : $high;
		my $excess = $fig - $top;
		$acc->{excess} = $excess if !defined $acc->{excess} || $excess > $acc->{excess};
	}
	return;
}

sub window { my ($gap) = @_; return defined $gap && $gap > 0.2 ? $gap : 0.2; }

sub read_lines
{
	my ($file) = @_;
	open(my $fh, '<', $file) or return ();
	my @l = <$fh>;
	close $fh;
	chomp @l;
	return @l;
}

sub analyze
{
	my ($env, $name, $dir, $limit, $summary) = @_;
	my $primary = $env->{primary};
	my $sname = $env->{subject}->name;
	my $sport = $env->{subject}->port;
	my $truth = ReplrouteFresh->new("$dir/truth", $primary->name);
	my %res = (name => $name, summary => $summary);

	# every replay position any figure or read refers to
	my (@ext, %lib, @cli, @ha);
	@ext = map { [ split ' ' ] } read_lines("$dir/ext");
	for my $dn (keys %{ $env->{drivers} })
	{
		$lib{$dn} = [ map { [ split ' ' ] } read_lines("$dir/$dn") ];
	}
	for my $l (read_lines("$dir/cli"))
	{
		push @cli, [ split /\|/, $l ] if $l =~ /^\d+\|/;
		$res{cli}{fail}++ if $l !~ /^\d+\|/;
	}
	@ha = map { [ split ' ' ] } read_lines("$dir/haproxy");

	my @positions;
	push @positions, lsn($_->[1]) for @ext;
	for my $dn (keys %lib)
	{
		for my $l (@{ $lib{$dn} })
		{
			next unless $l->[0] eq 'r';
			push @positions, lsn($l->[2]);
			push @positions, grep { defined } $truth->replay($sname, $l->[4]);
		}
	}
	push @positions, lsn($_->[1]) for @cli, @ha;
	$truth->ends($primary, grep { defined } @positions);

	# the extension's figure, the naive formula, PgDog's
	my $prev;
	for my $s (@ext)
	{
		my ($t, $r, $lag, $naive, $pgdog) = @$s;
		my ($low, $high) = $truth->bounds($t, lsn($r));
		my $dd = $truth->delivery($sname, $t);
		my $gap = defined $prev ? ($t - $prev) / 1e6 : undef;
		$prev = $t;
		my $env_high = defined $gap ? $truth->envelope($sname, $t, 1e6 * window($gap)) : undef;
		account($res{fig}{ext} //= {}, $lag, $low, $high, $env_high);
		# net of delivery delay, as the extension's figure is while streaming
		account($res{fig}{ext_net} //= {}, $lag, $low > $dd ? $low - $dd : 0, $high, $env_high);
		account($res{fig}{naive} //= {}, $naive, $low, $high, $env_high);
		account($res{fig}{pgdog} //= {}, $pgdog, $low, $high, $env_high);
		$res{truth_max} = $low if !defined $res{truth_max} || $low > $res{truth_max};
	}
	# the library: its figure for the subject, and its reads
	my $sidx = $env->{subject_index};
	for my $dn (sort keys %lib)
	{
		my $rd = $res{read}{$dn} = { n => 0, fail => 0, on_subject => 0, stale => 0, worst => 0 };
		my $prev_call;
		for my $l (@{ $lib{$dn} })
		{
			if ($l->[0] eq 'f') { $rd->{fail}++; next; }
			my (undef, $t, $r, $port, $tc, @lags) = @$l;
			my $gap = defined $prev_call ? ($tc - $prev_call) / 1e6 : undef;
			$prev_call = $tc;
			$rd->{n}++;
			if (defined lsn($r))
			{
				my ($low) = $truth->bounds($t, lsn($r));
				$rd->{on_subject}++ if $port == $sport;
				$rd->{stale}++ if $low > $limit + 0.5;
				$rd->{worst} = $low if $low > $rd->{worst};
			}
			# the figure: the truth at T for the subject's replay then
			my ($rb, $ra) = $truth->replay($sname, $tc);
			next unless defined $rb;
			my ($low) = $truth->bounds($tc, $ra // $rb);
			my (undef, $high) = $truth->bounds($tc, $rb);
			my $env_high = defined $gap ? $truth->envelope($sname, $tc, 1e6 * window($gap)) : undef;
			account($res{fig}{$dn} //= {}, $lags[$sidx], $low, $high, $env_high);
		}
	}
	for my $pair ([ 'cli', \@cli ], [ 'haproxy', \@ha ])
	{
		my ($rn, $rows) = @$pair;
		my $rd = $res{read}{$rn} //= { n => 0, fail => 0, on_subject => 0, stale => 0, worst => 0 };
		$rd->{fail} += $res{cli}{fail} // 0 if $rn eq 'cli';
		for my $row (@$rows)
		{
			my ($t, $r) = @$row;
			$rd->{n}++;
			next unless defined lsn($r);
			$rd->{on_subject}++ if $rn eq 'haproxy' ? ($row->[2] eq 's') : 1;
			my ($low) = $truth->bounds($t, lsn($r));
			$rd->{stale}++ if $low > $limit + 0.5;
			$rd->{worst} = $low if $low > $rd->{worst};
		}
	}
	$res{unknown_end} = $truth->{unknown_end} // 0;
	return \%res;
}

=pod

=item report($res)

One line per figure and reader, for diag() and the bench.

=cut

sub report
{
	my ($res) = @_;
	my @out;
	for my $f (sort keys %{ $res->{fig} // {} })
	{
		my $a = $res->{fig}{$f};
		push @out, sprintf('%s %s: n=%d below=%.3f above=%.3f excess=%.3f', $res->{name}, $f,
			$a->{n} // 0, $a->{min} // 0, $a->{max} // 0, $a->{excess} // 0);
	}
	for my $r (sort keys %{ $res->{read} // {} })
	{
		my $a = $res->{read}{$r};
		push @out, sprintf('%s reads %s: n=%d fail=%d subject=%d stale=%d worst_truth=%.3f',
			$res->{name}, $r, $a->{n}, $a->{fail}, $a->{on_subject}, $a->{stale}, $a->{worst});
	}
	push @out, sprintf('%s truth max %.3f s (%d positions without a readable record end)',
		$res->{name}, $res->{truth_max} // 0, $res->{unknown_end} // 0);
	return @out;
}

1;
