#!/bin/sh
#
# build_pg.sh MAJOR: make sure PostgreSQL MAJOR, from Debian's packages, is
# in the cache, and print its installation prefix (the directory holding
# bin/pg_config) on stdout; progress goes to stderr.  Used by
# test/versions/test_versions.sh ("make test-versions"); works on its own
# too.  Run as root.
#
# Two routes, in this order:
#
# 1. Source: "apt-get source --download-only postgresql-MAJOR", and the
#    upstream tarball is built: configure --enable-tap-tests
#    --enable-cassert --enable-debug --without-icu --without-readline,
#    "make -j2" under nice, "make install" (server, client programs,
#    headers, PGXS with pg_regress, the TAP framework's Perl modules, and
#    the contrib modules the suites use) into $RR_PG_CACHE/<version>.  Only the upstream tarball is built
#    (Debian's patches move sockets and paths that a private test tree does
#    not want).
#
# 2. Binary, when the archive lists no source or its source files cannot be
#    downloaded (the archive this machine reaches has answered 404 for
#    them): Debian's own binary packages postgresql-MAJOR,
#    postgresql-client-MAJOR (which carries PGXS, pg_regress and the TAP
#    modules), postgresql-server-dev-MAJOR and libpq5 of the same version,
#    plus every library package they need that this system does not
#    satisfy (newer glibc, ICU, OpenSSL, ...), taken from the same release
#    (for experimental: from sid), unpacked with dpkg-deb -x into
#    $RR_PG_CACHE/<version>.  Nothing is installed into the system.  Every
#    executable in bin/ and PGXS's test programs get that tree's own ELF
#    interpreter (its glibc) and an RPATH to its library directories
#    (patchelf), so they run here unchanged and nothing needs
#    LD_LIBRARY_PATH; PostgreSQL finds its share and lib directories
#    relative to its executable.  Server modules whose libraries the tree
#    lacks (llvmjit.so: LLVM is not fetched) are removed, so JIT is off.
#    PGXS's Makefile.global is adjusted for this machine's compiler:
#    with_llvm = no, and the CFLAGS this gcc does not know (the packages
#    were built with a newer one) are dropped; both are listed in the
#    output.
#
# The sources lists are our own: the archive addresses are those of the
# machine's own apt configuration (apt-get indextargets), with the suites
# that carry the newer majors (see RR_PG_SUITES); they have their own
# lists, cache and source-parts directories under the cache, so the
# machine's normal "apt-get install" never sees those suites.  The signed
# Release files are checked against Debian's archive keyring (apt); source
# files are checked against the signed Sources indexes by apt, and every
# .deb is checked against the SHA256 of the signed Packages index, by apt
# and here once more.
#
# A finished tree leaves a stamp file naming the Debian version and the
# route (configure options, or "binary packages") and is reused while it
# matches; a newer upload of the same major replaces it, and a source
# build, once possible, replaces a binary tree.  When the archive cannot be
# read, an earlier finished tree of the same major is used, with a note.
# When neither route works the script fails and says why.
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
# contrib modules the suites use: pg_walinspect for the freshness suite's
# ground truth (test/perl/ReplrouteFresh.pm); Debian's postgresql-MAJOR
# has all of contrib
contrib_modules="pg_walinspect"
binary_route_id="Debian binary packages, relocated (layout 1)"

say() { printf 'build_pg %s: %s\n' "$major" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it uses apt-get and writes $cache)"

for d in all main security bin; do mkdir -p "$cache/apt/$d"; done
mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" \
	"$cache/apt/binlists/partial" "$cache/apt/bincache/archives/partial" "$cache/src"
chmod 755 "$cache"

# One run at a time, whoever runs it (builds share the cache and the cores).
exec 9>"$cache/.lock"
flock 9

# ---------------------------------------------------------------------------
# apt with sources lists of our own

