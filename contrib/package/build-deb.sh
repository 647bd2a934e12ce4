#!/bin/sh
# contrib/package/build-deb.sh -- build gslbd's Debian package from a clean
# export of the committed tree (git archive HEAD) with contrib/debian as its
# debian/ directory.
#
#   build-deb.sh [--out DIR] [--with-tests]   build the .deb (dpkg-buildpackage
#        -us -uc -b), check its layout with dpkg -x and dpkg-deb, run lintian
#        on it if installed; the .deb and the build log end up in DIR
#        (default: a new /tmp/gslbd-deb-XXXXXX). Without --with-tests the
#        build runs with DEB_BUILD_OPTIONS=nocheck (the suite is make check's).
#   build-deb.sh --check   the short mode, for CI: the packaging parses
#        (changelog, control, rules through `dh binary --no-act`), its
#        version is configure.ac's, the build dependencies are installed,
#        and the maintainer scripts are valid sh. Seconds, no build.
#
# Needs: git, dpkg-dev, debhelper (and for a build fakeroot is not needed:
# Rules-Requires-Root: no); lintian is optional.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
mode=build
out=""
tests=no
while [ $# -gt 0 ]; do
	case "$1" in
	--check) mode=check ;;
	--out) out=$2; shift ;;
	--with-tests) tests=yes ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "build-deb.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "build-deb.sh: FAIL: $*" >&2; exit 1; }
for tool in git dpkg-parsechangelog dpkg-checkbuilddeps dh; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool not found (Debian: git, dpkg-dev, debhelper)"
done
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || die "$top is not a git checkout"

version=$(dpkg-parsechangelog -l "$top/contrib/debian/changelog" -S Version)
upstream=$(sed -n 's/^AC_INIT(\[gslbd\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
[ -n "$version" ] || die "contrib/debian/changelog: no version"
[ "${version%%-*}" = "$upstream" ] ||
	die "contrib/debian/changelog says $version, configure.ac's AC_INIT $upstream: add a changelog entry (dch -v $upstream)"

if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/gslbd-deb-XXXXXX)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/gslbd-$upstream
rm -rf "$src"
mkdir -p "$src"
git -C "$top" archive --format=tar HEAD | tar -x -C "$src"
rm -rf "$src/debian"
cp -a "$src/contrib/debian" "$src/debian"
cd "$src"

if [ "$mode" = check ]; then
	dpkg-parsechangelog >/dev/null
	dpkg-checkbuilddeps || die "build dependencies missing (contrib/setup.sh installs them)"
	for s in debian/postinst debian/postrm; do
		sh -n "$s" || die "$s: not valid sh"
		grep -q '^#DEBHELPER#$' "$s" || die "$s: no #DEBHELPER# line"
	done
	dh binary --no-act >"$out/dh-sequence.txt" || die "dh binary --no-act failed (debian/rules)"
	for step in dh_auto_configure dh_auto_install dh_installsystemd dh_installman dh_installdeb; do
		grep -q "$step" "$out/dh-sequence.txt" || die "dh sequence lacks $step"
	done
	echo "build-deb.sh --check: OK: gslbd $version, control/rules/changelog parse, build deps installed"
	rm -rf "$out"
	exit 0
fi

echo "build-deb.sh: building gslbd $version in $src (log: $out/build.log)"
if [ "$tests" = no ]; then
	DEB_BUILD_OPTIONS="nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}"
	export DEB_BUILD_OPTIONS
fi
if ! dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1; then
	tail -40 "$out/build.log"
	die "dpkg-buildpackage failed (whole log: $out/build.log)"
fi
deb=$(ls "$out"/gslbd_"$version"_*.deb)
echo "build-deb.sh: built $deb"

# The layout, from the archive itself.
root=$out/root
rm -rf "$root"
dpkg-deb -x "$deb" "$root"
ctl=$out/control
rm -rf "$ctl"
dpkg-deb -e "$deb" "$ctl"
for f in /usr/sbin/gslbd /usr/sbin/gslbctl /lib/systemd/system/gslbd.service \
	/etc/gslbd/gslbd.conf /etc/gslbd/example.test.zone \
	/usr/share/man/man8/gslbd.8.gz /usr/share/man/man8/gslbctl.8.gz \
	/usr/share/man/man5/gslbd.conf.5.gz; do
	[ -e "$root$f" ] || die "the package lacks $f"
done
grep -qx /etc/gslbd/gslbd.conf "$ctl/conffiles" || die "/etc/gslbd/gslbd.conf is not a conffile"
grep -q '^ExecStart=/usr/sbin/gslbd -c /etc/gslbd/gslbd.conf$' "$root/lib/systemd/system/gslbd.service" ||
	die "the packaged unit does not run /usr/sbin/gslbd -c /etc/gslbd/gslbd.conf"
grep -q 'adduser --system' "$ctl/postinst" || die "postinst does not create the user"
grep -q 'deb-systemd-helper.*enable' "$ctl/postinst" || die "postinst does not enable the unit"
"$root/usr/sbin/gslbd" --version >/dev/null || die "the packaged gslbd does not run"
echo "build-deb.sh: layout OK (binaries, unit, conffile, pages, user, enable)"

if command -v lintian >/dev/null 2>&1; then
	echo "build-deb.sh: lintian findings (none listed: none):"
	lintian -I -E --pedantic "$deb" 2>&1 | grep -v "running with root privileges" | tee "$out/lintian.txt" || true
else
	echo "build-deb.sh: lintian not installed: not run"
fi
echo "build-deb.sh: done: $deb"
