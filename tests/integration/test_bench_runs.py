"""The benchmark runs and prints both figures with their ratio.  It asserts
nothing about speed: figures live in docs/benchmarks.md, written by the
benchmark itself (make bench, or tests/bench/bench_gate.py --write)."""

import os
import re
import subprocess

import harness


def test_benchmark_quick_mode_prints_both_ratios():
    r = subprocess.run(['/usr/bin/python3',
                        os.path.join(harness.ROOT, 'tests', 'bench',
                                     'bench_gate.py'), '--quick'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'^open cost ratio: \d+\.\d+', r.stdout, re.M), r.stdout
    assert re.search(r'^transfer cost ratio: \d+\.\d+', r.stdout, re.M), \
        r.stdout
    assert re.search(r'^open cost ratio with 100 rules: \d+\.\d+', r.stdout,
                     re.M), r.stdout
