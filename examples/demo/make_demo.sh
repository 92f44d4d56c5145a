#!/bin/sh
#
# make_demo.sh: what "make demo" does.
#
# As root: installs the Debian packages replroute needs (only the missing
# ones), builds and installs replroute, then runs the demo as the
# unprivileged "postgres" user from a scratch copy (PostgreSQL refuses to
# run as root).  As another user: says exactly what is missing, or runs the
# demo if replroute is installed.  KEEP=1 is passed on.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
. "$srcdir/test/deps.sh"

say() { printf 'make demo: %s\n' "$*"; }

missing=$(rr_missing_packages)
if [ "$(id -u)" -eq 0 ]; then
	if [ -n "$missing" ]; then
		say "installing: $missing"
		# shellcheck disable=SC2086
		rr_install_packages $missing
	fi
	say "building and installing replroute"
	make -C "$srcdir" -s client
	make -C "$srcdir" -s install >/dev/null
	ldconfig
	DEMO_USER=${DEMO_USER:-postgres}
	work=$(mktemp -d /tmp/replroute-demo-src.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	# the demo itself gets the signal too (same process group) and cleans up
	trap 'exit 130' INT
	trap 'exit 129' HUP
	trap 'exit 143' TERM
	cp "$srcdir/examples/demo/demo.sh" "$srcdir/examples/demo/traffic.c" "$work/"
	chmod 755 "$work"
	chown -R "$DEMO_USER" "$work"
	say "running the demo as $DEMO_USER"
	cd /tmp
	runuser -u "$DEMO_USER" -- env KEEP="${KEEP:-0}" NO_COLOR="${NO_COLOR:-}" \
		DEMO_AS="runuser -u $DEMO_USER -- " PATH="/usr/local/bin:$PATH" sh "$work/demo.sh"
	exit $?
fi

if [ -n "$missing" ] || ! command -v replroute >/dev/null 2>&1 ||
	! pkg-config --exists replroute 2>/dev/null; then
	[ -n "$missing" ] && say "missing Debian packages: $missing"
	command -v replroute >/dev/null 2>&1 || say "replroute is not installed"
	say "run \"sudo make demo\" (installs everything, then runs the demo as postgres),"
	say "or: sudo apt-get install ${missing:-<nothing>}; sudo make install; make demo"
	exit 1
fi
exec sh "$srcdir/examples/demo/demo.sh"
