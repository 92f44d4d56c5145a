
# Copyright: see README.md

=pod

=head1 NAME

ReplrouteTest - build a replicated test cluster for replroute's TAP tests

=head1 SYNOPSIS

  use ReplrouteTest;
  my ($primary, $s1, $s2) = ReplrouteTest::make_cluster();
  my $st = ReplrouteTest::node_status($s1);   # hashref of node_status()

=head1 DESCRIPTION

A primary and two streaming standbys on 127.0.0.1, on free ports, built
the way src/test/recovery does it (init with allows_streaming, backup,
init_from_backup with has_streaming).  The first standby streams through the
physical slot regress_replroute_s1.  The extension is created on the
primary and replicated.  Nodes are stopped by the framework at exit.

=cut

package ReplrouteTest;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP qw(decode_json);
use IO::Socket::INET;
use IPC::Run;
use POSIX ();
use Time::HiRes qw(usleep time);

# Every server listens on 127.0.0.1 only (TCP is needed for the client's
# tests).  Must run before the first node is created.
sub use_loopback_tcp
{
	$PostgreSQL::Test::Cluster::use_tcp     = 1;
	$PostgreSQL::Test::Cluster::test_pghost = '127.0.0.1';
	$ENV{PGHOST} = '127.0.0.1';
	return;
}

=pod

=item make_cluster(%opts)

Returns ($primary, $standby1, $standby2).  Options: standby_conf (text
appended to both standbys' postgresql.conf), primary_conf, standbys (number,
default 2).

=cut

