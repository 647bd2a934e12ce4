#!/bin/sh
# contrib/package/dist-check.sh -- every file git tracks is in the release
# tarball (`make dist`), so that a build, the test suite, the fuzz corpora
# and the benchmarks work from it; then `make distcheck` (the tarball
# configured, built and tested in a VPATH build, installed and uninstalled).
#   dist-check.sh            both
#   dist-check.sh --quick    only the file list (seconds)
# Run from a configured git checkout. Files left out on purpose: .gitignore.
set -eu
cd "$(dirname "$0")/../.."
[ -f Makefile ] || { echo "dist-check.sh: configure first (./contrib/setup.sh)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/gslbd-dist-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$(sed -n 's/^AC_INIT(\[gslbd\], \[\([^]]*\)\].*/\1/p' configure.ac)
make -s dist >/dev/null
tar -tzf "gslbd-$version.tar.gz" | sed "s|^gslbd-$version/||" | sort >"$tmp/dist"
git ls-files | grep -v '^\.gitignore$' | sort >"$tmp/git"
missing=$(comm -13 "$tmp/dist" "$tmp/git")
rm -f "gslbd-$version.tar.gz"
if [ -n "$missing" ]; then
	echo "dist-check.sh: FAIL: tracked files missing from the tarball (add them to EXTRA_DIST or a dist_ variable in Makefile.am):"
	echo "$missing"
	exit 1
fi
echo "dist-check.sh: every tracked file is in gslbd-$version.tar.gz"
if [ "${1:-}" != "--quick" ]; then
	make -s distcheck
	rm -f "gslbd-$version.tar.gz"
fi
