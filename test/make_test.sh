#!/bin/sh
#
# make_test.sh: what "make test" does.
#
# 1. As root, installs the Debian packages that building and testing need
#    (only those missing, see test/deps.sh).  As another user, says which
#    are missing.
# 2. As root, copies the source to a scratch directory the unprivileged
#    test user can use (CI's clone may sit where that user cannot enter),
#    builds there as that user and installs as root.  As another user,
#    builds and installs in place (the install needs write access).
# 3. Runs every suite as the unprivileged user: the client unit tests under
#    ASan/UBSan with the exported-symbol check, the fuzzers (bounded),
#    pg_regress against a throwaway pg_virtualenv cluster, then the TAP
#    tests (PostgreSQL::Test::Cluster).  The output ends with the
#    pg_regress and prove summaries.
#
# Environment: PG_MAJOR (default 15), TEST_USER (default postgres when run
# as root), KEEP_TMP=1 keeps the scratch directory.  Warnings are errors
# here (WERROR=1), not in users' builds.
set -eu

WERROR=1
export WERROR

srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/test/deps.sh"

say() { printf 'make test: %s\n' "$*"; }

missing=$(rr_missing_packages)
work=$srcdir

cleanup()
{
	rc=$?
	if [ "$work" != "$srcdir" ]; then
		if [ "${KEEP_TMP:-0}" != 1 ] && [ $rc -eq 0 ]; then
			rm -rf "$work"
		else
			say "test files kept in $work"
		fi
	fi
	exit $rc
}
trap cleanup EXIT

if [ "$(id -u)" -eq 0 ]; then
	if [ -n "$missing" ]; then
		say "installing: $missing"
		# shellcheck disable=SC2086
		rr_install_packages $missing
	fi
	TEST_USER=${TEST_USER:-postgres}
	id "$TEST_USER" >/dev/null 2>&1 || { say "no user \"$TEST_USER\" to run the servers as"; exit 1; }
	work=$(mktemp -d /tmp/replroute-test.XXXXXX)
	chmod 755 "$work"
	rr_copy_tree "$srcdir" "$work"
	chown -R "$TEST_USER" "$work"
	as_user() { runuser -u "$TEST_USER" -- env HOME="$work" "$@"; }
	say "building in $work as $TEST_USER"
	as_user make -C "$work" -s all
	say "installing (as root)"
	make -C "$work" -s install
	ldconfig
else
	if [ -n "$missing" ]; then
		say "missing Debian packages: $missing"
		say "install them with: sudo apt-get install $missing   (or run: sudo make test)"
		exit 1
	fi
	as_user() { "$@"; }
	make -C "$work" -s all
	if ! make -C "$work" -s install; then
		say "could not install into $(pg_config --sharedir) and PREFIX; run: sudo make test"
		exit 1
	fi
fi

cd "$work"
say "client unit tests (ASan, UBSan) and exported symbols"
as_user make -s check-client
say "fuzzing the parsers (bounded)"
as_user make -s check-fuzz
say "pg_regress"
as_user pg_virtualenv -v "$PG_MAJOR" make -s installcheck-regress || {
	[ -f regression.diffs ] && cat regression.diffs
	exit 1
}
say "TAP tests"
as_user make -s installcheck-tap || {
	for f in $(grep -l -E 'not ok|Looks like your test|no plan was declared' \
		tmp_check/log/regress_log_* 2>/dev/null); do
		say "last lines of $f:"
		tail -n 60 "$f"
	done
	exit 1
}
