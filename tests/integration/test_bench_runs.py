"""The benchmark runs and prints every figure with its ratio.  It asserts
nothing about speed: figures live in docs/benchmarks.md and README.md,
written by the benchmark itself (make bench, or
tests/bench/bench_gate.py --write)."""

import os
import re
import subprocess

import harness


def test_benchmark_quick_mode_prints_every_ratio():
    r = subprocess.run(['/usr/bin/python3',
                        os.path.join(harness.ROOT, 'tests', 'bench',
                                     'bench_gate.py'), '--quick'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for mode in ('open', 'transfer', 'stream'):
        assert re.search(r'^%s cost ratio: \d+\.\d+' % mode, r.stdout,
                         re.M), r.stdout
        assert re.search(r'^%s cost ratio with 100 rules: \d+\.\d+' % mode,
                         r.stdout, re.M), r.stdout
    assert re.search(r'^\| per 1,000 opens \| \d+\.\d+ s \| ', r.stdout,
                     re.M), r.stdout
    assert re.search(r'^\| per MB relayed \| \d+\.\d+ s \| ', r.stdout,
                     re.M), r.stdout
    # The hold is a correctness check too: every held pipe answered.
    assert re.search(r'^\d+ relayed pipes held at once: every call '
                     r'answered; gate RSS .* \d+ talloc bytes per pipe',
                     r.stdout, re.M), r.stdout
    assert re.search(r'^ipcguard_decide\(\) with 100 rules, -O2: open \d+ ns',
                     r.stdout, re.M), r.stdout
    assert re.search(r'^one more process on the path \(bench_hop: .* '
                     r'[\d.]+ µs per round trip; 1\.2 MB answered .* '
                     r'relayed [\d.]+ ms \[', r.stdout, re.M), r.stdout
    assert re.search(r'^load average [\d.]+ before', r.stdout, re.M), \
        r.stdout
    assert len(re.findall(r'^goal: ', r.stdout, re.M)) == 9, r.stdout