# $cache/apt/all holds both archives' deb-src stanzas, main/ and security/
# one each (a download is tried from each archive in turn: apt itself
# fetches a source package from one of them only); bin/ holds the deb
# stanzas, with lists and cache of their own (read only when the binary
# route is needed).  The sandbox user _apt cannot write into root's cache;
# downloads run as root either way, and saying so only silences apt's
# warning about it.  The package caches are kept (a system may switch them
# off, as Docker images do): the suites' indexes are large and read often.
apt_opts()
{
	case $1 in
		bin) _l=$cache/apt/binlists _c=$cache/apt/bincache ;;
		*) _l=$cache/apt/lists _c=$cache/apt/cache ;;
	esac
	echo "-o Dir::State::Lists=$_l -o Dir::Cache=$_c" \
		"-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin" \
		"-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$cache/apt/$1" \
		"-o APT::Sandbox::User=root -o Acquire::Languages=none"
}
# shellcheck disable=SC2046
rr_apt() { _parts=$1; shift; apt-get $(apt_opts "$_parts") "$@"; }
# shellcheck disable=SC2046
rr_apt_cache() { _parts=$1; shift; apt-cache $(apt_opts "$_parts") "$@"; }

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
arch=$(dpkg --print-architecture)

# stanza TYPE URI SUITES
stanza()
{
	printf 'Types: %s\nURIs: %s\nSuites: %s\nComponents: main\nArchitectures: %s\nSigned-By: %s\n' \
		"$1" "$2" "$3" "$arch" "$keyring"
}
rm -f "$cache/apt/all/"* "$cache/apt/main/"* "$cache/apt/security/"* "$cache/apt/bin/"*
stanza deb-src "$main_uri" "$suites_main" >"$cache/apt/main/replroute-pg-main.sources"
cp "$cache/apt/main/replroute-pg-main.sources" "$cache/apt/all/"
stanza deb "$main_uri" "$suites_main" >"$cache/apt/bin/replroute-pg-main.sources"
archives=main
security_suites=""
if [ -n "$security_uri" ]; then
	security_suites=trixie-security
	stanza deb-src "$security_uri" "$security_suites" >"$cache/apt/security/replroute-pg-security.sources"
	cp "$cache/apt/security/replroute-pg-security.sources" "$cache/apt/all/"
	stanza deb "$security_uri" "$security_suites" >"$cache/apt/bin/replroute-pg-security.sources"
	archives="main security"
fi

# refresh_lists PARTS PATTERN WHAT: "apt-get update" for PARTS unless its
# lists matching PATTERN are less than 30 minutes old (all majors share
# them).  Returns non-zero, after showing apt's messages, if the update
# failed or a signature did not verify.
refresh_lists()
{
	case $1 in bin) _l=$cache/apt/binlists ;; *) _l=$cache/apt/lists ;; esac
	[ -z "$(find "$_l" -maxdepth 1 -name "$2" -mmin -30 2>/dev/null)" ] || return 0
	say "reading the $3 indexes ($suites_main${security_suites:+ $security_suites})"
	if ! rr_apt "$1" -q update >"$cache/apt/update-$1.log" 2>&1 ||
		grep -q '^[WE]:' "$cache/apt/update-$1.log"; then
		sed 's/^/    /' "$cache/apt/update-$1.log" >&2
		return 1
	fi
	# an update that changed nothing leaves the files' times alone
	find "$_l" -maxdepth 1 -name "$2" -exec touch {} +
}

# newest_first: Debian versions on stdin, one a line; newest first on stdout
newest_first()
{
	_sorted=""
	while read -r _v; do
		[ -n "$_v" ] || continue
		_out="" _placed=0
		for _w in $_sorted; do
			if [ $_placed = 0 ] && [ "$_v" = "$_w" ]; then
				_placed=1	# already there
			elif [ $_placed = 0 ] && dpkg --compare-versions "$_v" gt "$_w"; then
				_out="$_out $_v"
				_placed=1
			fi
			_out="$_out $_w"
		done
		[ $_placed = 1 ] || _out="$_out $_v"
		_sorted=$_out
	done
	for _w in $_sorted; do echo "$_w"; done
}

