
# Copyright: see README.md

# Freshness you can prove: every lag figure replroute shows, and every read
# it routes, against a ground truth this test measures itself (all nodes
# share one clock; see test/perl/ReplrouteFresh.pm for the truth).
#
# Scenarios, on standby1 ("the subject") of a primary and two standbys:
# idle primary, steady writes, a constant apply delay, paused replay, replay
# blocked by a recovery conflict, cut off from the primary while it writes,
# a write burst, one large transaction after an idle spell, the primary
# stopped.  In each, all at once: the extension's figure (node_status()
# every 50 ms), the library's figure and reads at application cadences of
# 10 ms and 500 ms, one-shot "replroute exec --read" calls, and a router
# that trusts is_routable() as an HAProxy check would.
#
# Asserted (margins of 0.5 s for a loaded 2-core machine): no figure is
# ever more than 0.5 s below the truth, and no read is served while its
# node's true lag exceeds the limit (1 s) by more than 0.5 s.  Precision
# (how far above the truth) is measured by make bench, not asserted here.
# When the primary dies, reads keep flowing with primary_lost=serve and
# stop with primary_lost=refuse.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use ReplrouteTest;
use ReplrouteFresh;

my $testdir = $ENV{TESTDIR} // '.';
my ($primary, $s1, $s2) = ReplrouteTest::make_cluster(
	primary_conf => "wal_keep_size = 2GB\nmax_wal_size = 4GB\n");
ReplrouteFresh::prepare($primary);
$primary->wait_for_catchup($_) for ($s1, $s2);

my $ci = ReplrouteTest::conninfo($primary, $s1, $s2);
my %env = (
	primary => $primary,
	standbys => [ $s1, $s2 ],
	subject => $s1,
	subject_index => 1,
	tools => "$testdir/test/fresh",
	cli => "$testdir/client/replroute",
	conninfo => $ci,
	tmp => $ENV{RR_FRESH_DIR} // PostgreSQL::Test::Utils::tempdir(),
	drivers => {
		lib10 => [ ReplrouteTest::driver($ci), 10_000 ],
		lib500 => [ ReplrouteTest::driver($ci), 500_000 ],
	},
);
for my $dn (sort keys %{ $env{drivers} })
{
	like($env{drivers}{$dn}[0]{connect}, qr/^connect ok/, "$dn: RRconnect");
}

my @scenarios = ReplrouteFresh::scenarios(\%env);

# RR_FRESH_ONLY=name,name runs only those scenarios; RR_FRESH_DIR keeps the
# measurements there (both for investigating a failure)
my %only = map { $_ => 1 } split /,/, ($ENV{RR_FRESH_ONLY} // '');
my %results;
for my $sc (@scenarios)
{
	my ($name, %a) = @$sc;
	next if %only && !$only{$name};
	$a{before}->() if $a{before};
	my $t0 = time;
	my $res = ReplrouteFresh::run_scenario(name => $name, env => \%env, %a);
	$results{$name} = $res;
	diag($_) for ReplrouteFresh::report($res);

	for my $f (sort keys %{ $res->{fig} })
	{
		next if $f eq 'naive' || $f eq 'pgdog';    # the others' figures: measured only
		# while streaming, node_status() excludes WAL not yet delivered
		# (SPEC 1.1.1): under a burst it is judged net of that delay
		next if $f eq ($a{delivery} ? 'ext' : 'ext_net');
		my $acc = $res->{fig}{$f};
		cmp_ok($acc->{n}, '>', 0, "$name: $f figures sampled");
		cmp_ok($acc->{min} // 0, '>=', -0.5,
			sprintf('%s: %s never more than 0.5 s below the truth (worst %.3f s)',
				$name, $f, $acc->{min} // 0));
	}
	for my $r (sort keys %{ $res->{read} })
	{
		my $rd = $res->{read}{$r};
		is($rd->{stale}, 0, sprintf('%s: %s: no read served over the limit + 0.5 s '
			  . '(%d reads, %d on standbys, worst truth %.3f s)',
			  $name, $r, $rd->{n}, $rd->{on_subject}, $rd->{worst}));
		if ($r =~ /^lib/ && !$a{stopped})
		{
			is($rd->{fail}, 0, "$name: $r: no read failed");
		}
	}
	if ($a{stopped})
	{
		my ($lib, $refuse) = @{ $res->{read} }{qw(lib10 refuse)};
		is($lib->{fail}, 0, "$name: primary_lost=serve: no read failed after the primary died");
		cmp_ok($lib->{on_subject}, '>', 0, "$name: primary_lost=serve: reads kept going to standbys");
		cmp_ok($refuse->{fail}, '>', 0,
			"$name: primary_lost=refuse: reads fail once the standbys' bounds pass the limit "
			  . "($refuse->{fail} failed of " . ($refuse->{n} + $refuse->{fail}) . ')');
		delete $env{drivers}{refuse};
	}
}

# the cut-off standby, the headline case: its figure follows the truth
if (my $cut = $results{cutoff})
{
	cmp_ok($cut->{truth_max}, '>', 2,
		sprintf('cutoff: the subject really fell behind (truth reached %.2f s)', $cut->{truth_max}));
	cmp_ok($cut->{fig}{ext}{min}, '>=', -0.5, 'cutoff: node_status() bounds the cut-off standby');
}

ReplrouteTest::finish_drivers();
done_testing();
