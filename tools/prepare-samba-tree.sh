#!/bin/bash
# Prepare a Samba source tree that matches the installed smbd exactly, so
# that modules and programs built in it load into, and link with, the
# distribution's own Samba binaries and private libraries.
#
# The tree is cached outside the clone, keyed by the exact Debian version of
# the installed samba package (and by PREP_REVISION, bumped whenever the way
# the tree is prepared changes); a second run costs a stat.
#
# Prints the path of the prepared tree on its last line of stdout.
set -euo pipefail

PREP_REVISION=1
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
# Debian's python: waf needs it, and a pyenv python3 earlier in PATH would
# not see Debian's python3 modules.
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
CACHE_ROOT="${IPCGUARD_CACHE:-/var/cache/ipcguard}"
log() { echo "prepare-samba-tree: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

installed=$(dpkg-query -W -f='${Version}' samba 2>/dev/null) ||
	die "the samba package is not installed; run tools/install-deps.sh"
[ -n "$installed" ] || die "the samba package is not installed"

upstream=${installed#*:}		# 4.17.12+dfsg-0+deb12u4
upstream=${upstream%%+*}		# 4.17.12
upstream=${upstream%%-*}
key="samba-${installed//[:~]/_}-prep${PREP_REVISION}"
tree="$CACHE_ROOT/$key/tree"

if [ -f "$CACHE_ROOT/$key/ready" ]; then
	log "using cached tree for samba $installed: $tree"
	echo "$tree"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "preparing the Samba tree needs root (apt-get build-dep)"

work="$CACHE_ROOT/$key"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/sources.list.d" \
	"$work/apt/archives/partial" "$work/src"

# deb-src entries for the same Debian suites the machine installs from, so
# the source fetched is the one the binaries were built from.  The machine's
# own apt configuration is left untouched.
# A test bed names its suite (sid's os-release names testing's codename).
codename=${IPCGUARD_APT_SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
n=0
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	awk -v cn="$codename" '
		BEGIN { RS=""; ORS="\n\n" }
		$0 ~ ("Suites:[^\n]*" cn) && $0 !~ /Enabled: *no/ {
			sub(/Types:[^\n]*/, "Types: deb-src"); print
		}' "$f" > "$work/apt/sources.list.d/src$n.sources"
	n=$((n + 1))
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	awk -v cn="$codename" '$1 == "deb" && $0 ~ (" " cn) {
		$1 = "deb-src"; print }' "$f" >> "$work/apt/sources.list.d/src.list"
done
grep -qs . "$work"/apt/sources.list.d/* ||
	die "no $codename entries in the machine's apt sources to derive deb-src from"

apt_private=(-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$work/apt/sources.list.d"
	-o "Dir::State::Lists=$work/apt/lists"
	-o "Dir::Cache::archives=$work/apt/archives"
	-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")

log "fetching the source of samba $installed"
apt-get "${apt_private[@]}" update >&2
offered=$(apt-cache "${apt_private[@]}" showsrc samba 2>/dev/null |
	sed -n 's/^Version: //p' | sort -u | tr '\n' ' ')
if ! echo " $offered " | grep -qF " $installed "; then
	die "installed samba is $installed but the package archive offers" \
	    "source only for: ${offered:-nothing}. Install a samba whose" \
	    "source is offered (apt-get install samba=<version>) or add a" \
	    "deb-src entry that carries $installed."
fi
(cd "$work/src" &&
	apt-get "${apt_private[@]}" source --download-only "samba=$installed" >&2) ||
	die "the archive lists the source of samba $installed, but the mirror" \
	    "did not serve its files (see apt's errors above); without the" \
	    "exact source ipcguard cannot be built for this samba"
dsc=$(ls "$work"/src/samba_*.dsc)
# dpkg-source applies Debian's patches, which touch smbd's sources.
dpkg-source --no-check -x "$dsc" "$tree" >&2

log "installing samba's build dependencies"
DEBIAN_FRONTEND=noninteractive apt-get build-dep -y "$tree" >&2

cd "$tree"
# Brand the tree the way debian/rules does: private libraries carry
# versioned symbols (SAMBA_<ver>_DEBIAN_SAMBA4), and a module built from an
# unbranded tree would not load into Debian's smbd.
sed -i 's/^SAMBA_VERSION_VENDOR_SUFFIX=.*/SAMBA_VERSION_VENDOR_SUFFIX=Debian/' \
	VERSION
grep -q '^SAMBA_VERSION_VENDOR_SUFFIX=Debian$' VERSION ||
	die "could not brand $tree/VERSION"

# Debian's own configure arguments decide struct layouts, paths and which
# optional subsystems exist; use them as they are, less the systemd unit
# extras (quoting only), Python and the AD DC, which smbd's modules and
# clients do not need and which would add build dependencies.
printf 'include debian/rules\nipcguard-print-config-args:\n\t@echo $(config-args)\n' \
	> "$work/print-args.mk"
config_args=$(make -s -f "$work/print-args.mk" ipcguard-print-config-args |
	tr ' ' '\n' | grep -v -e '^--systemd-...-extra' -e '^--systemd-samba-extra' \
	-e '^ExecCondition' -e '^/usr/share/samba/is-configured' \
	-e '^smb$' -e '^nmb$' -e '^winbind$' -e '^samba$' | tr '\n' ' ')
[ -n "$config_args" ] || die "could not read config-args from debian/rules"

log "configuring (Debian's arguments + --disable-python --without-ad-dc)"
export PYTHON=/usr/bin/python3 PYTHONHASHSEED=1 WAF_MAKE=1
# shellcheck disable=SC2086
./configure $config_args --disable-python --without-ad-dc \
	> "$work/configure.log" 2>&1 ||
	die "configure failed; see $work/configure.log"

# Let the tree's waf build ipcguard: tools/build.sh points $tree/ipcguard at
# the clone being built, and the top-level wscript_build recurses into it.
cat >> wscript_build <<'PY'

if os.path.isdir(os.path.join(bld.srcnode.abspath(), 'ipcguard')):
    bld.RECURSE('ipcguard')
PY
grep -q '^import os' wscript_build || sed -i '1i import os' wscript_build

log "building the Samba libraries ipcguard links against (first run only)"
targets=$(paste -sd, "$SCRIPT_DIR/samba-targets.txt")
[ -n "$targets" ] || die "no targets in $SCRIPT_DIR/samba-targets.txt"
/usr/bin/python3 buildtools/bin/waf build -j"$(nproc)" --targets="$targets" > "$work/build.log" 2>&1 ||
	die "building Samba's libraries failed; see $work/build.log"

echo "$installed" > "$work/ready"
log "prepared $tree"
echo "$tree"
