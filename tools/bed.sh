#!/bin/bash
# Test beds: a Debian root file system per suite, with that suite's Samba,
# ipcguard's build and test dependencies and the prepared Samba tree, cached
# outside the clone under $IPCGUARD_CACHE/beds and named by the exact Samba
# package version the bed carries.
#
#   tools/bed.sh create SUITE        make the bed (once), print its root
#   tools/bed.sh run SUITE CMD...    run CMD in a copy of this clone inside
#                                    the bed (at /ipcguard), in private
#                                    mount, pid and network namespaces
#   tools/bed.sh version SUITE       the bed's Samba package version
#   tools/bed.sh remove SUITE        forget the bed
#
# SUITE is bookworm, trixie, trixie-backports or sid.  The mirror is the one
# this machine's apt already uses.  Nothing in a bed reaches any network but
# the bed's own loopback when it runs tests; only `create` downloads.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE_ROOT="${IPCGUARD_CACHE:-/var/cache/ipcguard}"
BEDS="$CACHE_ROOT/beds"
BED_REVISION=1
log() { echo "bed: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "beds need root (debootstrap, chroot, namespaces)"

suite_base() {
	case "$1" in
	bookworm | trixie | sid) echo "$1" ;;
	trixie-backports) echo trixie ;;
	*) die "unknown suite '$1' (bookworm, trixie, trixie-backports, sid)" ;;
	esac
}

# The Debian mirror this machine's apt uses: the repository that carries
# the machine's own release, less any -security or -updates archive.
host_mirror() {
	local codename
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk -v cn="$codename" '$2 == cn { print $1; exit }'
}

bed_root() {
	local pointer="$BEDS/$1.current"
	[ -f "$pointer" ] || return 1
	local root
	root="$BEDS/$(cat "$pointer")/root"
	[ -f "$root/.ipcguard-bed-ready" ] || return 1
	echo "$root"
}

# enter ROOT NET CMD...: run CMD chrooted in ROOT with /proc, /sys, /dev
# and fresh /tmp, /run and /dev/shm, in a private mount namespace (nothing
# stays mounted, whatever happens).  NET=private adds private pid and
# network namespaces: every process CMD starts ends with it, and nothing in
# it reaches any network but its own loopback.
enter() {
	local root=$1 net=$2
	local ns=(--mount --propagation private)
	shift 2
	[ "$net" != private ] || ns+=(--pid --fork --net)
	unshare "${ns[@]}" -- /bin/sh -eu -c '
		root=$1; net=$2; shift 2
		[ "$net" != private ] || ip link set lo up
		# The root a mount of its own: unshare --propagation and ip netns
		# inside the bed change the propagation of "/".
		mount --bind "$root" "$root"
		mount -t proc proc "$root/proc"
		mount --rbind /sys "$root/sys"
		mount --rbind /dev "$root/dev"
		mount -t tmpfs tmpfs "$root/dev/shm"
		mount -t tmpfs tmpfs "$root/tmp"
		mount -t tmpfs tmpfs "$root/run"
		exec chroot "$root" /usr/bin/env -i \
			PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
			IPCGUARD_APT_SUITE="$(cat "$root/etc/ipcguard-bed/apt-suite")" \
			IPCGUARD_BED="$(cat "$root/etc/ipcguard-bed/suite")" \
			"$@"
	' bed-enter "$root" "$net" "$@"
}

create() {
	local suite=$1 base mirror stage root version name
	if root=$(bed_root "$suite"); then
		log "using the $suite bed with samba $(cat "$root/.ipcguard-bed-ready"): $root"
		# Packages the dependency list gained since the bed was made
		# (a second's check when none): a run has no network.
		mkdir -p "$root/ipcguard/tools"
		cp "$here/tools/install-deps.sh" "$root/ipcguard/tools/"
		enter "$root" shared /ipcguard/tools/install-deps.sh \
			> "$root/../deps-update.log" 2>&1 ||
			die "updating the $suite bed's packages failed; see" \
			    "$root/../deps-update.log"
		grep -h '^install-deps: installing' "$root/../deps-update.log" \
			>&2 || true
		rm -rf "$root/ipcguard"
		echo "$root"
		return
	fi
	base=$(suite_base "$suite")
	mirror=$(host_mirror)
	[ -n "$mirror" ] || die "cannot tell which Debian mirror this machine's apt uses"
	command -v debootstrap > /dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >&2
	mkdir -p "$BEDS"
	# A bed that failed after its packages were installed resumes there.
	stage="$BEDS/$suite.stage"
	root="$stage/root"
	if [ -f "$stage/deps-done" ]; then
		log "resuming the $suite bed after its packages: $root"
		prepare_tree "$suite" "$stage"
		return
	fi
	rm -rf "$stage"
	mkdir -p "$stage"
	log "debootstrap $base from $mirror (a few minutes)"
	debootstrap --variant=minbase --include=ca-certificates,apt-utils \
		"$base" "$stage/root" "$mirror" > "$stage/debootstrap.log" 2>&1 ||
		die "debootstrap failed; see $stage/debootstrap.log"
	{
		echo "deb $mirror $base main"
		if [ "$suite" = trixie-backports ]; then
			echo "deb $mirror trixie-backports main"
		fi
	} > "$root/etc/apt/sources.list"
	# sid's Release file is valid for a week only; a mirror that this
	# machine reaches may be older than that, and a bed is for tests.
	echo 'Acquire::Check-Valid-Until "false";' \
		> "$root/etc/apt/apt.conf.d/50ipcguard-bed"
	if [ "$suite" = trixie-backports ]; then
		echo 'APT::Default-Release "trixie-backports";' \
			>> "$root/etc/apt/apt.conf.d/50ipcguard-bed"
	fi
	# No package starts a daemon in the bed.
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	# The bed's sources name the suite (sid's os-release names testing).
	mkdir -p "$root/etc/ipcguard-bed"
	echo "$base" > "$root/etc/ipcguard-bed/apt-suite"
	echo "$suite" > "$root/etc/ipcguard-bed/suite"

	log "installing ipcguard's dependencies in the $suite bed"
	mkdir -p "$root/ipcguard/tools"
	cp "$here/tools/install-deps.sh" "$here/tools/prepare-samba-tree.sh" \
		"$here/tools/samba-targets.txt" "$root/ipcguard/tools/"
	enter "$root" shared /ipcguard/tools/install-deps.sh > "$stage/deps.log" 2>&1 ||
		die "installing dependencies failed; see $stage/deps.log"
	touch "$stage/deps-done"
	prepare_tree "$suite" "$stage"
}

