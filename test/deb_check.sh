#!/bin/sh
#
# deb_check.sh: the packaging and installation checks CI runs after
# "make test" (.ci/run), as root, on the machine make test installed
# replroute on.  Output is TAP ("ok N - ...", "not ok N - ..." with the end
# of the failing command's output as "#" lines, then the plan); the exit
# status is 1 if any check failed.
#
#  1. META.json is valid PGXN metadata (test/meta_check.pl).
#  2. Lean install, from a fresh copy: "make -n install" and the real
#     "make install" compile nothing with -fsanitize, build no test
#     program and add no -Werror; "make install && make uninstall" leaves
#     the install directories (pg_config's, PREFIX's) exactly as they were,
#     and so does the same with DESTDIR.
#  3. "make demo KEEP=1" as root: every hand-off command it prints, run by
#     root exactly as printed, succeeds, and the stop commands leave no
#     server and no directory behind.
#  4. "make deb" builds the four packages; lintian shows no error and no
#     warning that debian/*.lintian-overrides does not justify.
#  5. With make install's files removed, "dpkg -i" of the packages (and
#     "apt-get install -f" if dependencies are missing); then, against the
#     packaged files: the pg_regress suite (debian/tests/installcheck, in a
#     pg_virtualenv cluster, as the test user), test/deb_example.pl (the
#     README's C example built with pkg-config from libreplroute-dev and
#     run against a primary and a standby, the CLI), replroute --version,
#     man replroute, and every option of --help in the man page.
#  6. "dpkg --purge" of the packages leaves none of their files; make
#     install is then redone, so the machine is as make test left it.
#
# Environment: PG_MAJOR (default 15), TEST_USER (default postgres),
# PREFIX (default /usr/local), KEEP_TMP=1 keeps the scratch directory.

set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/test/deps.sh"

TEST_USER=${TEST_USER:-postgres}
PREFIX=${PREFIX:-/usr/local}
pgc=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PACKAGES="postgresql-$PG_MAJOR-replroute libreplroute1 libreplroute-dev replroute"

if [ "$(id -u)" -ne 0 ]; then
	echo "deb_check.sh: run me as root (CI does): I install and remove packages" >&2
	exit 2
fi
id "$TEST_USER" >/dev/null 2>&1 || { echo "deb_check.sh: no user \"$TEST_USER\"" >&2; exit 2; }
[ -x "$pgc" ] || { echo "deb_check.sh: $pgc not found (run make test first)" >&2; exit 2; }

work=$(mktemp -d /tmp/replroute-debcheck.XXXXXX)
chmod 755 "$work"
logs=$work/log
mkdir "$logs"

n=0
failed=0

# report STATUS DESCRIPTION [LOG]: one TAP line; on failure the log's end
report()
{
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		if [ -n "${3:-}" ] && [ -s "$3" ]; then
			tail -n 40 "$3" | sed 's/^/#   /'
		fi
	fi
}

# check DESCRIPTION CMD...: run CMD with its output in a log, report it
check()
{
	_d=$1
	shift
	_log=$logs/$((n + 1)).log
	"$@" >"$_log" 2>&1
	report $? "$_d" "$_log"
}

note() { printf '# %s\n' "$*"; }

# fresh_copy DIR: the source tree (no build products) in DIR
fresh_copy()
{
	rm -rf "$1"
	mkdir -p "$1"
	rr_copy_tree "$srcdir" "$1"
}

as_user() { runuser -u "$TEST_USER" -- env HOME="$work" "$@"; }
mk() { make -s PG_CONFIG="$pgc" "$@"; }

pkglibdir=$($pgc --pkglibdir)
sharedir=$($pgc --sharedir)
INSTALL_DIRS="$pkglibdir $sharedir/extension $PREFIX/bin $PREFIX/lib $PREFIX/include $PREFIX/share/man"

# snapshot FILE: every file and symbolic link under the install directories
snapshot()
{
	# shellcheck disable=SC2086
	find $INSTALL_DIRS \( -type f -o -type l \) 2>/dev/null | sort >"$1"
}

# none_of FILE: FILE (a snapshot) names no replroute file
none_of() { ! grep -i replroute "$1"; }

echo "# deb_check.sh: packages, lean install and demo hand-off (scratch: $work)"

#
# 1. PGXN metadata
#
check "META.json is valid PGXN metadata (test/meta_check.pl)" \
	sh -c "cd '$srcdir' && perl test/meta_check.pl"

