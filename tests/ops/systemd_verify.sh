#!/bin/sh
# contrib/systemd/gslbd.service passes `systemd-analyze verify`: a copy with
# @sbindir@ pointing at the built binaries (verify checks that ExecStart= and
# the others are executable) and the manual pages of Documentation= findable.
# Any message fails the test, not only a non-zero exit.
set -u
srcdir=$(cd "${TOP_SRCDIR:-$(dirname "$0")/../..}" && pwd)
builddir=$(cd "${TOP_BUILDDIR:-$srcdir}" && pwd)
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd_verify.sh: systemd-analyze is not installed (Debian: systemd)"
	exit 77
fi
tmp=$(mktemp -d /tmp/gslbd-unit-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/gslbd" "$tmp/man/man5" "$tmp/man/man8"
sed -e "s|@sbindir@|$builddir/src|g" -e "s|@sysconfdir@|$tmp/etc|g" \
	"$srcdir/contrib/systemd/gslbd.service.in" >"$tmp/gslbd.service"
cp "$srcdir"/doc/*.5 "$tmp/man/man5/"
cp "$srcdir"/doc/*.8 "$tmp/man/man8/"
# The template's own lines, not just the copy: every @VAR@ must have been
# replaced (a new one needs a sed here and in Makefile.am).
if grep -n '@[a-z_]*@' "$tmp/gslbd.service"; then
	echo "FAIL: unsubstituted @...@ left in the unit (add it to the sed in Makefile.am)"
	exit 1
fi
# Documentation= is checked by running man(1) on each page (ours, through
# MANPATH); without man-db that part is left out, and said.
man_opt=""
if ! command -v man >/dev/null 2>&1; then
	echo "SKIP: systemd_verify.sh: Documentation= pages not checked: man is not installed (Debian: man-db)"
	man_opt="--man=no"
fi
out=$(MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify $man_opt "$tmp/gslbd.service" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):"
	echo "$out"
	exit 1
fi
# What the unit must keep (the hardening is the point of it).
for want in '^Type=notify$' '^User=gslbd$' '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' \
	'^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' '^NoNewPrivileges=yes$' \
	'^ProtectSystem=strict$' '^StateDirectory=gslbd$' '^RuntimeDirectory=gslbd$' \
	'^ExecReload=.*/gslbctl .*reload$' '^ExecStartPre=.*/gslbd -t ' '^WatchdogSec=' \
	'^SystemCallFilter=@system-service$' '^Restart=on-failure$'; do
	if ! grep -q "$want" "$tmp/gslbd.service"; then
		echo "FAIL: the unit has no line matching $want"
		exit 1
	fi
done
echo "PASS: systemd-analyze verify: no message; hardening lines present"
