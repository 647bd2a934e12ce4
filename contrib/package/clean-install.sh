#!/bin/bash
# contrib/package/clean-install.sh -- install a built gslbd .deb into a clean
# Debian 12 (debootstrap --variant=minbase bookworm) and check it the way the
# unit runs it. Root only; needs debootstrap and Debian's archive. Takes a
# minute or two. Leaves nothing behind but what it prints.
#   clean-install.sh PATH/gslbd_VERSION_ARCH.deb [MIRROR]
# Checks: apt installs it with its runtime dependencies from the archive; the
# system user exists; the unit is enabled; the shipped config passes
# `gslbd -t` as that user; gslbd started as the unit starts it (user gslbd,
# only CAP_NET_BIND_SERVICE, ambient) binds 127.0.0.1:53, answers a query,
# and holds no capability afterwards. Services never start on install
# (policy-rc.d), and every process it starts is stopped by its PID.
set -euo pipefail

deb=${1:?usage: clean-install.sh PATH/gslbd_VERSION_ARCH.deb [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
[ "$(id -u)" = 0 ] || { echo "clean-install.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "clean-install.sh: needs debootstrap (apt-get install debootstrap)" >&2; exit 2; }

root=$(mktemp -d /tmp/gslbd-clean-XXXXXX)
chmod 755 "$root" # the chroot's /: its users must get through it
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
fail() { echo "clean-install.sh: FAIL: $*" >&2; exit 1; }

debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
	{ tail -5 "$root.log"; fail "debootstrap"; }
rm -f "$root.log"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/gslbd.deb"
mount --bind /proc "$root/proc"
chroot "$root" apt-get update -qq >/dev/null 2>&1 || fail "apt-get update in the chroot"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/gslbd.deb \
	>"$root/tmp/apt.log" 2>&1 || { tail -20 "$root/tmp/apt.log"; fail "apt-get install"; }
echo "installed: $(chroot "$root" dpkg-query -W -f='${Package} ${Version}' gslbd) with its dependencies"
chroot "$root" id gslbd >/dev/null || fail "no system user gslbd"
[ -L "$root/etc/systemd/system/multi-user.target.wants/gslbd.service" ] || fail "unit not enabled"
for f in /usr/sbin/gslbd /usr/sbin/gslbctl /etc/gslbd/gslbd.conf /lib/systemd/system/gslbd.service \
	/usr/share/man/man5/gslbd.conf.5.gz /usr/share/man/man8/gslbd.8.gz /var/lib/gslbd; do
	[ -e "$root$f" ] || fail "$f missing"
done
chroot "$root" runuser -u gslbd -- /usr/sbin/gslbd -t -c /etc/gslbd/gslbd.conf ||
	fail "gslbd -t on the shipped config as gslbd"

# As the unit runs it: RuntimeDirectory, user gslbd, only CAP_NET_BIND_SERVICE.
mkdir -p "$root/run/gslbd"
chroot "$root" chown gslbd:gslbd /run/gslbd
chroot "$root" setpriv --reuid=gslbd --regid=gslbd --init-groups \
	--inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
	--bounding-set=-all,+net_bind_service \
	/usr/sbin/gslbd -c /etc/gslbd/gslbd.conf >"$root/tmp/run.log" 2>&1 &
pid=$!
origin=$(grep -o 'origin = "[^"]*"' "$root/etc/gslbd/gslbd.conf" | head -1 | cut -d'"' -f2)
answer=""
for _ in $(seq 50); do
	answer=$(dig +short +time=1 +tries=1 @127.0.0.1 -p 53 SOA "$origin" 2>/dev/null || true)
	[ -n "$answer" ] && break
	sleep 0.1
done
[ -n "$answer" ] || { cat "$root/tmp/run.log"; fail "no answer on 127.0.0.1:53"; }
echo "answered: $origin SOA $answer"
daemon=$(pgrep -P "$pid" -x gslbd || echo "$pid")
grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$daemon/status" ||
	fail "gslbd still holds capabilities: $(grep ^Cap "/proc/$daemon/status")"
grep -q "running as user gslbd" "$root/tmp/run.log" || fail "no 'running as user gslbd' in its log"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
echo "clean-install.sh: OK: installs on a clean Debian 12, runs as gslbd with no capabilities"
