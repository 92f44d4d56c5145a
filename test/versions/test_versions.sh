#!/bin/sh
#
# test_versions.sh: what "make test-versions" does.  Run as root.
#
# For each PostgreSQL major in RR_PG_VERSIONS (default 17 18 19):
#
# 1. build_pg.sh gets the server, its headers, PGXS and the TAP framework,
#    built from Debian's source package, or, where the archive serves no
#    source files, Debian's binary packages relocated into the cache;
#    cached between runs either way;
# 2. the extension is built against that version's pg_config (PGXS) and
#    installed into that version's tree;
# 3. pg_regress runs sql/ (the Makefile's REGRESS, plus the upgrade test
#    sql/upgrade.sql when the tree has one) against a temporary instance of
#    that version, then prove runs the server-side TAP suites
#    (RR_VERSION_TAP_TESTS) with that version's PostgreSQL::Test::Cluster.
#
# The client library and the TAP tests' C driver are built once, against
# the system's libpq (Debian 12: libpq 15), as in "make test"; only the
# servers and the extension come from the version's tree.  Servers run as
# the unprivileged TEST_USER from a scratch copy of the source tree, as in
# test/make_test.sh.  Each version's block ends with its pg_regress and
# prove summaries; the last line counts the versions that passed and
# failed, and the exit status is non-zero if any failed (a source that
# cannot be had is a failure, with the reason).
#
# Environment: RR_PG_VERSIONS, RR_VERSION_TAP_TESTS, RR_PG_CACHE (see
# build_pg.sh), TEST_USER (default postgres), KEEP_TMP=1 keeps the scratch
# directory.  Warnings are errors here (WERROR=1), as in "make test".
set -eu

WERROR=1
export WERROR

# Called from "make test-versions": PostgreSQL's own build generates its
# headers only in a top-level make (MAKELEVEL 0), so drop what the calling
# make passed down.
unset MAKELEVEL MAKEFLAGS MFLAGS MAKEOVERRIDES

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
. "$srcdir/test/deps.sh"

# The TAP suites run on every version: those that exercise the server side
# (the extension and wait_for_lsn, the freshness suite, routing and session
# basics; the client-only suites need not repeat).  Add new ones here.  A
# listed file the tree does not have (yet) is named in the output and not
# run.
RR_VERSION_TAP_TESTS=${RR_VERSION_TAP_TESTS:-"test/t/001_extension.pl
	test/t/010_client_routing.pl test/t/015_freshness.pl test/t/020_session.pl"}
RR_PG_VERSIONS=${RR_PG_VERSIONS:-17 18 19}
TEST_USER=${TEST_USER:-postgres}

say() { printf 'test-versions: %s\n' "$*"; }
now() { date +%s; }

if [ "$(id -u)" -ne 0 ]; then
	say "run as root (sudo make test-versions): it installs packages, builds into ${RR_PG_CACHE:-/var/cache/replroute-pg} and runs the servers as $TEST_USER"
	exit 1
fi

missing=$(RR_PACKAGES="$RR_PACKAGES $RR_VERSION_PACKAGES" rr_missing_packages)
if [ -n "$missing" ]; then
	say "installing: $missing"
	# shellcheck disable=SC2086
	rr_install_packages $missing
fi
id "$TEST_USER" >/dev/null 2>&1 || { say "no user \"$TEST_USER\" to run the servers as"; exit 1; }

work=$(mktemp -d /tmp/replroute-versions.XXXXXX)
chmod 755 "$work"
as_user() { runuser -u "$TEST_USER" -- env HOME="$work" "$@"; }

# Stop any server a failed or interrupted run left behind (each suite stops
# its own when it ends normally).
stop_servers()
{
	for pidfile in $(find "$work" -name postmaster.pid 2>/dev/null); do
		pid=$(head -n 1 "$pidfile")
		case "$(ps -o comm= -p "$pid" 2>/dev/null)" in
			postgres|postmaster)
				say "stopping a leftover server in $(dirname "$pidfile")"
				kill -QUIT "$pid" 2>/dev/null || true	# immediate shutdown
				;;
		esac
	done
}
cleanup()
{
	rc=$?
	stop_servers
	if [ "${KEEP_TMP:-0}" != 1 ] && [ $rc -eq 0 ]; then
		rm -rf "$work"
	else
		say "test files kept in $work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The client side, once: library, CLI and the TAP driver, on the system's
# libpq.
base=$work/base
mkdir "$base"
rr_copy_tree "$srcdir" "$base"
chown -R "$TEST_USER" "$work"
say "building the client library and test programs (system libpq $(pkg-config --modversion libpq)) as $TEST_USER"
as_user make -C "$base" -s client test-programs

# the TAP files this tree has, and the listed ones it lacks
tap_tests="" tap_absent=""
for t in $RR_VERSION_TAP_TESTS; do
	if [ -f "$base/$t" ]; then
		tap_tests="$tap_tests $t"
	else
		tap_absent="$tap_absent $t"
	fi
done
tap_tests=${tap_tests# }
[ -z "$tap_absent" ] || say "not in this tree, not run:$tap_absent"
# (an empty PROVE_TESTS would run every file in test/t)
[ -n "$tap_tests" ] || { say "none of the TAP files listed is in this tree"; exit 1; }

# pg_regress: the Makefile's REGRESS, and the upgrade test once there is one
# (it installs the first version and updates it: sql/upgrade.sql)
regress_tests=$(sed -n 's/^REGRESS = //p' "$base/Makefile")
if [ -f "$base/sql/upgrade.sql" ]; then
	case " $regress_tests " in
		*" upgrade "*) ;;
		*) regress_tests="$regress_tests upgrade" ;;
	esac
	say "upgrade path: sql/upgrade.sql runs on every version"
