#!/bin/bash
# The test command: install what is needed, build against the installed
# Samba, then run the unit tests and the integration tests against Debian's
# real smbd, samba-dcerpcd, rpcclient and smbclient.  Fails if any fails.
set -euo pipefail
export PATH="/usr/bin:/usr/sbin:/bin:/sbin:$PATH"
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

./tools/setup.sh

echo "== unit tests (cmocka)"
./build/test_policy
./build/test_rules

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
./tools/build-sanitized.sh
./build/sanitized/test_policy
./build/sanitized/test_rules

echo "== fuzzing the policy parsers (${IPCGUARD_FUZZ_SECONDS:-20} s)"
fuzz_corpus=$(mktemp -d)
cp tests/fuzz/corpus/* "$fuzz_corpus/"
./build/sanitized/fuzz_policy_options -max_total_time="${IPCGUARD_FUZZ_SECONDS:-20}" \
	-max_len=4096 "$fuzz_corpus" 2>&1 | tail -n 3
rm -rf "$fuzz_corpus"
echo "== fuzzing the rule parser (${IPCGUARD_FUZZ_SECONDS:-20} s)"
fuzz_corpus=$(mktemp -d)
cp tests/fuzz/corpus-rules/* "$fuzz_corpus/"
./build/sanitized/fuzz_rule_fields -max_total_time="${IPCGUARD_FUZZ_SECONDS:-20}" \
	-max_len=4096 "$fuzz_corpus" 2>&1 | tail -n 3
rm -rf "$fuzz_corpus"

echo "== man pages"
./tools/build-man.sh

echo "== integration tests (real smbd on 127.0.0.1)"
cd tests/integration
exec /usr/bin/python3 -m pytest -v -p no:cacheprovider "$@"
