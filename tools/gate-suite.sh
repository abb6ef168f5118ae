# Sourced by tools/asan-gate.sh and tools/valgrind-gate.sh: runs the
# integration suite with the gate under a checker.  Left out: test_load.py
# and test_bench_runs.py (timings, meaningless under a checker) and
# test_deb.py (it runs the gate the package installed, not IPCGUARD_GATE).
run_gate_suite() {
	(cd "$here/tests/integration" &&
		/usr/bin/python3 -m pytest -q -p no:cacheprovider \
			--ignore=test_load.py --ignore=test_bench_runs.py \
			--ignore=test_deb.py "$@")
}
