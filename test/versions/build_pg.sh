#!/bin/sh
#
# build_pg.sh MAJOR: make sure PostgreSQL MAJOR, built from Debian's source
# package, is in the cache, and print its installation prefix on stdout
# (progress goes to stderr).  Used by test/versions/test_versions.sh
# ("make test-versions"); works on its own too.  Run as root.
#
# Source: "apt-get source --download-only postgresql-MAJOR" through a
# temporary sources list of its own.  Its archive addresses are those of the
# machine's own apt configuration (apt-get indextargets), with the suites
# that carry the newer majors (see RR_PG_SUITES); it has its own lists,
# cache and source-parts directories under the cache, so the machine's
# normal "apt-get install" never sees those suites.  The signed Release
# files are checked against Debian's archive keyring as usual; the files
# downloaded are checked against the signed indexes by apt.  Only the
# upstream tarball is built (Debian's patches move sockets and paths that a
# private test tree does not want).
#
# Build: configure --enable-tap-tests --enable-cassert --enable-debug
# --without-icu --without-readline, "make -j2" under nice, "make install"
# (server, client programs, headers, PGXS with pg_regress, and the TAP
# framework's Perl modules) into $RR_PG_CACHE/<version>.  A finished build
# leaves a stamp file naming the Debian version and the configure options
# and is reused while both match; a newer upload of the same major replaces
# it.  When the archive cannot be read or the source cannot be downloaded,
# an earlier finished build of the same major is used, with a note; with
# none, the script fails and says why.
#
# Environment:
#   RR_PG_CACHE   cache directory (default /var/cache/replroute-pg)
#   RR_PG_SUITES  suites searched in the main archive (default: trixie,
#                 trixie-updates, sid, experimental; trixie-security is
#                 searched in the security archive besides)
#   RR_PG_JOBS    make -j (default 2)
set -eu

# Called from "make test-versions": PostgreSQL's own build generates its
# headers only in a top-level make (MAKELEVEL 0), so drop what the calling
# make passed down.
unset MAKELEVEL MAKEFLAGS MFLAGS MAKEOVERRIDES

major=${1:?usage: build_pg.sh MAJOR}
cache=${RR_PG_CACHE:-/var/cache/replroute-pg}
jobs=${RR_PG_JOBS:-2}
suites_main=${RR_PG_SUITES:-trixie trixie-updates sid experimental}
configure_opts="--enable-tap-tests --enable-cassert --enable-debug --without-icu --without-readline"

say() { printf 'build_pg %s: %s\n' "$major" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it uses apt-get and writes $cache)"

mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" \
	"$cache/apt/all" "$cache/apt/main" "$cache/apt/security" "$cache/src"
chmod 755 "$cache"

# One run at a time, whoever runs it (builds share the cache and the cores).
exec 9>"$cache/.lock"
flock 9

# ---------------------------------------------------------------------------
# apt with a sources list of our own

# $cache/apt/all holds both archives' stanzas, main/ and security/ one each
# (a download is tried from each archive in turn: apt itself fetches a
# source package from one of them only).  The sandbox user _apt cannot
# write into root's cache; downloads run as root either way, and saying so
# only silences apt's warning about it.
apt_opts()
{
	echo "-o Dir::State::Lists=$cache/apt/lists -o Dir::Cache=$cache/apt/cache" \
		"-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$cache/apt/$1" \
		"-o APT::Sandbox::User=root"
}
# shellcheck disable=SC2046
rr_apt() { _parts=$1; shift; apt-get $(apt_opts "$_parts") "$@"; }
# shellcheck disable=SC2046
rr_apt_cache() { apt-cache $(apt_opts all) "$@"; }

# The machine's own archive addresses: the one serving this release and
# the one serving its security updates.
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' 2>/dev/null | sort -u)
main_uri=$(echo "$targets" | awk -v r="$codename" '$2 == r { print $1; exit }')
security_uri=$(echo "$targets" | awk -v r="$codename-security" '$2 == r { print $1; exit }')
[ -n "$main_uri" ] || die "no archive for \"$codename\" in the machine's apt configuration"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"

