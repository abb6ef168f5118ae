#!/bin/sh
# Run a command as root in a throw-away copy of this machine: a private
# mount namespace in which an overlay puts a tmpfs over /, so that what the
# command installs or removes (apt-get, dpkg) never reaches the real
# system.  /proc, /sys and /dev are the real ones; DIR (the clone) is
# bound in, in case it lives on another file system than /.
#
#   tools/in-overlay-root.sh DIR COMMAND [ARG...]
set -eu

if [ "${IPCGUARD_IN_OVERLAY:-}" != 1 ]; then
	IPCGUARD_IN_OVERLAY=1 exec unshare --mount --propagation private -- \
		"$0" "$@"
fi
dir=$1
shift
layer=$(mktemp -d /tmp/ipcguard-overlay-root.XXXXXX)
mount -t tmpfs ipcguard-layer "$layer"
mkdir -p "$layer/upper" "$layer/work" "$layer/root"
mount -t overlay ipcguard-root \
	-o lowerdir=/,upperdir="$layer/upper",workdir="$layer/work" \
	"$layer/root"
for m in proc sys dev; do
	mount --rbind "/$m" "$layer/root/$m"
done
mkdir -p "$layer/root$dir"
mount --rbind "$dir" "$layer/root$dir"
rc=0
chroot "$layer/root" "$@" || rc=$?
# The mounts would go with this namespace anyway; the directory they hang
# on is the real /tmp's.
umount -R "$layer"
rmdir "$layer"
exit "$rc"
