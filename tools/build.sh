#!/bin/bash
# Build ipcguard in the prepared Samba tree and copy the results into
# ./build of this clone.  Usage: tools/build.sh [waf target,...]
# The default builds everything, including ipcguardd_asan, the gate under
# AddressSanitizer + UndefinedBehaviorSanitizer (build/ipcguardd-asan).
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"

here=$(cd "$(dirname "$0")/.." && pwd)
targets="${1:-vfs_ipcguard,ipcguardd,ipcguardd_asan,ipcguard,ipcguard_test_policy,ipcguard_test_rules,ipcguard_test_contexts,ipcguard_bench_client,ipcguard_bench_decide,ipcguard_bench_hop}"
tree=$("$here/tools/prepare-samba-tree.sh" | tail -n 1)
[ -d "$tree" ] || { echo "build: no prepared Samba tree" >&2; exit 1; }

# One clone at a time builds in the shared tree.
exec 9>"$tree/../build.lock"
flock 9

ln -sfn "$here" "$tree/ipcguard"
IPCGUARD_BUILD_ID="$(date +%Y%m%d%H%M%S)-$$-$RANDOM"
IPCGUARD_SAMBA_PACKAGE=$(cat "$tree/../ready")
export IPCGUARD_BUILD_ID IPCGUARD_SAMBA_PACKAGE
cd "$tree"
PYTHONHASHSEED=1 WAF_MAKE=1 /usr/bin/python3 buildtools/bin/waf build \
	-j"$(nproc)" --targets="$targets"

out="$here/build"
mkdir -p "$out"
copy() {
	local from
	from=$(find "$tree/bin/default/ipcguard" -name "$1" -type f | head -n 1)
	[ -n "$from" ] || { echo "build: $1 was not built" >&2; exit 1; }
	install -m 0755 "$from" "$out/$2"
}
case ",$targets," in *,vfs_ipcguard,*) copy libvfs_module_ipcguard.so ipcguard.so ;; esac
case ",$targets," in *,ipcguardd,*) copy ipcguardd ipcguardd ;; esac
case ",$targets," in *,ipcguardd_asan,*) copy ipcguardd_asan ipcguardd-asan ;; esac
case ",$targets," in *,ipcguard,*) copy ipcguard ipcguard ;; esac
case ",$targets," in *,ipcguard_test_policy,*)
	copy ipcguard_test_policy test_policy ;; esac
case ",$targets," in *,ipcguard_test_rules,*)
	copy ipcguard_test_rules test_rules ;; esac
case ",$targets," in *,ipcguard_test_contexts,*)
	copy ipcguard_test_contexts test_contexts ;; esac
case ",$targets," in *,ipcguard_bench_client,*)
	copy ipcguard_bench_client bench_client ;; esac
case ",$targets," in *,ipcguard_bench_decide,*)
	copy ipcguard_bench_decide bench_decide ;; esac
case ",$targets," in *,ipcguard_bench_hop,*)
	copy ipcguard_bench_hop bench_hop ;; esac
echo "$IPCGUARD_BUILD_ID" > "$out/BUILD_ID"
echo "build: results in $out (build id $IPCGUARD_BUILD_ID)"