stanza() { printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$@"; }
rm -f "$cache/apt/all/"* "$cache/apt/main/"* "$cache/apt/security/"*
stanza "$main_uri" "$suites_main" "$keyring" >"$cache/apt/main/replroute-pg-main.sources"
cp "$cache/apt/main/replroute-pg-main.sources" "$cache/apt/all/"
archives=main
if [ -n "$security_uri" ]; then
	stanza "$security_uri" trixie-security "$keyring" >"$cache/apt/security/replroute-pg-security.sources"
	cp "$cache/apt/security/replroute-pg-security.sources" "$cache/apt/all/"
	archives="main security"
fi

# Refresh the indexes at most every 30 minutes (all majors share them).
apt_ok=1
if [ -z "$(find "$cache/apt/lists" -maxdepth 1 -name '*Sources*' -mmin -30 2>/dev/null)" ]; then
	say "reading the source indexes ($suites_main${security_uri:+ trixie-security})"
	if ! rr_apt all -q update >"$cache/apt/update.log" 2>&1 || grep -q '^[WE]:' "$cache/apt/update.log"; then
		sed 's/^/    /' "$cache/apt/update.log" >&2
		apt_ok=0
	fi
fi

# Every version of the source package in those suites, newest first.
pkg=postgresql-$major
versions=$(rr_apt_cache showsrc --only-source "$pkg" 2>/dev/null |
	awk '/^Version:/ { print $2 }' | sort -u)
sorted=""
for v in $versions; do
	# insertion sort by Debian version order, newest first
	out="" placed=0
	for w in $sorted; do
		if [ $placed = 0 ] && dpkg --compare-versions "$v" gt "$w"; then
			out="$out $v"
			placed=1
		fi
		out="$out $w"
	done
	[ $placed = 1 ] || out="$out $v"
	sorted=$out
done

# A finished build: its stamp says which Debian version and options.
stamp_of() { cat "$1/.replroute-pg-stamp" 2>/dev/null || true; }
builds_of_major()
{
	for d in "$cache"/"$major".* "$cache"/"$major"beta* "$cache"/"$major"rc*; do
		[ -d "$d" ] && echo "$d"
	done
}
fall_back()
{
	old=""
	for d in $(builds_of_major); do
		[ -f "$d/.replroute-pg-stamp" ] && old=$d
	done
	[ -n "$old" ] || die "$1; no earlier build of $major in $cache to use instead"
	say "$1"
	say "using the earlier build in $old (Debian version $(stamp_of "$old" | head -n 1)) instead"
	echo "$old"
	exit 0
}

if [ -z "$sorted" ]; then
	[ $apt_ok = 1 ] && fall_back "no source package $pkg in $main_uri ($suites_main)"
	fall_back "could not read the source indexes (see above)"
fi

# download: try the newest version first, from each archive that lists it
# (a version the indexes list can be missing from the archive's pool); stop
# at a version already built
tarball=""
for debver in $sorted; do
	# upstream version: no epoch, no Debian revision; "19~rc1" keys as "19rc1"
	upver=${debver#*:}
	upver=${upver%-*}
	key=$(echo "$upver" | tr -d '~')
	prefix=$cache/$key
	want=$(printf '%s\n%s\n' "$debver" "$configure_opts")
	if [ "$(stamp_of "$prefix")" = "$want" ]; then
		say "PostgreSQL $upver ($pkg $debver) already built in $prefix"
		echo "$prefix"
		exit 0
	fi

	srcdir=$cache/src/${pkg}_$debver
	if ls "$srcdir"/*.orig.tar.* >/dev/null 2>&1; then
		tarball=$(ls "$srcdir"/*.orig.tar.* | head -n 1)
		break
	fi
	for a in $archives; do
		rm -rf "$srcdir.part"
		mkdir -p "$srcdir.part"
		# skip an archive whose indexes do not list this version
		rr_apt "$a" -q source --download-only --print-uris "$pkg=$debver" 2>/dev/null |
			grep -q "^'" || continue
		say "downloading $pkg $debver from the $a archive"
		if (cd "$srcdir.part" && rr_apt "$a" -q source --download-only "$pkg=$debver") \
			>"$cache/src/download-$major.log" 2>&1; then
			rm -rf "$srcdir"
			mv "$srcdir.part" "$srcdir"
			tarball=$(ls "$srcdir"/*.orig.tar.* | head -n 1)
			break
		fi
		grep -E '^E:' "$cache/src/download-$major.log" | sed 's/^/    /' >&2 || true
	done
	rm -rf "$srcdir.part"
	[ -n "$tarball" ] && break
	say "could not download $pkg $debver"
done
[ -n "$tarball" ] || fall_back "no version of $pkg listed ($(echo $sorted)) could be downloaded from this machine's archives"


# ---------------------------------------------------------------------------
# build and install

build=$(mktemp -d "${TMPDIR:-/tmp}/replroute-pg$major.XXXXXX")
trap 'rm -rf "$build"' EXIT
log=$cache/build-$key.log
say "building PostgreSQL $upver in $build (log: $log)"
start=$(date +%s)
tar -xf "$tarball" -C "$build"
top=$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$top" ] || die "$tarball unpacked to nothing"

rm -rf "$prefix"
if [ -x "$top/configure" ]; then
	# shellcheck disable=SC2086
	if ! (cd "$top" && nice -n 10 ./configure --prefix="$prefix" $configure_opts &&
		nice -n 10 make -j"$jobs" -s &&
		nice -n 10 make -s install &&
		nice -n 10 make -s -C src/test/perl install) >"$log" 2>&1; then
		tail -n 40 "$log" | sed 's/^/    /' >&2
		die "building PostgreSQL $upver failed (last lines above, all in $log)"
	fi
else
	die "$tarball has no configure script (meson-only trees are not supported here)"
fi

pgc=$prefix/bin/pg_config
[ -x "$pgc" ] || die "the installation in $prefix has no bin/pg_config"
pgxs=$(dirname "$("$pgc" --pgxs)")/../..
for f in "$prefix/bin/initdb" "$prefix/bin/pg_ctl" "$prefix/bin/postgres" \
	"$prefix/bin/pg_basebackup" "$prefix/bin/psql" \
	"$("$pgc" --includedir-server)/postgres.h" "$("$pgc" --pgxs)" \
	"$pgxs/src/test/regress/pg_regress" \
	"$pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm"; do
	[ -e "$f" ] || die "the installation in $prefix lacks $f"
done

printf '%s\n' "$want" >"$prefix/.replroute-pg-stamp"
say "built PostgreSQL $upver in $(($(date +%s) - start)) s"

# Older builds of this major are superseded.
for d in $(builds_of_major); do
	[ "$d" != "$prefix" ] && rm -rf "$d"
done
for d in "$cache"/src/"$pkg"_*; do
	[ -d "$d" ] && [ "$d" != "$srcdir" ] && rm -rf "$d"
done

echo "$prefix"