#
# 2. Lean install
#
lean=$work/lean
fresh_copy "$lean"
check "make -n install runs" sh -c "cd '$lean' && make -n install PG_CONFIG='$pgc' >'$logs/n-install.log' 2>&1"
check "make install would run no -fsanitize compile" \
	sh -c "! grep -e '-fsanitize' '$logs/n-install.log'"
check "nor build a test program (unit_client, rr_test, thread_test, fuzzers)" \
	sh -c "! grep -E 'unit_client|rr_test|thread_test|fuzz_' '$logs/n-install.log'"
check "nor turn warnings into errors (no -Werror without WERROR=1)" \
	sh -c "! grep -E -e '-Werror( |\$)' '$logs/n-install.log'"

check "make uninstall removes make test's install" mk -C "$lean" uninstall
snapshot "$work/before"
check "no replroute file is left in $INSTALL_DIRS" none_of "$work/before"

check "make install, as root, from a fresh copy" \
	sh -c "make -C '$lean' install PG_CONFIG='$pgc' >'$logs/install.log' 2>&1"
check "its build log has no -fsanitize compile" sh -c "! grep -e '-fsanitize' '$logs/install.log'"
check "and it built no test program" sh -c "cd '$lean' &&
	for f in test/unit_client test/rr_test test/thread_test client/san; do
		[ ! -e \$f ] || { echo \"\$f was built\"; exit 1; }
	done"
check "make install put the extension, library, header, pkg-config file, CLI and man page in place" \
	sh -c "for f in '$pkglibdir/replroute.so' '$sharedir/extension/replroute.control' \
		'$PREFIX/lib/libreplroute.so.1' '$PREFIX/lib/libreplroute.a' \
		'$PREFIX/lib/pkgconfig/replroute.pc' '$PREFIX/include/replroute.h' \
		'$PREFIX/bin/replroute' '$PREFIX/share/man/man1/replroute.1'; do
		[ -e \"\$f\" ] || { echo \"missing: \$f\"; exit 1; }
	done"
check "make uninstall" mk -C "$lean" uninstall
snapshot "$work/after"
check "make install && make uninstall leaves the install directories as they were" \
	diff "$work/before" "$work/after"
check "with DESTDIR: make install && make uninstall leaves no file" sh -c "
	make -s -C '$lean' install DESTDIR='$work/dest' PG_CONFIG='$pgc' &&
	make -s -C '$lean' uninstall DESTDIR='$work/dest' PG_CONFIG='$pgc' &&
	left=\$(find '$work/dest' ! -type d) && echo \"\$left\" && [ -z \"\$left\" ]"

#
# 3. make demo KEEP=1, as root: the hand-off commands as printed
#
demo=$work/demo
fresh_copy "$demo"
check "make demo KEEP=1, as root" sh -c "make -s -C '$demo' demo KEEP=1 NO_COLOR=1 >'$logs/demo.log' 2>&1"
ddir=$(sed -n 's/^== Building a primary .* in \(\/.*\)$/\1/p' "$logs/demo.log" | head -n 1)
sed -n '/^The cluster is still running (KEEP=1). Try:$/,/^Stop it/p' "$logs/demo.log" |
	sed -n 's/^  //p' >"$work/try"
sed -n '/^Stop it and remove everything with:$/,$p' "$logs/demo.log" | sed -n 's/^  //p' >"$work/stop"
check "it prints commands to try and to stop it" sh -c "[ -s '$work/try' ] && [ -s '$work/stop' ] && [ -n '$ddir' ]"
for f in try stop; do
	while IFS= read -r line; do
		check "as root, as printed: $line" sh -c "$line" </dev/null
	done <"$work/$f"
done
# (a function, not sh -c: pgrep would find that shell's own command line)
no_demo_server() { [ -n "$ddir" ] && ! pgrep -a -f "$ddir/"; }
check "after the printed stop commands no server of the demo runs" no_demo_server
check "and its directory is gone" sh -c "[ -n '$ddir' ] && [ ! -e '$ddir' ]"
# whatever the commands did not stop
if [ -n "$ddir" ] && [ -d "$ddir" ]; then
	for pidfile in "$ddir"/*/postmaster.pid; do
		[ -f "$pidfile" ] && runuser -u "$TEST_USER" -- "$($pgc --bindir)/pg_ctl" \
			-D "$(dirname "$pidfile")" -m immediate stop >/dev/null 2>&1
	done
	rm -rf "$ddir"
fi
check "make uninstall of the demo's install" mk -C "$demo" uninstall

#
# 4. make deb and lintian
#
deb=$work/deb
fresh_copy "$deb"
out=$deb/build/deb
check "make deb" sh -c "LINTIAN=0 make -s -C '$deb' deb >'$logs/deb.log' 2>&1"
debs=""
for p in $PACKAGES; do
	f=$(ls "$out/${p}_"*.deb 2>/dev/null | head -n 1)
	check "package $p built" test -n "$f"
	debs="$debs $f"
done
lintian --info --fail-on error,warning "$out"/*.changes >"$logs/lintian.log" 2>&1
report $? "lintian: no error, no warning without a justified override" "$logs/lintian.log"
# every tag, the overridden ones too (O:), for the record
lintian --show-overrides --pedantic "$out"/*.changes 2>&1 |
	grep -v -e '^N:' -e '^running with root' | sed 's/^/#   lintian: /'

#
# 5. the packages, installed where make install never ran
#
snapshot "$work/pre-dpkg"
check "no make install file is left before the packages go in" none_of "$work/pre-dpkg"
# shellcheck disable=SC2086
check "dpkg -i of $PACKAGES" sh -c "dpkg -i $debs ||
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q --no-install-recommends"
check "all four installed" sh -c "for p in $PACKAGES; do
	dpkg-query -W -f='\${Status}\n' \$p | grep -q 'install ok installed' || { echo \"\$p not installed\"; exit 1; }
	done"

src=$work/src
fresh_copy "$src"
chown -R "$TEST_USER" "$src"
check "pg_regress against the packaged extension (debian/tests/installcheck, as $TEST_USER)" \
	as_user sh -c "cd '$src' && debian/tests/installcheck"
pgxs=$(dirname "$($pgc --pgxs)")/../..
check "the packaged files at work: test/deb_example.pl (as $TEST_USER)" \
	as_user sh -c "cd '$src' && mkdir -p tmp_check &&
		TESTDIR='$src' PATH='$($pgc --bindir)':\"\$PATH\" PG_REGRESS='$pgxs/src/test/regress/pg_regress' \
		prove -v -I '$pgxs/src/test/perl' -I test/perl test/deb_example.pl"
grep -E '^(ok|not ok) ' "$logs/$n.log" | sed 's/^/#   deb_example.pl: /'
check "replroute --version: $(/usr/bin/replroute --version 2>&1)" /usr/bin/replroute --version
check "man replroute finds /usr/share/man/man1/replroute.1.gz" \
	sh -c "[ \"\$(man -w replroute)\" = /usr/share/man/man1/replroute.1.gz ]"
check "man replroute renders without a warning" sh -c "
	LC_ALL=C MANWIDTH=100 man --warnings replroute 2>'$work/man.err' >'$work/man.txt';
	cat '$work/man.err'; [ ! -s '$work/man.err' ] && [ -s '$work/man.txt' ]"
check "every command and option of replroute --help is in replroute(1)" sh -c "
	missing='';
	for w in \$(replroute --help | sed -n 's/^ *replroute \([a-z]*\) .*/\1/p') \
		\$(replroute --help | grep -o -e '--[a-z][a-z-]*' | sort -u); do
		grep -q -F -e \"\$w\" '$work/man.txt' || missing=\"\$missing \$w\";
	done; echo \"missing:\$missing\"; [ -z \"\$missing\" ]"

#
# 6. removed again, then make test's install restored
#
dpkg -L $PACKAGES 2>/dev/null | sort -u | while IFS= read -r f; do
	[ -d "$f" ] || echo "$f"
done >"$work/packaged-files"
check "dpkg --purge of the packages" dpkg --purge $PACKAGES
check "none of their files is left" sh -c "while IFS= read -r f; do
	[ ! -e \"\$f\" ] || echo \"left: \$f\"; done <'$work/packaged-files' | grep . && exit 1; exit 0"
check "make install again (as make test left the machine)" sh -c "
	make -s -C '$lean' install PG_CONFIG='$pgc' >/dev/null && ldconfig"

echo "1..$n"
if [ "$failed" -gt 0 ]; then
	echo "# $failed of $n checks failed; logs kept in $logs"
	exit 1
fi
[ "${KEEP_TMP:-0}" = 1 ] && echo "# kept: $work" || rm -rf "$work"
exit 0
