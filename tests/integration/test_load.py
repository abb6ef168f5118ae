"""Issue 5, short mode: the load driver and the fault script run against
real smbd + vfs_ipcguard + ipcguardd (and plain smbd for comparison), and
their own invariants hold: no refused caller ever got through, nothing the
policy allows failed under load, the gate's fds and memory came back to
idle, every fault case recovered with its policy intact.  The full run
(100,000 opens, longer faults) is `make load`; it writes docs/results.md."""

import os
import re
import subprocess

import harness

LOAD = os.path.join(harness.ROOT, 'tests', 'load')
FAULT_CASES = ['gate-kill', 'dcerpcd-kill', 'reload-flip', 'reload-invalid',
               'dir-removed', 'dir-mode-0777', 'dir-owner']


def run(script, *args, timeout=900):
    r = subprocess.run(['/usr/bin/python3', os.path.join(LOAD, script)] +
                       list(args), capture_output=True, text=True,
                       timeout=timeout)
    out = r.stdout + r.stderr
    # The scripts' servers are gone: nothing runs on their smb.conf.
    dirs = re.findall(r'^SERVER DIR (\S+)$', r.stdout, re.M)
    assert dirs, out
    left = harness.processes_of(dirs)
    assert not left, 'processes left running: %s' % left
    return r.returncode, r.stdout, out


def check(stdout, name, value):
    m = re.search(r'^CHECK %s\s+(\S+) \((.*)\)$' % re.escape(name), stdout,
                  re.M)
    assert m, (name, stdout[-3000:])
    assert m.group(1) == 'ok', m.group(0)
    if value is not None:
        assert m.group(2) == value, m.group(0)


def test_load_short_mode():
    rc, stdout, out = run('load.py')
    assert rc == 0, out[-6000:]
    check(stdout, 'gated breaches', '0')
    check(stdout, 'gated errors on allowed', '0')
    check(stdout, 'gated refused with another error', '0')
    check(stdout, 'plain errors on allowed', '0')
    check(stdout, 'gated clients at once', None)
    check(stdout, 'plain clients at once', None)
    check(stdout, 'gate back to idle', None)
    check(stdout, 'gate alive', 'True')
    # At least 200 clients at once on both sides, and the refused kind
    # was really refused (not just absent).
    for side in ('gated', 'plain'):
        n = int(re.search(r'^CHECK %s clients at once\s+ok \((\d+)\)' %
                          side, stdout, re.M).group(1))
        assert n >= 200, stdout
    assert re.search(r'^\| anon-refused refused \| 0 \| [1-9]\d* \|$',
                     stdout, re.M), stdout
    assert re.search(r'^RESULT: PASS$', stdout, re.M), out[-3000:]


def test_faults_short_mode():
    rc, stdout, out = run('faults.py')
    assert rc == 0, out[-6000:]
    for case in FAULT_CASES:
        m = re.search(r'^FAULT %s: breaches (\d+), recovery anon (\S+) '
                      r'auth (\S+), policy intact (\S+), (.*)$' % case,
                      stdout, re.M)
        assert m, (case, out[-3000:])
        assert m.group(1) == '0', m.group(0)
        assert m.group(2) != 'None' and m.group(3) != 'None', m.group(0)
        assert m.group(4) == 'True', m.group(0)
        assert m.group(5) == 'ok', m.group(0)
    assert re.search(r'^CHECK total breaches 0$', stdout, re.M), stdout
    assert re.search(r'^RESULT: PASS$', stdout, re.M), out[-3000:]
