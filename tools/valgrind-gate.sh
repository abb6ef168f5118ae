#!/bin/bash
# The integration suite (tools/gate-suite.sh says which files) with every
# ipcguardd under valgrind's memcheck.  Fails if a test fails, if any gate's
# valgrind log reports an error (ERROR SUMMARY above 0; definite leaks count as
# errors), or if a log has no summary at all (valgrind did not finish).  Logs:
# build/valgrind/ipcguardd.<pid>.log.
#
# Suppressions (Samba's own bugs only, each proved in the file):
# tests/valgrind/ipcguardd.supp.  Extra pytest arguments are passed on.
# VALGRIND_EXTRA="--track-origins=yes" shows where uninitialised bytes
# came from (slower).
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
logs="$here/build/valgrind"
rm -rf "$logs"
mkdir -p "$logs"

# Under valgrind the gate answers several times slower: the harness's own
# waits scale with IPCGUARD_TIMEOUT_SCALE.
export IPCGUARD_TIMEOUT_SCALE="${IPCGUARD_TIMEOUT_SCALE:-3}"
export IPCGUARD_GATE_WRAPPER="valgrind --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--suppressions=$here/tests/valgrind/ipcguardd.supp --num-callers=30 \
${VALGRIND_EXTRA:-} --log-file=$logs/ipcguardd.%p.log"

. "$here/tools/gate-suite.sh"
rc=0
run_gate_suite "$@" || rc=$?

shopt -s nullglob
files=("$logs"/ipcguardd.*.log)
if [ ${#files[@]} -eq 0 ]; then
	echo "valgrind-gate: no valgrind log written" >&2
	exit 1
fi
bad=0
forks=0
for f in "${files[@]}"; do
	summary=$(grep -h "ERROR SUMMARY:" "$f" | tail -n 1) || true
	if [ -z "$summary" ]; then
		# The gate forks to exec samba-dcerpcd on demand
		# (local_np_connect): valgrind opens a log for the child and
		# stops at the exec, so the log is its six-line header.
		# Anything more is an error report from the child.
		if grep -q "^==[0-9]*== Parent PID: " "$f" &&
		    [ "$(wc -l < "$f")" -le 6 ]; then
			forks=$((forks + 1))
			continue
		fi
		echo "valgrind-gate: $f has no ERROR SUMMARY:" >&2
		cat "$f" >&2
		bad=1
		continue
	fi
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' \
		<<<"$summary")
	definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" |
		tr -d , | tail -n 1)
	if [ "${errors:-1}" != 0 ] || [ "${definite:-0}" != 0 ]; then
		echo "valgrind-gate: $f: $summary; definitely lost:" \
			"${definite:-0} bytes" >&2
		bad=1
	fi
done
if [ "$forks" -eq ${#files[@]} ]; then
	echo "valgrind-gate: no gate process ran to its end under valgrind" >&2
	bad=1
fi
echo "valgrind-gate: $((${#files[@]} - forks)) gate processes under" \
	"valgrind, $forks forks that exec'd samba-dcerpcd:"
grep -h "definitely lost:\|ERROR SUMMARY" "${files[@]}" |
	sed 's/^==[0-9]*== *//' | sort | uniq -c || true
if [ "$bad" != 0 ]; then
	echo "valgrind-gate: FAILED: see the logs above" >&2
	exit 1
fi
exit "$rc"
