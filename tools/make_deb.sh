#!/bin/sh
#
# make_deb.sh: what "make deb" does.
#
# Builds the Debian packages with dpkg-buildpackage -us -uc -b from a copy
# of the source tree in build/deb/replroute-VERSION/ (the tree itself stays
# clean), leaves the .deb, .buildinfo and .changes files in build/deb/ and
# runs lintian on them: it fails on an error or a warning that
# debian/*.lintian-overrides does not justify.  See doc/packaging.md.
#
# As root it first installs the missing build dependencies with apt-get;
# as another user it says which are missing.
#
# The extension package is built for every PostgreSQL major whose
# postgresql-server-dev-NN package is installed (pg_buildext and
# debian/pgversions decide; PG_SUPPORTED_VERSIONS=installed is the default
# here, set it to, say, "15" to choose).  debian/control is regenerated
# from debian/control.in in the copy to match.
#
# Environment: LINTIAN=0 skips lintian; KEEP_BUILD=1 keeps the build copy.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/test/deps.sh"

say() { printf 'make deb: %s\n' "$*"; }

# what dpkg-buildpackage, debian/rules and lintian need
DEB_PACKAGES="make gcc dpkg-dev debhelper fakeroot lintian pkgconf libpq-dev
postgresql-server-dev-all postgresql-common"

missing=""
for p in $DEB_PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		say "installing:$missing"
		# shellcheck disable=SC2086
		rr_install_packages $missing
	else
		say "missing Debian packages:$missing"
		say "install them with: sudo apt-get install$missing   (or run: sudo make deb)"
		exit 1
	fi
fi

version=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
upstream=${version%-*}
out=$srcdir/build/deb
tree=$out/replroute-$upstream

# copied outside the tree first: a tree without .git is copied whole
rm -rf "$out"
copy=$(mktemp -d "${TMPDIR:-/tmp}/replroute-deb.XXXXXX")
rr_copy_tree "$srcdir" "$copy"
mkdir -p "$out"
mv "$copy" "$tree"
chmod 755 "$tree"

PG_SUPPORTED_VERSIONS=${PG_SUPPORTED_VERSIONS:-installed}
export PG_SUPPORTED_VERSIONS
cd "$tree"
pg_buildext updatecontrol
say "building $version for PostgreSQL $(pg_buildext supported-versions | tr '\n' ' ')in $tree"
nice dpkg-buildpackage -us -uc -b
cd "$out"
[ "${KEEP_BUILD:-0}" = 1 ] || rm -rf "$tree"

changes=$(ls "$out"/replroute_*.changes)
say "packages in $out:"
for f in "$out"/*.deb; do
	printf '  %s\n' "$(basename "$f")"
done

if [ "${LINTIAN:-1}" != 0 ]; then
	say "lintian"
	lintian --info --display-info --fail-on error,warning "$changes"
	say "lintian: no error, no unjustified warning"
fi
