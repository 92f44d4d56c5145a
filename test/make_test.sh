#!/bin/sh
#
# make_test.sh: what "make test" does.
#
# 1. As root, installs the Debian packages that building and testing need
#    (only those missing).  As another user, says which are missing.
# 2. Copies the source to a scratch directory the unprivileged test user
#    can use (CI's clone may sit where that user cannot enter), builds there
#    and installs (as root).
# 3. Runs every suite as that user: client unit tests under ASan/UBSan and
#    the fuzzers (bounded), pg_regress against a throwaway pg_virtualenv
#    cluster, then the TAP tests (PostgreSQL::Test::Cluster).
#
# Environment: PG_MAJOR (default 15), TEST_USER (default postgres when run
# as root), KEEP_TMP=1 keeps the scratch directory.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}

# Packages, one per line: build tools, PostgreSQL server and headers, the
# TAP framework's IPC::Run, clang for libFuzzer and sanitizers.
PACKAGES="
make
gcc
clang
libclang-rt-14-dev
pkg-config
libpq-dev
postgresql-$PG_MAJOR
postgresql-server-dev-$PG_MAJOR
postgresql-common
libipc-run-perl
"

say() { printf 'make test: %s\n' "$*"; }

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ "$(id -u)" -eq 0 ]; then
	if [ -n "$missing" ]; then
		say "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing
	fi
	TEST_USER=${TEST_USER:-postgres}
	id "$TEST_USER" >/dev/null 2>&1 || { say "no user \"$TEST_USER\" to run the servers as"; exit 1; }
	work=$(mktemp -d /tmp/replroute-test.XXXXXX)
	chmod 755 "$work"
	# copy the source only (no build products of an earlier in-place build)
	if [ -d "$srcdir/.git" ] && command -v git >/dev/null 2>&1; then
		(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$work"
	else
		(cd "$srcdir" && tar -cf - --exclude=.git .) | tar -xf - -C "$work"
	fi
	chown -R "$TEST_USER" "$work"
	as_user() { runuser -u "$TEST_USER" -- env HOME="$work" "$@"; }
	say "building in $work as $TEST_USER"
	as_user make -C "$work" -s all
	say "installing (as root)"
	make -C "$work" -s install
	ldconfig
else
	if [ -n "$missing" ]; then
		say "missing Debian packages:$missing"
		say "install them with: sudo apt-get install$missing   (or run: sudo make test)"
		exit 1
	fi
	work=$srcdir
	as_user() { "$@"; }
	make -C "$work" -s all
	if ! make -C "$work" -s install; then
		say "could not install into $(pg_config --sharedir) and PREFIX; run: sudo make test"
		exit 1
	fi
fi

cleanup() {
	rc=$?
	if [ "$work" != "$srcdir" ] && [ "${KEEP_TMP:-0}" != 1 ] && [ $rc -eq 0 ]; then
		rm -rf "$work"
	elif [ "$work" != "$srcdir" ]; then
		say "test files kept in $work"
	fi
	exit $rc
}
trap cleanup EXIT

show_failures() {
	for f in "$work"/regression.diffs; do
		[ -f "$f" ] && { say "$f:"; cat "$f"; }
	done
	return 1
}

cd "$work"
as_user pg_virtualenv -v "$PG_MAJOR" make -s installcheck-regress || show_failures
as_user make -s installcheck-tap || {
	for f in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { say "last lines of $f:"; tail -n 40 "$f"; }
	done
	exit 1
}