sub make_cluster
{
	my (%opts) = @_;
	my $nstandbys = $opts{standbys} // 2;

	use_loopback_tcp();

	my $primary = PostgreSQL::Test::Cluster->new('primary');
	$primary->init(allows_streaming => 1);
	# the framework's default of 10 is too few for several client handles
	$primary->append_conf('postgresql.conf', "max_connections = 100\n");
	$primary->append_conf('postgresql.conf', $opts{primary_conf} // '');
	$primary->start;
	$primary->safe_psql('postgres', 'CREATE EXTENSION replroute');
	$primary->safe_psql('postgres',
		"SELECT pg_create_physical_replication_slot('regress_replroute_s1')");
	$primary->backup('base');

	my @standbys;
	for my $i (1 .. $nstandbys)
	{
		my $s = PostgreSQL::Test::Cluster->new("standby$i");
		$s->init_from_backup($primary, 'base', has_streaming => 1);
		$s->append_conf('postgresql.conf',
			"primary_slot_name = 'regress_replroute_s1'")
		  if $i == 1;
		$s->append_conf('postgresql.conf', $opts{standby_conf} // '');
		$s->start;
		push @standbys, $s;
	}
	$primary->wait_for_catchup($_) for @standbys;

	return ($primary, @standbys);
}

=pod

=item node_status($node)

One call of replroute.node_status() on $node, as a hashref keyed by column
name (NULL is undef, booleans JSON::PP booleans: true is 1, false is 0).

=cut

sub node_status
{
	my ($node) = @_;
	return query_row($node, 'SELECT * FROM replroute.node_status()');
}

=pod

=item query_row($node, $sql)

The first row of $sql as a hashref keyed by column name, NULL as undef.

=cut

sub query_row
{
	my ($node, $sql) = @_;
	my $out = $node->safe_psql('postgres',
		"SELECT row_to_json(q) FROM ($sql) q LIMIT 1");
	return $out eq '' ? undef : decode_json($out);
}

=pod

=item poll_until($timeout_s, $code)

Calls $code every 50 ms until it returns true or $timeout_s seconds pass.
Returns the seconds it took, or undef on timeout.

=cut

sub poll_until
{
	my ($timeout, $code) = @_;
	my $start = time;
	while (time - $start < $timeout)
	{
		return time - $start if $code->();
		usleep(50_000);
	}
	return undef;
}

=pod

=item resume_replay($node)

pg_wal_replay_resume(), insisting until replay runs: the resuming
statement's own snapshot can be cancelled by the very cleanup records it
lets through (their max_standby_streaming_delay grace period may have run
out while replay was paused).

=cut

sub resume_replay
{
	my ($node) = @_;
	poll_until(30, sub {
		$node->psql('postgres', 'SELECT pg_wal_replay_resume()');
		my ($rc, $state) = $node->psql('postgres', 'SELECT pg_get_wal_replay_pause_state()');
		return $rc == 0 && $state eq 'not paused';
	}) // die "could not resume replay on " . $node->name;
	return;
}

=pod

=item write_some($node, $rows)

Inserts $rows rows into regress_replroute_w (created if needed) on $node.

=cut

sub write_some
{
	my ($node, $rows) = @_;
	$node->safe_psql('postgres',
		"CREATE TABLE IF NOT EXISTS regress_replroute_w (id bigserial, payload text);"
		  . "INSERT INTO regress_replroute_w (payload) "
		  . "SELECT repeat('x', 100) FROM generate_series(1, $rows)");
	return;
}

=pod

=item conninfo(@nodes)

A multi-host conninfo listing @nodes (in that order), database postgres.

=cut

sub conninfo
{
	my (@nodes) = @_;
	return 'host=' . join(',', map { $_->host } @nodes)
	  . ' port=' . join(',', map { $_->port } @nodes)
	  . ' dbname=postgres connect_timeout=5';
}

=pod

=item driver($conninfo, $options, %env)

Starts test/rr_test (the C driver, built with ASan/UBSan; RR_TEST_DRIVER
names another build) with one
RRcluster handle.  Returns a ReplrouteTest::Driver: ->cmd($line) sends a
command and returns its one-line answer; ->send($line) and ->line() split
that in two (to act on the cluster while a loop runs); ->lines() reads up to
"end"; ->finish sends quit and returns the exit status (non-zero if
LeakSanitizer found a leak).

=cut

my @all_drivers;

sub driver
{
	my ($conninfo, $options, %env) = @_;
	my $self = bless { in => '', out => '', err => '' }, 'ReplrouteTest::Driver';
	push @all_drivers, $self;
	my $bin = $ENV{RR_TEST_DRIVER} // (($ENV{TESTDIR} // '.') . '/test/rr_test');
	# the framework names every connection after the test (PGAPPNAME); the
	# driver's should carry the library's own name, as an application's do
	local $ENV{PGAPPNAME};
	delete $ENV{PGAPPNAME};
	local @ENV{ keys %env } = values %env;
	$self->{timer} = IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default);
	$self->{h} = IPC::Run::start([ $bin, $conninfo, $options // '' ],
		'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err},
		$self->{timer});
	$self->{connect} = $self->line;
	return $self;
}

=pod

=item finish_drivers()

Finishes every driver not finished yet and checks that each exits 0 (no
leak after RRfinish: the driver is built with LeakSanitizer) and printed no
sanitizer report.

=cut

sub finish_drivers
{
	for my $d (grep { !$_->{finished} } @all_drivers)
	{
		is($d->finish, 0, 'driver exits cleanly (no leak after RRfinish)');
		unlike($d->stderr, qr/AddressSanitizer|LeakSanitizer|runtime error/,
			'no sanitizer report');
	}
	return;
}

=pod

=item parse_loop($line)

A driver's "loop ok=.. fail=.. maxus=.. ports=P:C,... err=.." answer as a
hashref: ok, fail, maxus, ports (port => count), err, line.

=cut

sub parse_loop
{
	my ($line) = @_;
	my %r = (line => $line);
	($r{ok}, $r{fail}, $r{maxus}) = $line =~ /ok=(\d+) fail=(\d+) maxus=(\d+)/;
	my ($ports) = $line =~ /ports=(\S*)/;
	$r{ports} = { map { split /:/ } grep { length } split /,/, ($ports // '') };
	my ($med) = $line =~ /medus=(\S*)/;
	$r{medus} = { map { split /:/ } grep { length } split /,/, ($med // '') };
	($r{err}) = $line =~ /err=(.*)$/;
	return \%r;
}

=pod

=item proxy($target_port, %opts)

Starts a TCP proxy on 127.0.0.1 (a free port) in front of
127.0.0.1:$target_port, in a process group of its own (one process per
connection).  Options: delay_ms (each chunk is delivered that much later,
both ways: a distant or slow node).  Returns a ReplrouteTest::Proxy:
->port, ->freeze (stop forwarding both ways, keep every connection open:
a silent partition as the client sees it), ->thaw, ->stop.  Proxies are
stopped at exit.

=cut

my @all_proxies;

sub proxy
{
	my ($target, %opts) = @_;
	my $listen = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
	  or die "proxy: cannot listen: $!";
	my $port = $listen->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		setpgrp(0, 0);
		ReplrouteTest::Proxy::serve($listen, $target, $opts{delay_ms} // 0);
		POSIX::_exit(0);
	}
	close $listen;
	my $self = bless { port => $port, pid => $pid }, 'ReplrouteTest::Proxy';
	push @all_proxies, $self;
	return $self;
}

END
{
	$_->stop for grep { $_->{pid} } @all_proxies;
}

package ReplrouteTest::Proxy;

use IO::Select;
use POSIX ();
use Time::HiRes qw(time);

my $frozen = 0;

sub port { return $_[0]->{port}; }

sub freeze { kill 'USR1', -$_[0]->{pid}; return; }

sub thaw { kill 'USR2', -$_[0]->{pid}; return; }

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'KILL', -$self->{pid};
	waitpid($self->{pid}, 0);
	$self->{pid} = 0;
	return;
}

# the listener: one forwarding child per connection
sub serve
{
	my ($listen, $target, $delay_ms) = @_;
	$SIG{USR1} = sub { $frozen = 1; };
	$SIG{USR2} = sub { $frozen = 0; };
	$SIG{CHLD} = 'IGNORE';
	while (1)
	{
		my $c = $listen->accept or next;
		my $pid = fork();
		if (defined $pid && $pid == 0)
		{
			close $listen;
			forward($c, $target, $delay_ms);
			POSIX::_exit(0);
		}
		close $c;
	}
}

# both directions, each chunk held back $delay_ms; nothing moves while frozen
sub forward
{
	my ($c, $target, $delay_ms) = @_;
	my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target)
	  or return;
	my %peer = ($c => $u, $u => $c);
	my %queue = ($c => [], $u => []);    # chunks waiting to go TO this socket
	my $sel = IO::Select->new($c, $u);
	while (1)
	{
		my $now = time;
		my $next;
		for my $to ($c, $u)
		{
			my $q = $queue{$to};
			while (!$frozen && @$q && $q->[0][0] <= $now)
			{
				my $chunk = shift(@$q)->[1];
				while (length $chunk)
				{
					my $w = syswrite($to, $chunk);
					return unless defined $w;
					substr($chunk, 0, $w) = '';
				}
			}
			$next = $q->[0][0] if @$q && (!defined $next || $q->[0][0] < $next);
		}
		my $timeout = $frozen ? 0.05 : defined $next ? ($next - $now > 0 ? $next - $now : 0) : 0.5;
		my @ready = $sel->can_read($timeout);
		next if $frozen;
		for my $from (@ready)
		{
			my $n = sysread($from, my $buf, 65536);
			return unless $n;    # a side closed: close both
			push @{ $queue{ $peer{$from} } }, [ time + $delay_ms / 1000, $buf ];
		}
	}
}

package ReplrouteTest::Driver;

sub send
{
	my ($self, $line) = @_;
	$self->{in} .= "$line\n";
	$self->{h}->pump_nb;
	return;
}

sub line
{
	my ($self) = @_;
	$self->{timer}->start($PostgreSQL::Test::Utils::timeout_default);
	$self->{h}->pump until $self->{out} =~ /\n/;
	$self->{out} =~ s/^([^\n]*)\n//;
	return $1;
}

sub cmd
{
	my ($self, $line) = @_;
	$self->send($line);
	return $self->line;
}

sub lines
{
	my ($self, $line) = @_;
	my @l;
	$self->send($line);
	while (1)
	{
		my $l = $self->line;
		last if $l eq 'end';
		push @l, $l;
	}
	return @l;
}

# the driver's stderr so far (sanitizer reports land there)
sub stderr { return $_[0]->{err}; }

sub finish
{
	my ($self) = @_;
	$self->{finished} = 1;
	$self->{in} .= "quit\n";
	$self->{h}->finish;
	return $self->{h}->result(0);
}

package ReplrouteTest;

1;