else
	say "upgrade path: no sql/upgrade.sql in this tree, not tested"
fi

passed=0
failed=0
failed_list=""
summary=""

# route_of PREFIX: how build_pg.sh made that tree (its stamp, which is in
# the tree's top directory: PREFIX itself for a source build, four levels
# up for Debian's binary layout)
route_of()
{
	for _d in "$1" "$1/../../../.."; do
		if [ -f "$_d/.replroute-pg-stamp" ]; then
			case $(sed -n 2p "$_d/.replroute-pg-stamp") in
				Debian\ binary*) echo "Debian's binary packages $(head -n 1 "$_d/.replroute-pg-stamp"), relocated" ;;
				*) echo "built from Debian's source package $(head -n 1 "$_d/.replroute-pg-stamp")" ;;
			esac
			return
		fi
	done
	echo "origin unknown"
}

# run_version MAJOR: everything for one version; returns non-zero on any
# failure.  Prints its own summary lines.
run_version()
{
	v=$1
	t0=$(now)
	say "=== PostgreSQL $v ==="
	if ! prefix=$(nice -n 10 "$srcdir/test/versions/build_pg.sh" "$v"); then
		say "PostgreSQL $v: FAILED: no server to test (reason above)"
		return 1
	fi
	pgc=$prefix/bin/pg_config
	t_build=$(now)
	say "PostgreSQL $v: $("$pgc" --version) from $prefix ($((t_build - t0)) s to get it)"

	tree=$work/pg$v
	cp -a "$base" "$tree"
	rm -f "$tree"/extension/*.o "$tree"/*.so "$tree"/*.bc "$tree"/extension/*.bc
	mk() { make -C "$tree" -s PG_CONFIG="$pgc" "$@"; }

	say "PostgreSQL $v: building the extension against it (PGXS, -Werror)"
	if ! as_user nice -n 10 make -C "$tree" -s PG_CONFIG="$pgc" all; then
		say "PostgreSQL $v: FAILED: the extension does not build"
		return 1
	fi
	# the client part of "install" goes to a scratch prefix: only the
	# extension belongs in the version's tree
	if ! mk install PREFIX="$tree/client-prefix" >/dev/null; then
		say "PostgreSQL $v: FAILED: could not install the extension into $prefix"
		return 1
	fi

	regress_ok=1
	say "PostgreSQL $v: pg_regress ($regress_tests) on a temporary instance"
	if ! as_user make -C "$tree" -s PG_CONFIG="$pgc" installcheck-regress REGRESS="$regress_tests" \
		EXTRA_REGRESS_OPTS="--temp-instance=$tree/tmp_check_regress" >"$tree/regress.log" 2>&1; then
		regress_ok=0
	fi
	cat "$tree/regress.log"
	regress_summary=$(grep -E 'tests? (passed|failed)|failed \(ignoring|of [0-9]+ tests' "$tree/regress.log" | tail -n 1)
	if [ $regress_ok = 0 ]; then
		[ -f "$tree/regression.diffs" ] && cat "$tree/regression.diffs"
		[ -n "$regress_summary" ] || regress_summary="pg_regress did not run (see above)"
	fi
	t_regress=$(now)

	tap_ok=1
	say "PostgreSQL $v: TAP: $tap_tests"
	# TESTDIR: the suites find the C driver through it, and PostgreSQL 18's
	# PGXS no longer sets it
	if ! as_user env TESTDIR="$tree" make -C "$tree" -s PG_CONFIG="$pgc" installcheck-tap \
		PROVE_TESTS="$tap_tests" 2>&1 | tee "$tree/tap.log"; then
		tap_ok=0
	fi
	# a pipeline's status is tee's: look at prove's own verdict
	grep -q '^Result: PASS' "$tree/tap.log" || tap_ok=0
	tap_summary=$(grep -E '^(Files=|Result:)' "$tree/tap.log" | tr '\n' ' ')
	if [ $tap_ok = 0 ]; then
		# the logs of the files prove's summary names
		for t in $(sed -n 's|^\(test/t/[^ ]*\.pl\) .*(Wstat:.*|\1|p' "$tree/tap.log"); do
			f=$tree/tmp_check/log/regress_log_$(basename "$t" .pl)
			[ -f "$f" ] || continue
			say "last lines of $f:"
			tail -n 60 "$f"
		done
		[ -n "$tap_summary" ] || tap_summary="prove did not run (see above)"
	fi
	t_tap=$(now)

	say "PostgreSQL $v: server: $("$pgc" --version), $(route_of "$prefix")"
	say "PostgreSQL $v: times: server $((t_build - t0)) s, pg_regress $((t_regress - t_build)) s, TAP $((t_tap - t_regress)) s"
	say "PostgreSQL $v: pg_regress: $regress_summary"
	say "PostgreSQL $v: prove: $tap_summary"
	[ $regress_ok = 1 ] && [ $tap_ok = 1 ]
}

t_start=$(now)
for v in $RR_PG_VERSIONS; do
	if run_version "$v"; then
		passed=$((passed + 1))
		summary="$summary $v:passed"
	else
		failed=$((failed + 1))
		failed_list="$failed_list $v"
		summary="$summary $v:FAILED"
	fi
done

say "versions:$summary ($(($(now) - t_start)) s)"
[ $failed -eq 0 ] || say "failed:$failed_list"
say "$passed passed, $failed failed"
[ $failed -eq 0 ]
