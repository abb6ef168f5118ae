#!/bin/bash
# Build the policy engine's unit tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, and its libFuzzer targets (tests/fuzz/), with
# Debian's clang.
# The engine depends on talloc only, so no Samba tree is needed here.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out="$here/build/sanitized"
mkdir -p "$out"
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
       -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter
       -I"$here/source/policy")
clang "${flags[@]}" -o "$out/test_policy" \
	"$here/tests/unit/test_policy.c" "$here"/source/policy/*.c \
	-ltalloc -lcmocka
clang "${flags[@]}" -o "$out/test_rules" \
	"$here/tests/unit/test_rules.c" "$here"/source/policy/*.c -I"$here/tests/unit" \
	-ltalloc -lcmocka
clang "${flags[@]}" -o "$out/test_contexts" \
	"$here/tests/unit/test_contexts.c" "$here"/source/policy/*.c \
	-ltalloc -lcmocka
clang "${flags[@]}" -fsanitize=fuzzer -o "$out/fuzz_contexts" \
	"$here/tests/fuzz/fuzz_contexts.c" "$here"/source/policy/*.c -ltalloc
clang "${flags[@]}" -fsanitize=fuzzer -o "$out/fuzz_rule_fields" \
	"$here/tests/fuzz/fuzz_rule_fields.c" -I"$here/tests/unit" \
	"$here"/source/policy/*.c -ltalloc
clang "${flags[@]}" -fsanitize=fuzzer -o "$out/fuzz_policy_options" \
	"$here/tests/fuzz/fuzz_policy_options.c" \
	"$here"/source/policy/*.c -ltalloc
clang "${flags[@]}" -fsanitize=fuzzer -o "$out/fuzz_pipe_name" \
	"$here/tests/fuzz/fuzz_pipe_name.c" \
	"$here"/source/policy/*.c -ltalloc
echo "sanitized builds in $out"
