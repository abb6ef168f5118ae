#!/bin/bash
# The integration suite (tools/gate-suite.sh says which files) with
# build/ipcguardd-asan: the gate, its shared code and the policy engine built
# with -fsanitize=address,undefined (wscript, target ipcguardd_asan).  Fails if
# a test fails or if any sanitizer report was written.  Reports:
# build/asan/asan.<pid> (ASan, LSan) and build/asan/stderr.<instance> (the
# gate's whole log when it holds a report: gcc 12's UBSan ignores log_path and
# writes to stderr).  The harness sets ASAN_OPTIONS/UBSAN_OPTIONS for the gate:
# log_path, halt_on_error=1, exit code 86; see sanitizer_env() in
# tests/integration/harness.py.  Extra pytest arguments are passed on.
#
# What is checked: every heap/stack/global overflow and use-after-free in
# the gate process (Samba's libraries included, as ASan replaces malloc for
# the whole process), and undefined behaviour in our own code.  Not
# checked here: leaks at shutdown, because the harness ends the gate with
# SIGTERM/SIGKILL and LeakSanitizer runs only from exit(); the valgrind
# run (tools/valgrind-gate.sh) checks those.  Overruns inside a talloc pool
# (one malloc block carved up by talloc) are invisible to ASan.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
logs="$here/build/asan"
[ -x "$here/build/ipcguardd-asan" ] || {
	echo "asan-gate: build/ipcguardd-asan is missing: run tools/build.sh" >&2
	exit 1
}
rm -rf "$logs"
mkdir -p "$logs"
export IPCGUARD_GATE=build/ipcguardd-asan
export IPCGUARD_SANITIZER_LOG_DIR="$logs"

. "$here/tools/gate-suite.sh"
rc=0
run_gate_suite "$@" || rc=$?

shopt -s nullglob
reports=("$logs"/*)
if [ ${#reports[@]} -ne 0 ]; then
	for f in "${reports[@]}"; do
		echo "==== $f" >&2
		grep -B2 -A40 -m3 "runtime error: \|ERROR: [A-Za-z]*Sanitizer" \
			"$f" >&2 || head -n 60 "$f" >&2
	done
	echo "asan-gate: FAILED: ${#reports[@]} sanitizer report(s) in" \
		"$logs" >&2
	exit 1
fi
echo "asan-gate: no sanitizer report"
exit "$rc"
