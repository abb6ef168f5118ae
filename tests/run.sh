#!/bin/bash
# The test command: install what is needed, build against the installed
# Samba, then run the unit tests and the integration tests against Debian's
# real smbd, samba-dcerpcd, rpcclient and smbclient, first the installed
# Samba's, then Debian 13's in a test bed.  Fails if any fails.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

./tools/setup.sh

echo "== unit tests (cmocka)"
./build/test_policy
./build/test_rules
./build/test_contexts

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
./tools/build-sanitized.sh
./build/sanitized/test_policy
./build/sanitized/test_rules
./build/sanitized/test_contexts

# Each fuzz target from its seed corpus, for a bounded time.
for target in policy_options:corpus rule_fields:corpus-rules \
    pipe_name:corpus-pipe-name contexts:corpus-contexts; do
	echo "== fuzzing ${target%%:*} (${IPCGUARD_FUZZ_SECONDS:-20} s)"
	fuzz_corpus=$(mktemp -d)
	cp tests/fuzz/"${target#*:}"/* "$fuzz_corpus/"
	./build/sanitized/fuzz_"${target%%:*}" \
		-max_total_time="${IPCGUARD_FUZZ_SECONDS:-20}" \
		-max_len=4096 "$fuzz_corpus" 2>&1 | tail -n 3
	rm -rf "$fuzz_corpus"
done

echo "== man pages"
./tools/build-man.sh

# The gate's integration tests twice more, with hostile-input checkers on
# the gate: IPCGUARD_SKIP_SANITIZED_GATE=1 leaves them out (quick runs).
if [ "${IPCGUARD_SKIP_SANITIZED_GATE:-0}" != 1 ]; then
	echo "== gate tests with ipcguardd under AddressSanitizer + UBSan"
	./tools/asan-gate.sh
	echo "== gate tests with ipcguardd under valgrind"
	./tools/valgrind-gate.sh
fi

echo "== integration tests (real smbd on 127.0.0.1)"
(cd tests/integration && /usr/bin/python3 -m pytest -v -p no:cacheprovider "$@")

# Debian 13's Samba too, in a test bed made (once, then cached) by the
# project's own script; inside a bed this is where the run ends.
# IPCGUARD_SKIP_BEDS=1 leaves it out (quick runs).  make matrix runs every
# suite.
if [ -z "${IPCGUARD_BED:-}" ] && [ "${IPCGUARD_SKIP_BEDS:-0}" != 1 ]; then
	echo "== the test command again against Debian 13's Samba (trixie bed)"
	./tools/bed.sh create trixie > /dev/null
	./tools/bed.sh run trixie tests/run.sh
fi
