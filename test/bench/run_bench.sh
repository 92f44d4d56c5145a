#!/bin/sh
#
# run_bench.sh: what "make bench" does.
#
# 1. As root, installs the Debian packages the benchmarks need (only those
#    missing), Pgpool-II (pgpool2) included; its service is not started;
#    and python3-django with python3-psycopg2 for the Python figures (12).
#    As another user, says which are missing; without pgpool2 the Pgpool-II
#    figures, without Django the Python figures are skipped with a notice.
# 2. As root, copies the source to a scratch directory the unprivileged
#    user can use, builds there as that user and installs the extension
#    (as root), because PostgreSQL refuses to run as root.  As another
#    user, builds in place and installs if it can.
# 3. Builds the driver (test/bench/rr_bench, linked against the optimized
#    static libreplroute) and runs test/bench/bench.pl as that user: a
#    primary and two standbys on 127.0.0.1, Pgpool-II in front, every
#    measurement with its contenders in alternating blocks.  Figures on
#    stdout ("name: value", then a table), progress on stderr.
#
# Environment: PG_MAJOR (default 15), BENCH_USER (default postgres when run
# as root), BENCH_SCALE (default 1; smaller is quicker and noisier),
# BENCH_LAG_BYTES (figure 4's byte threshold), PGPOOL (a pgpool binary, or
# "none" to skip Pgpool-II), BENCH_SECTIONS (figure numbers, e.g. 9,11),
# KEEP_TMP=1 keeps the scratch directory.  Benchmarks are not tests: the
# exit status says whether the run completed, never how fast it was.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PGXS_PERL=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/perl

PACKAGES="
make
gcc
pkg-config
libpq-dev
postgresql-$PG_MAJOR
postgresql-client-$PG_MAJOR
postgresql-server-dev-$PG_MAJOR
postgresql-common
libipc-run-perl
"

say() { printf 'make bench: %s\n' "$*" >&2; }

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done

if [ "$(id -u)" -eq 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	updated=0
	if [ -n "$missing" ]; then
		say "installing:$missing"
		apt-get update -q >&2
		updated=1
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >&2
	fi
	if ! installed pgpool2; then
		say "installing pgpool2 (its system service is not started)"
		[ $updated = 1 ] || apt-get update -q >&2
		# keep the package's init script from starting a system pgpool
		policy=""
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			policy=/usr/sbin/policy-rc.d
			printf '#!/bin/sh\nexit 101\n' > "$policy"
			chmod 755 "$policy"
		fi
		apt-get install -y -q --no-install-recommends pgpool2 >&2 ||
			say "NOTICE: could not install pgpool2: the Pgpool-II figures will be skipped"
		[ -z "$policy" ] || rm -f "$policy"
	fi
	# figure 12 goes through the Python package; without these it is skipped
	pymissing=""
	for p in python3 python3-django python3-psycopg2; do
		installed "$p" || pymissing="$pymissing $p"
	done
	if [ -n "$pymissing" ]; then
		say "installing:$pymissing"
		[ $updated = 1 ] || apt-get update -q >&2
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $pymissing >&2 ||
			say "NOTICE: could not install$pymissing: the Python figures will be skipped"
	fi
	BENCH_USER=${BENCH_USER:-postgres}
	id "$BENCH_USER" >/dev/null 2>&1 || { say "no user \"$BENCH_USER\" to run the servers as"; exit 1; }
	work=$(mktemp -d /tmp/replroute-bench.XXXXXX)
	chmod 755 "$work"
	# copy the source only (no build products of an earlier in-place build)
	if [ -d "$srcdir/.git" ] && command -v git >/dev/null 2>&1; then
		(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$work"
	else
		(cd "$srcdir" && tar -cf - --exclude=.git .) | tar -xf - -C "$work"
	fi
	chown -R "$BENCH_USER" "$work"
	as_user() { runuser -u "$BENCH_USER" -- env HOME="$work" "$@"; }
	say "building in $work as $BENCH_USER"
	as_user make -C "$work" -s -j2 all >&2
	say "installing the extension (as root)"
	make -C "$work" -s install >&2
	ldconfig
else
	if [ -n "$missing" ]; then
		say "missing Debian packages:$missing"
		say "install them with: sudo apt-get install$missing   (or run: sudo make bench)"
		exit 1
	fi
	installed pgpool2 ||
		say "NOTICE: pgpool2 is not installed: the Pgpool-II figures will be skipped (sudo make bench installs it)"
	work=$srcdir
	as_user() { "$@"; }
	make -C "$work" -s all >&2
	if ! make -C "$work" -s install >/dev/null 2>&1; then
		if [ -f "$(pg_config --sharedir)/extension/replroute.control" ]; then
			say "could not install the extension; benchmarking the one already installed in $(pg_config --sharedir)"
		else
			say "could not install the extension into $(pg_config --sharedir); run: sudo make bench"
			exit 1
		fi
	fi
fi

bench=$work/test/bench
cleanup() {
	rc=$?
	# belt and braces: bench.pl stops its servers itself, even on errors;
	# anything still running under the scratch directory is stopped here
	for pidfile in $(find "$bench/tmp_check" -name postmaster.pid 2>/dev/null); do
		as_user "$PGBIN/pg_ctl" -D "$(dirname "$pidfile")" -m immediate stop >/dev/null 2>&1 || true
	done
	if [ "$work" != "$srcdir" ] && [ "${KEEP_TMP:-0}" != 1 ] && [ $rc -eq 0 ]; then
		rm -rf "$work"
	elif [ -d "$bench/tmp_check" ] && { [ $rc -ne 0 ] || [ "$work" != "$srcdir" ]; }; then
		say "logs kept in $bench/tmp_check"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_user make -C "$bench" -s >&2
# the freshness and liveness figures use the test suite's tools and driver
as_user make -C "$work/test" -s rr_test fresh >&2
rm -rf "$bench/tmp_check"
say "running the benchmarks (a few minutes)"
cd "$bench"
as_user env TESTDIR="$bench" \
	PG_REGRESS="/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test/regress/pg_regress" \
	PATH="$PGBIN:/usr/sbin:$PATH" \
	RR_BENCH="$bench/rr_bench" \
	RR_TEST_DRIVER="$work/test/rr_test" \
	RR_FRESH_TOOL="$work/test/fresh" \
	RR_CLI="$work/client/replroute" \
	BENCH_SCALE="${BENCH_SCALE:-1}" \
	BENCH_LAG_BYTES="${BENCH_LAG_BYTES:-131072}" \
	PGPOOL="${PGPOOL:-}" \
	perl -I "$PGXS_PERL" -I "$work/test/perl" "$bench/bench.pl"