prepare_tree() {
	local suite=$1 stage=$2 root=$2/root version name
	mkdir -p "$root/ipcguard/tools"
	cp "$here/tools/install-deps.sh" "$here/tools/prepare-samba-tree.sh" \
		"$here/tools/samba-targets.txt" "$root/ipcguard/tools/"
	version=$(chroot "$root" dpkg-query -W -f='${Version}' samba)
	log "preparing the tree for samba $version (about 10 minutes)"
	if ! enter "$root" shared /ipcguard/tools/prepare-samba-tree.sh \
	    > "$stage/prepare.log" 2>&1; then
		grep '^prepare-samba-tree: ERROR' "$stage/prepare.log" >&2 || true
		die "preparing the Samba tree for samba $version failed; see" \
		    "$stage/prepare.log"
	fi
	rm -rf "$root/ipcguard"
	echo "$version" > "$root/.ipcguard-bed-ready"
	name="$suite-${version//[:~]/_}-bed$BED_REVISION"
	rm -rf "${BEDS:?}/$name"
	mv "$stage" "$BEDS/$name"
	echo "$name" > "$BEDS/$suite.current"
	log "the $suite bed is ready: $BEDS/$name/root (samba $version)"
	echo "$BEDS/$name/root"
}

# A copy of the clone (less build/) at /ipcguard in the bed, so that the
# bed builds its own module against its own Samba.  Private pid and network
# namespaces: every process the run starts ends with it, and smbd can only
# listen on the bed's own loopback.
run() {
	local suite=$1 root
	shift
	root=$(bed_root "$suite") || die "no $suite bed; run: tools/bed.sh create $suite"
	rm -rf "$root/ipcguard"
	mkdir -p "$root/ipcguard"
	(cd "$here" && tar --exclude=./build --exclude=./.git -cf - .) |
		tar -xf - -C "$root/ipcguard"
	# A module the host built for another Samba: the bed's tests load it
	# into the bed's smbd, which must refuse it and say so.
	local foreign=
	if [ -f "$here/build/ipcguard.so" ] &&
	    [ "$(dpkg-query -W -f='${Version}' samba 2>/dev/null)" != \
	      "$(cat "$root/.ipcguard-bed-ready")" ]; then
		mkdir -p "$root/ipcguard/foreign"
		cp "$here/build/ipcguard.so" "$root/ipcguard/foreign/"
		foreign=/ipcguard/foreign/ipcguard.so
	fi
	# The gate's ASan and valgrind passes run on the host's Samba only.
	enter "$root" private /usr/bin/env \
		IPCGUARD_FOREIGN_MODULE="$foreign" \
		IPCGUARD_SKIP_SANITIZED_GATE="${IPCGUARD_SKIP_SANITIZED_GATE:-1}" \
		IPCGUARD_FUZZ_SECONDS="${IPCGUARD_FUZZ_SECONDS:-5}" \
		/bin/sh -c 'cd /ipcguard && exec "$@"' bed-run "$@"
}

# All of the above is read before anything runs, and nothing after the
# exit is: editing this file under a running bed cannot change what it does.
main() {
	cmd=${1:-}
	[ $# -ge 2 ] || die "usage: tools/bed.sh create|run|version|remove SUITE [CMD...]"
	suite=$2
	suite_base "$suite" > /dev/null
	shift 2
	# One user of a bed at a time: a run replaces the bed's /ipcguard.
	mkdir -p "$BEDS"
	exec 8> "$BEDS/$suite.lock"
	flock 8
	case "$cmd" in
	create) create "$suite" ;;
	run) [ $# -ge 1 ] || die "run: no command"; run "$suite" "$@" ;;
	version) root=$(bed_root "$suite") || die "no $suite bed"
		cat "$root/.ipcguard-bed-ready" ;;
	remove) if [ -f "$BEDS/$suite.current" ]; then
			rm -rf "${BEDS:?}/$(cat "$BEDS/$suite.current")" "$BEDS/$suite.current"
		fi ;;
	*) die "unknown command '$cmd'" ;;
	esac
}
main "$@"; exit
