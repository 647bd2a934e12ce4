#!/bin/sh
# `make install DESTDIR=...` puts every file where the configure paths say
# (Debian's with --prefix=/usr --sysconfdir=/etc), the installed unit names
# the installed binary, the installed example configuration is valid, a
# second install keeps an operator's edited configuration, and
# `make uninstall` removes every file again.
set -u
builddir=${TOP_BUILDDIR:-$(dirname "$0")/../..}
MAKE=${MAKE:-make}
: "${INST_SBINDIR:?run from make check}" "${INST_MANDIR:?}" "${INST_SYSCONFDIR:?}"
unset MAKEFLAGS MFLAGS
tmp=$(mktemp -d /tmp/gslbd-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fail=0
check() { # what, file test, path
	if test "$2" "$dest$3"; then
		echo "ok: $1: $3"
	else
		echo "FAIL: $1: $3 is missing (test $2)"
		fail=1
	fi
}
if ! $MAKE -s -C "$builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	echo "FAIL: make install DESTDIR=$dest:"
	cat "$tmp/install.log"
	exit 1
fi
check "daemon" -x "$INST_SBINDIR/gslbd"
check "control client" -x "$INST_SBINDIR/gslbctl"
check "page" -f "$INST_MANDIR/man8/gslbd.8"
check "page" -f "$INST_MANDIR/man8/gslbctl.8"
check "page" -f "$INST_MANDIR/man5/gslbd.conf.5"
check "example configuration" -f "$INST_SYSCONFDIR/gslbd/gslbd.conf"
check "example zone" -f "$INST_SYSCONFDIR/gslbd/example.test.zone"
if [ -n "${INST_UNITDIR:-}" ]; then
	unit=$dest$INST_UNITDIR/gslbd.service
	check "systemd unit" -f "$INST_UNITDIR/gslbd.service"
	if [ -f "$unit" ]; then
		grep -q "^ExecStart=$INST_SBINDIR/gslbd -c $INST_SYSCONFDIR/gslbd/gslbd.conf\$" "$unit" ||
			{ echo "FAIL: the installed unit does not run $INST_SBINDIR/gslbd on $INST_SYSCONFDIR/gslbd/gslbd.conf:"; grep ^Exec "$unit"; fail=1; }
	fi
else
	echo "note: configured --without-systemdsystemunitdir: no unit installed"
fi

# The shipped configuration is valid (its state file and socket moved into
# the scratch root: /var/lib/gslbd and /run/gslbd are systemd's to make).
conf=$dest$INST_SYSCONFDIR/gslbd
mkdir -m 700 "$tmp/state"
sed -e "s|/var/lib/gslbd/state|$tmp/state/state|" -e "s|/run/gslbd/control.sock|$tmp/ctl.sock|" \
	"$conf/gslbd.conf" >"$conf/test.conf"
if ! out=$("$dest$INST_SBINDIR/gslbd" -t -c "$conf/test.conf" 2>&1); then
	echo "FAIL: the installed example configuration is not valid:"
	echo "$out"
	fail=1
else
	echo "ok: installed gslbd -t on the installed example: $out"
fi
rm -f "$conf/test.conf"

# An edited configuration survives a second install.
echo "# edited by the operator" >>"$conf/gslbd.conf"
$MAKE -s -C "$builddir" install DESTDIR="$dest" >"$tmp/install2.log" 2>&1 || { cat "$tmp/install2.log"; fail=1; }
grep -q "edited by the operator" "$conf/gslbd.conf" || { echo "FAIL: a second install replaced an edited gslbd.conf"; fail=1; }
# ... and uninstall leaves it, removing every file it installed.
$MAKE -s -C "$builddir" uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log"; fail=1; }
left=$(cd "$dest" && find . -type f | sort)
if [ "$left" != "./${INST_SYSCONFDIR#/}/gslbd/gslbd.conf" ]; then
	echo "FAIL: after make uninstall, files other than the edited gslbd.conf are left:"
	echo "$left"
	fail=1
else
	echo "ok: make uninstall removed everything but the edited configuration"
fi
[ $fail -eq 0 ] && echo "PASS: install layout"
exit $fail
