# deps.sh: the Debian packages replroute needs to build, test and demo, and
# how to get them.  Sourced by test/make_test.sh and examples/demo/make_demo.sh.
#
#   rr_missing_packages [test]  prints the missing ones (space-separated);
#                           "test" adds those only "make test" needs
#   rr_install_packages P.. apt-get installs them (root only)

PG_MAJOR=${PG_MAJOR:-15}

# build tools, the PostgreSQL server and its headers, libpq, the TAP
# framework's IPC::Run, clang and its runtime for libFuzzer and sanitizers,
# Python with Django and psycopg2 for the Python package's tests, and venv,
# pip, setuptools and wheel to install it into a venv offline
# (pip install --no-build-isolation ./python); pgbouncer for the probe's
# test behind a pooler; locales for a comma-decimal locale in the unit tests.
RR_PACKAGES="make gcc clang libclang-rt-14-dev pkg-config libpq-dev
postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-common
libipc-run-perl python3 python3-django python3-psycopg2
python3-venv python3-pip python3-setuptools python3-wheel pgbouncer locales"

# for "make test" only: promtool (in Debian's prometheus package),
# node_exporter and postgres_exporter, for the test of "replroute metrics"
# and of examples/monitoring (test/t/032_cli_monitoring.pl runs them itself
# on free loopback ports; the packages' own services are not used).
RR_TEST_PACKAGES="prometheus prometheus-node-exporter prometheus-postgres-exporter"

# "make test-versions" besides (test/versions/): building PostgreSQL from
# its release tarball needs bison, flex and Perl (17 and later ship no
# generated parsers), zlib's headers (configure's default), and bzip2 for
# the tarball; the TAP framework needs IPC::Run (above) and Perl's core
# Test::More and Time::HiRes.  Where the archive serves no source files,
# Debian's binary packages are used instead, relocated with patchelf.
RR_VERSION_PACKAGES="make gcc bison flex perl zlib1g-dev bzip2 xz-utils
debian-archive-keyring patchelf"

# rr_missing_packages [test]: with "test", the test-only packages too
rr_missing_packages()
{
	_missing=""
	_wanted=$RR_PACKAGES
	[ "${1:-}" = test ] && _wanted="$RR_PACKAGES $RR_TEST_PACKAGES"
	for _p in $_wanted; do
		if ! dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q "install ok installed"; then
			_missing="$_missing $_p"
		fi
	done
	echo $_missing
}

rr_install_packages()
{
	[ $# -gt 0 ] || return 0
	DEBIAN_FRONTEND=noninteractive
	export DEBIAN_FRONTEND
	# no package starts a system service here (pgbouncer would): the tests
	# start their own servers
	_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		_policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' > "$_policy"
		chmod 755 "$_policy"
	fi
	_rc=0
	apt-get update -q || _rc=$?
	[ $_rc -ne 0 ] || apt-get install -y -q --no-install-recommends "$@" || _rc=$?
	[ -z "$_policy" ] || rm -f "$_policy"
	return $_rc
}

# rr_copy_tree SRC DST: copy the source tree (tracked and untracked files,
# not build products or .git) into DST.
rr_copy_tree()
{
	if [ -d "$1/.git" ] && command -v git >/dev/null 2>&1; then
		(cd "$1" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$2"
	else
		(cd "$1" && tar -cf - --exclude=.git .) | tar -xf - -C "$2"
	fi
}
