#!/bin/bash
# Build the Debian package with the distribution's tools, from a copy of
# the tree (dpkg-buildpackage writes next to the source), into build/.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/ipcguard"
if git -C "$here" rev-parse --git-dir > /dev/null 2>&1; then
	git -C "$here" ls-files -z |
		(cd "$here" && xargs -0 cp --parents -t "$work/ipcguard")
else
	# A copy without .git, as in a test bed (tools/bed.sh run).
	(cd "$here" && tar --exclude=./build -cf - .) |
		tar -xf - -C "$work/ipcguard"
fi
(cd "$work/ipcguard" && dpkg-buildpackage -b -us -uc > "$work/build.log" 2>&1) || {
	tail -n 40 "$work/build.log" >&2
	exit 1
}
mkdir -p "$here/build"
cp "$work"/ipcguard_*.deb "$here/build/"
ls "$here"/build/ipcguard_*.deb