# upstream version and cache key of a Debian version: no epoch, no Debian
# revision; "19~rc1" keys as "19rc1"
upstream_of() { _u=${1#*:}; echo "${_u%-*}"; }
key_of() { upstream_of "$1" | tr -d '~'; }

# A finished tree: its stamp says which Debian version and which route.
stamp_of() { cat "$1/.replroute-pg-stamp" 2>/dev/null || true; }
builds_of_major()
{
	for _d in "$cache"/"$major".* "$cache"/"$major"beta* "$cache"/"$major"rc*; do
		[ -d "$_d" ] && echo "$_d"
	done
}
# prefix_of TREE: where bin/pg_config is (a binary tree keeps Debian's
# layout below it)
prefix_of()
{
	if [ -x "$1/bin/pg_config" ]; then
		echo "$1"
	else
		echo "$1/usr/lib/postgresql/$major"
	fi
}
# done_with TREE: print its prefix, drop superseded trees, and end
done_with()
{
	for _d in $(builds_of_major); do
		[ "$_d" != "$1" ] && rm -rf "$_d"
	done
	prefix_of "$1"
	exit 0
}
fall_back()
{
	old=""
	for d in $(builds_of_major); do
		[ -f "$d/.replroute-pg-stamp" ] && old=$d
	done
	[ -n "$old" ] || die "$1; no earlier build of $major in $cache to use instead"
	say "$1"
	say "using the earlier tree in $old (Debian version $(stamp_of "$old" | head -n 1), $(stamp_of "$old" | sed -n 2p)) instead"
	prefix_of "$old"
	exit 0
}

# check_tree PREFIX: the installation has what the suites need
check_tree()
{
	_pgc=$1/bin/pg_config
	[ -x "$_pgc" ] || die "the installation in $1 has no bin/pg_config"
	_pgxs=$(dirname "$("$_pgc" --pgxs)")/../..
	for _f in "$1/bin/initdb" "$1/bin/pg_ctl" "$1/bin/postgres" \
		"$1/bin/pg_basebackup" "$1/bin/psql" \
		"$("$_pgc" --includedir-server)/postgres.h" "$("$_pgc" --pgxs)" \
		"$_pgxs/src/test/regress/pg_regress" \
		"$_pgxs/src/test/perl/PostgreSQL/Test/Cluster.pm"; do
		[ -e "$_f" ] || die "the installation in $1 lacks $_f"
	done
	"$1/bin/postgres" --version >/dev/null || die "$1/bin/postgres does not run"
}

# ---------------------------------------------------------------------------
# route 2: Debian's binary packages, relocated

# pkg_field PKG=VER FIELD: a field of that package's (first) record
pkg_field()
{
	rr_apt_cache bin show "$1" 2>/dev/null |
		awk -v f="$2" 'BEGIN { n = length(f) + 1 }
			/^$/ { exit }
			substr($0, 1, n) == f ":" { sub(/^[^:]*: */, ""); print }'
}

# suites_of PKG VER: the suites whose Packages index lists PKG at VER
suites_of()
{
	rr_apt_cache bin madison "$1" 2>/dev/null |
		awk -F' [|] ' -v v="$2" '{ gsub(/ /, "", $2) } $2 == v { split($3, a, " "); sub(/\/.*/, "", a[2]); print a[2] }'
}

# candidate PKG: the version to take PKG at, newest in the first tier of
# $runtime_tiers (";"-separated lists of suites) that has it; empty if none
candidate()
{
	_c_all=$(rr_apt_cache bin madison "$1" 2>/dev/null |
		awk -F' [|] ' '{ gsub(/ /, "", $2); split($3, a, " "); sub(/\/.*/, "", a[2]); print $2, a[2] }')
	_c_ifs=$IFS
	IFS=';'
	for _c_tier in $runtime_tiers; do
		IFS=$_c_ifs
		_c_vs=$(echo "$_c_all" | awk -v t=" $_c_tier " 'index(t, " " $2 " ") { print $1 }' | newest_first | head -n 1)
		if [ -n "$_c_vs" ]; then
			echo "$_c_vs"
			return 0
		fi
		IFS=';'
	done
	IFS=$_c_ifs
}

# system_satisfies NAME OP VERSION: the installed system has NAME (OP
# VERSION); OP and VERSION may be empty
system_satisfies()
{
	_ss_st=$(dpkg-query -W -f '${db:Status-Status} ${Version}' "$1" 2>/dev/null || true)
	case $_ss_st in installed\ *) ;; *) return 1 ;; esac
	[ -z "$2" ] && return 0
	case $2 in
		'>=') _ss_op=ge ;; '<=') _ss_op=le ;; '>>') _ss_op=gt ;; '<<') _ss_op=lt ;; '=') _ss_op=eq ;;
		*) return 1 ;;
	esac
	dpkg --compare-versions "${_ss_st#installed }" "$_ss_op" "$3"
}

