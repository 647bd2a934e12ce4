#!/bin/sh
# The manual pages lint clean (mandoc -Tlint, warnings and worse), and
# gslbctl(8) has an entry for every command `gslbctl --help` lists.
set -u
srcdir=$(cd "${TOP_SRCDIR:-$(dirname "$0")/../..}" && pwd)
builddir=$(cd "${TOP_BUILDDIR:-$srcdir}" && pwd)
GSLBCTL=${GSLBCTL:-$builddir/src/gslbctl}
if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP: man_lint.sh: mandoc is not installed (Debian: mandoc)"
	exit 77
fi
fail=0
for page in "$srcdir"/doc/gslbd.8 "$srcdir"/doc/gslbctl.8 "$srcdir"/doc/gslbd.conf.5; do
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: mandoc -Tlint -Wwarning $page:"
		echo "$out"
		fail=1
	else
		echo "ok: $page lints clean"
	fi
done
cmds=$("$GSLBCTL" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
if [ -z "$cmds" ]; then
	echo "FAIL: no commands read from gslbctl --help (did its format change?)"
	exit 1
fi
for c in $cmds; do
	if ! grep -q "^\.It Cm $c\( \|$\)" "$srcdir/doc/gslbctl.8"; then
		echo "FAIL: gslbctl command '$c' (gslbctl --help) has no '.It Cm $c' in doc/gslbctl.8"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "PASS: pages lint clean; gslbctl(8) lists:" $cmds
exit $fail
