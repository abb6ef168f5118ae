"""Issue 24: the stateful differential fuzzer (stateful_fuzz.py) for a
fixed budget: random binds, alter contexts and requests with reused call
and context ids, fragments and pipelining through the real gate to the
real samba-dcerpcd, whose own log of executed calls is the oracle.
IPCGUARD_GATE_FUZZ_SECONDS sets the budget (default 30), IPCGUARD_SEED
the seed; make fuzz-gate runs it longer.  A violation leaves a replayable
sequence in build/fuzz-stateful/."""

import os
import time

import harness
import stateful_fuzz


def test_no_call_the_policy_refuses_ever_runs():
    seconds = float(os.environ.get('IPCGUARD_GATE_FUZZ_SECONDS', '30'))
    seed = int(os.environ.get('IPCGUARD_SEED', int(time.time())))
    print('seed %d' % seed)
    n, seen = stateful_fuzz.run(
        seconds, seed, os.path.join(harness.BUILD, 'fuzz-stateful'))
    # The budget bought sequences (few under valgrind), and the allowed
    # call ran.
    assert n >= 1, n
    assert seen.get(stateful_fuzz.ALLOWED_CALL, 0) > 0, seen