# resolve: grow $want_pkgs ("name=version" words) with the library
# packages that $follow_pkgs depend on and this system does not satisfy,
# recursively.  Only library packages (lib*, zlib*) are followed: the rest
# (postgresql-common, tzdata, debconf, ...) is packaging, not needed to run
# the programs; LLVM is left out (JIT off).  Sets resolve_error.
resolve()
{
	resolve_error=""
	_queue=$follow_pkgs
	while [ -n "$_queue" ]; do
		_item=${_queue%% *}
		_queue=${_queue#"$_item"}
		_queue=${_queue# }
		_deps=$(printf '%s, %s' "$(pkg_field "$_item" Pre-Depends)" "$(pkg_field "$_item" Depends)" |
			tr ',' '\n' | sed 's/^ *//; s/ *$//; s/:any//g' | grep -v '^$' || true)
		_nl='
'
		_old_ifs=$IFS
		IFS=$_nl
		for _group in $_deps; do
			IFS=$_old_ifs
			_satisfied=0 _pick="" _pick_op="" _pick_ver=""
			_alts=$(echo "$_group" | tr '|' '\n' | sed 's/^ *//; s/ *$//')
			while read -r _n _rest; do
				[ -n "$_n" ] || continue
				_op=$(echo "$_rest" | sed -n 's/^(\([<>=]*\) *\(.*\))$/\1/p')
				_ver=$(echo "$_rest" | sed -n 's/^(\([<>=]*\) *\(.*\))$/\2/p')
				case " $want_pkgs " in
					*" $_n="*) _satisfied=1; break ;;
				esac
				if system_satisfies "$_n" "$_op" "$_ver"; then
					_satisfied=1
					break
				fi
				case $_n in
					libllvm*) continue ;;
					lib*|zlib*) [ -z "$_pick" ] && _pick=$_n _pick_op=$_op _pick_ver=$_ver ;;
				esac
			done <<EOF
$_alts
EOF
			if [ $_satisfied = 0 ] && [ -n "$_pick" ]; then
				_v=$(candidate "$_pick")
				if [ -z "$_v" ]; then
					resolve_error="$_item needs $_pick, which no suite of \"$runtime_tiers\" has"
					return 1
				fi
				if [ -n "$_pick_op" ] && ! dpkg --compare-versions "$_v" \
					"$(case $_pick_op in '>=') echo ge ;; '<=') echo le ;; '>>') echo gt ;; '<<') echo lt ;; *) echo eq ;; esac)" "$_pick_ver"; then
					resolve_error="$_item needs $_pick ($_pick_op $_pick_ver); the suites have $_v"
					return 1
				fi
				want_pkgs="$want_pkgs $_pick=$_v"
				_queue="$_queue $_pick=$_v"
			fi
			IFS=$_nl
		done
		IFS=$_old_ifs
	done
}

