#!/bin/sh
# Install, from Debian's own packages, everything ipcguard needs to build and
# test: the Samba we build against and test with, its build dependencies,
# the libraries we link and the clients the integration tests drive.
# valgrind, libasan8/libubsan1 (gcc 12's sanitizer runtimes, for
# build/ipcguardd-asan) and clang with its runtimes (libFuzzer, sanitized unit
# tests) check the gate and the parsers against hostile input; smbtorture
# (samba-testsuite) runs Samba's own RPC suites through the gate; nmap
# scans the TCP door as a scanner would.
#
# Idempotent: a second run only re-checks what is installed.
set -eu

export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi

RUNTIME_PKGS="samba samba-common-bin smbclient samba-dev winbind \
samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules nftables \
libtalloc-dev libtevent-dev libldb-dev libcmocka-dev \
dpkg-dev devscripts fakeroot debhelper pkg-config gcc make \
python3 python3-pytest python3-impacket python3-ldb acl attr iproute2 procps psmisc valgrind \
libasan8 libubsan1 \
clang libclang-rt-dev xsltproc libxml2-utils docbook-xsl docbook-xml \
samba-testsuite nmap"
# The host makes the test beds (tools/bed.sh); a bed makes none.
[ -n "${IPCGUARD_BED:-}" ] || RUNTIME_PKGS="$RUNTIME_PKGS debootstrap"

missing=""
for p in $RUNTIME_PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	apt-get update
	apt-get install -y --no-install-recommends $missing
else
	echo "install-deps: runtime and build packages present"
fi
