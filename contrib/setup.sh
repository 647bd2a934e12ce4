#!/bin/sh
# contrib/setup.sh -- install the Debian packages gslbd needs to build, test and
# run its examples, then prepare the tree (autoreconf + configure) if that has
# not been done. Idempotent; quiet when everything is already there.
#   --fuzz   also install clang and libFuzzer's runtime (for --enable-fuzzing)
set -e

PKGS="build-essential autoconf automake libtool pkg-config
      libldns-dev libev-dev libconfig-dev liburcu-dev libcurl4-openssl-dev libjansson-dev
      libsodium-dev check openssl util-linux
      bind9-dnsutils knot-dnsutils python3 python3-dnspython
      libfstrm-dev libprotobuf-c-dev protobuf-c-compiler fstrm-bin dnstap-ldns
      libmaxminddb-dev libmaxmind-db-writer-perl unbound
      libsystemd-dev systemd mandoc man-db debhelper dpkg-dev git
      libmicrohttpd-dev prometheus chromium dnsperf
      ldnsutils nsd"
if [ "$1" = "--fuzz" ]; then
	PKGS="$PKGS clang libclang-rt-14-dev"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	echo "setup: installing$missing"
	$SUDO apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

cd "$(dirname "$0")/.."
if [ ! -x configure ]; then
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
fi
if [ ! -f Makefile ]; then
	./configure -q || { cat config.log | tail -40; exit 1; }
fi