# binary_route REASON: route 2; REASON says why the source route failed
binary_route()
{
	reason=$1
	if ! refresh_lists bin '*Packages*' "binary package"; then
		fall_back "$reason; the binary package indexes could not be read either (see above)"
	fi
	bin_versions=$(rr_apt_cache bin madison "$pkg" 2>/dev/null |
		awk -F' [|] ' '{ gsub(/ /, "", $2); print $2 }' | newest_first)
	[ -n "$bin_versions" ] ||
		fall_back "$reason; and no suite has the binary package $pkg either"
	debver=$(echo "$bin_versions" | head -n 1)
	upver=$(upstream_of "$debver")
	key=$(key_of "$debver")
	tree=$cache/$key
	want=$(printf '%s\n%s\n' "$debver" "$binary_route_id")
	if [ "$(stamp_of "$tree")" = "$want" ]; then
		say "PostgreSQL $major: $reason; using Debian's binary packages $debver, relocated with their own glibc, already unpacked in $tree"
		done_with "$tree"
	fi
	say "PostgreSQL $major: $reason; using Debian's binary packages $debver, relocated with their own glibc"
	command -v patchelf >/dev/null ||
		die "the binary route needs patchelf (Debian package patchelf), which is not installed"

	# where its libraries come from: the release the packages belong to
	# (experimental is not a whole release: sid, then experimental)
	first_suite=$(suites_of "$pkg" "$debver" | head -n 1)
	base=${first_suite%-security}
	base=${base%-updates}
	base=${base%-backports}
	if [ "$base" = experimental ]; then
		runtime_tiers="sid;experimental"
	else
		runtime_tiers="$base $base-updates $base-security"
	fi

	want_pkgs=""
	for p in "$pkg" "postgresql-client-$major" "postgresql-server-dev-$major" libpq5; do
		[ -n "$(pkg_field "$p=$debver" Version)" ] ||
			fall_back "$reason; and no suite has $p at version $debver"
		want_pkgs="$want_pkgs $p=$debver"
	done
	want_pkgs=${want_pkgs# }
	follow_pkgs="$pkg=$debver postgresql-client-$major=$debver libpq5=$debver"
	resolve || fall_back "$reason; and the binary packages cannot be completed: $resolve_error"
	say "packages (from $first_suite; libraries from $(echo "$runtime_tiers" | sed 's/;/, then /')): $want_pkgs"

	# download, and check each file against the signed index
	debs=$cache/debs-$key
	rm -rf "$debs"
	mkdir -p "$debs"
	# shellcheck disable=SC2086
	if ! (cd "$debs" && rr_apt bin -q download $want_pkgs) >"$debs/download.log" 2>&1; then
		grep -E '^E:' "$debs/download.log" | sed 's/^/    /' >&2 || true
		fall_back "$reason; and the binary packages could not be downloaded either"
	fi
	for p in $want_pkgs; do
		sums=$(rr_apt_cache bin show "$p" 2>/dev/null | awk '/^SHA256:/ { print $2 }')
		found=""
		for f in "$debs"/*.deb; do
			if [ "$(dpkg-deb -f "$f" Package)=$(dpkg-deb -f "$f" Version)" = "$p" ]; then
				found=$f
				break
			fi
		done
		[ -n "$found" ] || die "apt-get download left no .deb for $p"
		sum=$(sha256sum "$found" | awk '{ print $1 }')
		echo "$sums" | grep -qx "$sum" ||
			die "$(basename "$found"): SHA256 $sum is not the signed index's ($sums)"
	done
	say "downloaded $(echo "$want_pkgs" | wc -w) packages, SHA256 as in the signed Packages indexes"

	rm -rf "$tree"
	mkdir -p "$tree"
	for f in "$debs"/*.deb; do
		dpkg-deb -x "$f" "$tree"
	done
	prefix=$tree/usr/lib/postgresql/$major
	[ -x "$prefix/bin/postgres" ] || die "the packages put no bin/postgres into $prefix"

	# the tree's own glibc, and its library directories
	multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
	ldname=$(basename "$(patchelf --print-interpreter /bin/sh)")
	interp=""
	for d in "$tree/usr/lib/$multiarch" "$tree/lib/$multiarch" "$tree/usr/lib64" "$tree/lib64"; do
		if [ -e "$d/$ldname" ]; then
			interp=$d/$ldname
			break
		fi
	done
	libpath=""
	for d in "$tree/usr/lib/$multiarch" "$tree/lib/$multiarch"; do
		[ -d "$d" ] && [ ! -L "$d" ] && libpath="$libpath${libpath:+:}$d"
	done
	# missing_libs FILE [PATH]: the libraries of FILE the loader cannot
	# find (PATH: as if FILE were loaded by a program with that RPATH)
	missing_libs()
	{
		if [ -z "$interp" ]; then
			ldd "$1" 2>&1
		elif [ -n "${2:-}" ]; then
			"$interp" --library-path "$2" --list "$1" 2>&1
		else
			"$interp" --list "$1" 2>&1
		fi | sed -n -e 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' \
			-e 's/.*error while loading shared libraries: \([^:]*\):.*/\1/p' | sort -u | tr '\n' ' '
	}
	pgxsdir=$prefix/lib/pgxs
	patched=0
	for f in "$prefix"/bin/* "$pgxsdir"/src/test/regress/pg_regress "$pgxsdir"/src/test/isolation/*; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		patchelf --print-interpreter "$f" >/dev/null 2>&1 || continue	# not a dynamic executable
		[ -z "$interp" ] || patchelf --set-interpreter "$interp" "$f"
		patchelf --force-rpath --set-rpath "$libpath" "$f"
		missing=$(missing_libs "$f")
		[ -z "$missing" ] || die "$f needs ${missing% }, which neither the tree nor the system has"
		patched=$((patched + 1))
	done
	say "patched $patched executables: interpreter ${interp:-unchanged}, RPATH $libpath"

	# server modules that cannot load here: out (a failed load is an ERROR)
	removed=""
	for f in "$prefix"/lib/*.so; do
		[ -f "$f" ] || continue
		missing=$(missing_libs "$f" "$libpath")
		if [ -n "$missing" ]; then
			rm -f "$f"
			removed="$removed $(basename "$f") (needs ${missing% })"
		fi
	done
	[ -z "$removed" ] || say "removed server modules whose libraries are not in the tree:$removed"

	# PGXS for this machine's compiler
	mg=$pgxsdir/src/Makefile.global
	[ -f "$mg" ] || die "no $mg in the packages"
	cc=$(sed -n 's/^CC = //p' "$mg")
	command -v "${cc%% *}" >/dev/null 2>&1 || cc=gcc
	kept="" dropped=""
	for flag in $(sed -n 's/^CFLAGS = //p' "$mg"); do
		# gcc refuses an option it does not know (and ignores an unknown
		# -Wno-...); each flag is tried after those kept before it
		# shellcheck disable=SC2086
		if echo 'int x;' | "$cc" $kept "$flag" -c -x c - -o /dev/null 2>/dev/null; then
			kept="$kept $flag"
		else
			dropped="$dropped $flag"
		fi
	done
	{
		sed -e 's/^with_llvm[ 	]*=.*/with_llvm	= no/' \
			-e "s|^CC = .*|CC = $cc|" \
			-e '/^CFLAGS = /d' "$mg" |
			awk -v cflags="CFLAGS =$kept" '{ print } /^CXX = / && !done { print cflags; done = 1 }'
	} >"$mg.new"
	grep -q '^CFLAGS = ' "$mg.new" || echo "CFLAGS =$kept" >>"$mg.new"
	printf '# build_pg.sh (replroute): with_llvm = no (LLVM not fetched), CC = %s,\n# CFLAGS without%s\n' \
		"$cc" "${dropped:- nothing}" >>"$mg.new"
	mv "$mg.new" "$mg"
	say "PGXS: with_llvm = no, CC = $cc${dropped:+, CFLAGS this gcc does not know dropped:$dropped}"

	check_tree "$prefix"
	echo "$want_pkgs" | tr ' ' '\n' >"$tree/.replroute-pg-packages"
	printf '%s\n' "$want" >"$tree/.replroute-pg-stamp"
	rm -rf "$debs"
	say "PostgreSQL $upver ready in $tree ($("$prefix/bin/postgres" --version))"
	done_with "$tree"
}

# ---------------------------------------------------------------------------
# route 1: the source package

pkg=postgresql-$major
apt_ok=1
refresh_lists all '*Sources*' "source" || apt_ok=0

# Every version of the source package in those suites, newest first.
sorted=$(rr_apt_cache all showsrc --only-source "$pkg" 2>/dev/null |
	awk '/^Version:/ { print $2 }' | newest_first)

if [ -z "$sorted" ]; then
	[ $apt_ok = 1 ] || fall_back "could not read the source indexes (see above)"
	binary_route "no source package $pkg in $main_uri ($suites_main)"
fi

# download: try the newest version first, from each archive that lists it
# (a version the indexes list can be missing from the archive's pool); stop
# at a version already built
tarball=""
http_errors=""
for debver in $sorted; do
	upver=$(upstream_of "$debver")
	key=$(key_of "$debver")
	tree=$cache/$key
	want=$(printf '%s\n%s; contrib: %s\n' "$debver" "$configure_opts" "$contrib_modules")
	if [ "$(stamp_of "$tree")" = "$want" ]; then
		say "PostgreSQL $upver ($pkg $debver) already built in $tree"
		done_with "$tree"
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
		# "E: Failed to fetch URL  404  Not Found [...]": "404 FILE"
		http_errors="$http_errors$(awk '/^E: Failed to fetch [a-z]+:\/\// {
				n = split($5, p, "/"); f = p[n]; gsub(/%2[bB]/, "+", f); gsub(/%7[eE]/, "~", f)
				print $6, f }' "$cache/src/download-$major.log")
"
	done
	rm -rf "$srcdir.part"
	[ -n "$tarball" ] && break
	say "could not download $pkg $debver"
done
if [ -z "$tarball" ]; then
	# "HTTP 404 for a.dsc, a.orig.tar.bz2", each file once
	http_errors=$(printf '%s' "$http_errors" | awk 'NF == 2 && !seen[$2]++ {
			if (!($1 in files)) order[++n] = $1
			files[$1] = files[$1] (files[$1] == "" ? "" : ", ") $2 }
		END { for (i = 1; i <= n; i++) printf "%sHTTP %s for %s", (i > 1 ? "; " : ""), order[i], files[order[i]] }')
	binary_route "source files not downloadable from the archive (${http_errors:-no file could be fetched})"
fi


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

rm -rf "$tree"
if [ -x "$top/configure" ]; then
	# shellcheck disable=SC2086
	if ! (cd "$top" && nice -n 10 ./configure --prefix="$tree" $configure_opts &&
		nice -n 10 make -j"$jobs" -s &&
		nice -n 10 make -s install &&
		nice -n 10 make -s -C src/test/perl install &&
		for m in $contrib_modules; do
			nice -n 10 make -s -C "contrib/$m" install || exit 1
		done) >"$log" 2>&1; then
		tail -n 40 "$log" | sed 's/^/    /' >&2
		die "building PostgreSQL $upver failed (last lines above, all in $log)"
	fi
else
	die "$tarball has no configure script (meson-only trees are not supported here)"
fi

check_tree "$tree"
printf '%s\n' "$want" >"$tree/.replroute-pg-stamp"
say "built PostgreSQL $upver in $(($(date +%s) - start)) s"

for d in "$cache"/src/"$pkg"_*; do
	[ -d "$d" ] && [ "$d" != "$srcdir" ] && rm -rf "$d"
done
done_with "$tree"
