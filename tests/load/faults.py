#!/usr/bin/python3
"""Scripted faults, each while a small load runs against a gated server
(vfs_ipcguard + ipcguardd, policy `null session pipes = lsarpc`,
`everyone includes anonymous = yes`):

  gate-kill      ipcguardd killed with SIGKILL, restarted by the harness
  dcerpcd-kill   samba-dcerpcd killed with SIGKILL (started again on
                 demand by the gate)
  reload-flip    smbcontrol smbd + ipcguardd reload-config every second,
                 alternating null session pipes = lsarpc / lsarpc srvsvc
  reload-invalid an invalid policy (restrict null session access = maybe)
                 reloaded during load; the previous one must stay in force
  dir-removed    the gate's socket directory removed while it runs: the
                 gate makes it again with every socket, no restart
  dir-mode-0777  the gate's np directory made 0777 while it runs: the gate
                 refuses anonymous callers until it is 0700 again (and
                 refuses to start on it), authenticated callers keep
                 working
  dir-owner      the same with the np directory owned by nobody

For each: outcome counts per phase (before / during / after the fault;
operations straddling a boundary are counted as "around"), breaches, the
recovery time (from restoring/restarting to the first successful allowed
call, anonymous and authenticated) and a final probe that the policy is
intact.  Hard assertions (exit 1): no breach ever (an anonymous bind to a
refused pipe granted); in reload-flip, outside a window after each switch,
anonymous \\srvsvc is granted exactly when the policy in force lists it;
in reload-invalid, nothing allowed fails while the invalid file is in
place; every case ends with the policy intact and its allowed calls
working again.

  faults.py [--full] [--write] [--only CASE ...]
"""

import argparse
import collections
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadlib  # noqa: E402
from loadlib import harness  # noqa: E402

POLICY_A = 'lsarpc'
POLICY_B = 'lsarpc srvsvc'
SWITCH_WINDOW = 0.5     # seconds after a reload where either answer is fine


class Load:
    """A few client threads per kind, each looping pipe opens (with a new
    login every `churn` opens) until stopped; every operation recorded
    with its times."""

    def __init__(self, server, per_kind=4, churn=5, switch=False):
        self.server = server
        self.switch = switch
        self.stop_ev = threading.Event()
        self.ops = []
        self.mismatches = []
        self.lock = threading.Lock()
        kinds = list(loadlib.KINDS) + (['anon-switch'] if switch else [])
        self.threads = [threading.Thread(target=self._run, args=(k, churn),
                                         daemon=True)
                        for k in kinds for _ in range(per_kind)]

    def _run(self, kind, churn):
        if kind == 'anon-switch':
            c = loadlib.Client(self.server.port, 'anon-refused', churn,
                               pipe_of=lambda n: 'srvsvc')
        elif kind == 'anon-refused' and self.switch:
            # \srvsvc is allowed by one of the flipped policies.
            c = loadlib.Client(self.server.port, kind, churn,
                               pipe_of=lambda n: 'samr')
        else:
            c = loadlib.Client(self.server.port, kind, churn)
        while not self.stop_ev.is_set():
            pipe, outcome, t0, t1, _ = c.op()
            with self.lock:
                self.ops.append((kind, pipe, outcome, t0, t1))
            if not outcome.startswith(('ok', 'refused')):
                time.sleep(0.05)    # don't spin on a dead server
        c.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(90)
        return False

    def snapshot(self):
        with self.lock:
            return list(self.ops)

    def first_ok_after(self, kind, t, timeout=60):
        """Seconds from t to the end of the first successful allowed call
        of `kind` that started at or after t (None on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for k, _, o, t0, t1 in self.snapshot():
                if k == kind and o == loadlib.OK and t0 >= t:
                    return t1 - t
            time.sleep(0.05)
        return None


def is_breach(kind, pipe, outcome):
    granted = outcome == loadlib.OK or outcome.startswith('granted-')
    return kind == 'anon-refused' and granted


def phase_counts(ops, t_fault, t_restore):
    out = collections.defaultdict(collections.Counter)
    for kind, pipe, outcome, t0, t1 in ops:
        if t1 < t_fault:
            ph = 'before'
        elif t0 >= t_fault and t1 <= t_restore:
            ph = 'during'
        elif t0 >= t_restore:
            ph = 'after'
        else:
            ph = 'around'
        out[ph]['%s %s %s' % (kind, pipe, outcome)] += 1
    return {ph: dict(sorted(c.items())) for ph, c in out.items()}


def final_probe(server, switch_policy=POLICY_A):
    """The policy in force after the case: allowed calls work (retrying
    for up to 20 s), refused ones are refused (no retry: any grant is a
    breach)."""
    res = {}
    for kind, pipe in (('anon-allowed', 'lsarpc'), ('auth', 'srvsvc'),
                       ('auth', 'samr')):
        deadline = time.monotonic() + 20
        while True:
            c = loadlib.Client(server.port, kind, 0, pipe_of=lambda n: pipe)
            o = c.op()[1]
            c.close()
            if o == loadlib.OK or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        res['%s %s' % (kind, pipe)] = o
    for pipe in ('srvsvc', 'samr'):
        c = loadlib.Client(server.port, 'anon-refused', 0,
                           pipe_of=lambda n: pipe)
        res['anon-refused %s' % pipe] = c.op()[1]
        c.close()
    st = loadlib.gate_status(server)
    intact = (all(v == loadlib.OK for k, v in res.items()
                  if not k.startswith('anon-refused')) and
              all(v == loadlib.REFUSED for k, v in res.items()
                  if k.startswith('anon-refused')) and st.returncode == 0)
    return intact, res, st.returncode


def reload(server):
    """smbcontrol smbd reload-config and smbcontrol ipcguardd
    reload-config, sent at the same time."""
    procs = [subprocess.Popen(['smbcontrol', '-s', server.conf, dest,
                               'reload-config'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              env=harness.CLIENT_ENV)
             for dest in ('smbd', 'ipcguardd')]
    for dest, p in zip(('smbd', 'ipcguardd'), procs):
        out = p.communicate(timeout=30)[0]
        if p.returncode != 0:
            raise RuntimeError('smbcontrol %s reload-config: %r' % (dest,
                                                                     out))


def dcerpcd_pids(server):
    out = []
    for pid in server.helper_pids():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv0 = f.read().split(b'\0')[0]
        except OSError:
            continue
        if argv0.endswith(b'samba-dcerpcd'):
            out.append(pid)
    return out


def wait_gate_exit(proc, timeout=10):
    try:
        return proc.wait(timeout)
    except Exception:
        return None


# -- the cases ------------------------------------------------------------

def case_gate_kill(s, load, args):
    time.sleep(args.phase)
    t_fault = time.monotonic()
    os.kill(s.gate_proc.pid, signal.SIGKILL)
    s.gate_proc.wait(10)
    time.sleep(args.phase)
    t_restore = time.monotonic()
    s.start_gate()
    return t_fault, t_restore, {}


def case_dcerpcd_kill(s, load, args):
    time.sleep(args.phase)
    before = dcerpcd_pids(s)
    if not before:
        raise RuntimeError('samba-dcerpcd is not running')
    t_fault = time.monotonic()
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    # Restarted on demand: recovery counts from the kill.
    t_restore = t_fault
    time.sleep(args.phase)
    after = dcerpcd_pids(s)
    return t_fault, t_restore, {'killed': before, 'running_after': after,
                                'restarted': bool(set(after) - set(before))}


def case_reload_flip(s, load, args):
    time.sleep(args.phase)
    switches = []
    t_fault = time.monotonic()
    policy = POLICY_A
    end = t_fault + args.flip_seconds
    while time.monotonic() < end:
        policy = POLICY_B if policy == POLICY_A else POLICY_A
        s.set_ipcguard(null_session_pipes=policy)
        t_sent = time.monotonic()
        reload(s)
        # (sent, delivered to smbd and the gate, policy)
        t_done = time.monotonic()
        switches.append((t_sent, t_done, policy))
        # Every second; on a machine so busy that smbcontrol itself takes
        # longer, leave each policy half a second past its window so it can
        # be judged at all.
        time.sleep(max(0.0, t_sent + 1.0 - time.monotonic(),
                       t_done + SWITCH_WINDOW + 0.5 - time.monotonic()))
    s.set_ipcguard(null_session_pipes=POLICY_A)
    t_restore = time.monotonic()
    reload(s)
    switches.append((t_restore, time.monotonic(), POLICY_A))
    time.sleep(args.phase)
    # Judge each anonymous \srvsvc open against the policy in force: an
    # open counts when it started SWITCH_WINDOW after the reload message
    # was delivered and ended before the next one was sent.
    judged = collections.Counter()
    for kind, pipe, outcome, t0, t1 in load.snapshot():
        if kind != 'anon-switch':
            continue
        prior = [(done, p) for sent, done, p in switches if sent <= t0]
        nxt = [sent for sent, done, p in switches if sent > t0]
        since, in_force = prior[-1] if prior else (-1e9, POLICY_A)
        if t0 < since + SWITCH_WINDOW or (nxt and t1 > nxt[0]):
            judged['in window: ' + outcome] += 1
            continue
        allowed = 'srvsvc' in in_force.split()
        granted = outcome == loadlib.OK or outcome.startswith('granted-')
        if outcome == loadlib.OK and allowed or \
                outcome == loadlib.REFUSED and not allowed:
            judged['as policy: ' + outcome] += 1
        elif granted and not allowed:
            judged['BREACH granted while refused'] += 1
        else:
            judged['MISMATCH %s while %s' % (
                outcome, 'allowed' if allowed else 'refused')] += 1
        if not (outcome == loadlib.OK and allowed or
                outcome == loadlib.REFUSED and not allowed):
            load.mismatches.append((round(t0 - since, 3), round(t1 - t0, 3),
                                    in_force, outcome))
    return t_fault, t_restore, {'switches': len(switches),
                                'srvsvc judged': dict(judged),
                                'mismatches (s after delivery, s long, '
                                'policy, outcome)': load.mismatches[:10]}


def case_reload_invalid(s, load, args):
    time.sleep(args.phase)
    s.set_ipcguard(restrict_null_session_access='maybe')
    t_fault = time.monotonic()
    reload(s)
    s.wait_log(r'ipcguardd: reload rejected, keeping the previous policy',
               timeout=20)
    time.sleep(args.phase)
    s.set_ipcguard(restrict_null_session_access=None)
    t_restore = time.monotonic()
    reload(s)
    time.sleep(args.phase)
    return t_fault, t_restore, {'gate log': 'reload rejected, keeping the '
                                'previous policy'}


def case_dir_removed(s, load, args):
    time.sleep(args.phase)
    t_fault = time.monotonic()
    shutil.rmtree(s.gate_dir)
    # Nobody restores anything: recovery is the gate's own.
    t_restore = t_fault
    time.sleep(args.phase)
    return t_fault, t_restore, {
        'gate alive': s.gate_proc.poll() is None,
        'gate made its sockets again': os.path.exists(
            os.path.join(s.gate_dir, 'np', 'lsarpc'))}


# The gate checks its np directory every second.
DIR_CHECK_SECONDS = 2.0


def _dir_fault(s, load, args, spoil, restore):
    np_dir = os.path.join(s.gate_dir, 'np')
    time.sleep(args.phase)
    t_fault = time.monotonic()
    spoil(np_dir)
    # Long enough for whole calls after the gate noticed.
    time.sleep(max(args.phase, DIR_CHECK_SECONDS + 6))
    t_stop = time.monotonic()
    running = collections.Counter(
        '%s %s' % (k, o) for k, p, o, t0, t1 in load.snapshot()
        if t0 >= t_fault + DIR_CHECK_SECONDS and t1 <= t_stop)
    # Restart the gate with the directory still wrong: it must not start.
    s.stop_gate()
    proc = s.start_gate(wait=False)
    rc = wait_gate_exit(proc)
    s.gate_proc = None
    time.sleep(args.phase)
    restore(np_dir)
    t_restore = time.monotonic()
    s.start_gate()
    return t_fault, t_restore, {
        'while the gate kept running on it': dict(sorted(running.items())),
        'gate restarted on the bad directory exited with': rc}

def case_dir_mode(s, load, args):
    return _dir_fault(s, load, args, lambda d: os.chmod(d, 0o777),
                      lambda d: os.chmod(d, 0o700))


def case_dir_owner(s, load, args):
    nobody = pwd.getpwnam('nobody').pw_uid
    nogroup = grp.getgrnam('nogroup').gr_gid
    return _dir_fault(s, load, args, lambda d: os.chown(d, nobody, nogroup),
                      lambda d: os.chown(d, 0, 0))


CASES = [
    ('gate-kill', case_gate_kill, 'ipcguardd SIGKILL, restarted'),
    ('dcerpcd-kill', case_dcerpcd_kill, 'samba-dcerpcd SIGKILL, '
     'restarted on demand'),
    ('reload-flip', case_reload_flip, 'reload-config every second, '
     'pipes lsarpc / lsarpc srvsvc'),
    ('reload-invalid', case_reload_invalid, 'invalid policy reloaded'),
    ('dir-removed', case_dir_removed, 'socket directory removed; the gate '
     'makes it again'),
    ('dir-mode-0777', case_dir_mode, 'np directory 0777 (anonymous '
     'refused), gate restarted on it, then 0700'),
    ('dir-owner', case_dir_owner, 'np directory owned by nobody (anonymous '
     'refused), gate restarted on it, then root'),
]


def run_case(name, fn, args):
    opts = dict(loadlib.LOAD_POLICY)
    s = harness.Server(ipcguard=opts)
    print('SERVER DIR %s' % s.dir, flush=True)
    with s:
        # Start samba-dcerpcd and its workers before the load.
        loadlib.probe(s, 'auth', 'srvsvc')
        with Load(s, per_kind=args.per_kind,
                  switch=(name == 'reload-flip')) as load:
            t_fault, t_restore, extra = fn(s, load, args)
            rec_anon = load.first_ok_after('anon-allowed', t_restore)
            rec_auth = load.first_ok_after('auth', t_restore)
            time.sleep(1)
        ops = load.snapshot()
        intact, probe, status_rc = final_probe(s)
        gate_log_refusals = s.read('ipcguardd.log').count('refused pipe')
    phases = phase_counts(ops, t_fault, t_restore)
    breaches = sum(1 for k, p, o, _, _ in ops if is_breach(k, p, o))
    if name == 'reload-flip':
        judged = extra['srvsvc judged']
        breaches += sum(n for k, n in judged.items() if 'BREACH' in k)
    failures = []
    if breaches:
        failures.append('%d breaches' % breaches)
    if not intact:
        failures.append('policy not intact after the case: %s' % probe)
    if rec_anon is None or rec_auth is None:
        failures.append('allowed calls did not recover')
    if name == 'reload-flip':
        mism = sum(n for k, n in extra['srvsvc judged'].items()
                   if k.startswith('MISMATCH'))
        if mism:
            failures.append('%d answers not matching the policy in force'
                            % mism)
        if not any(k.startswith('as policy: ok')
                   for k in extra['srvsvc judged']) or \
                not any(k.startswith('as policy: refused')
                        for k in extra['srvsvc judged']):
            failures.append('reload-flip never saw both answers')
    if name == 'reload-invalid':
        bad = sum(n for k, n in phases.get('during', {}).items()
                  if not k.startswith('anon-refused') and
                  not k.endswith(' ok'))
        if bad:
            failures.append('%d allowed calls failed under the invalid '
                            'file' % bad)
    if name == 'dir-mode-0777' or name == 'dir-owner':
        if extra['gate restarted on the bad directory exited with'] in \
                (None, 0):
            failures.append('the gate started on a bad np directory')
        running = extra['while the gate kept running on it']
        if running.get('anon-allowed %s' % loadlib.OK):
            failures.append('anonymous callers got through an unsafe np '
                            'directory')
        if not running.get('auth %s' % loadlib.OK):
            failures.append('authenticated callers stopped working on an '
                            'unsafe np directory')
    if name == 'dir-removed' and not (extra['gate alive'] and
                                      extra['gate made its sockets again']):
        failures.append('the gate did not make its sockets again')
    return {'name': name, 'ops': len(ops), 'phases': phases,
            'breaches': breaches, 'recovery_anon': rec_anon,
            'recovery_auth': rec_auth, 'fault_seconds': t_restore - t_fault,
            'intact': intact, 'probe': probe, 'status_rc': status_rc,
            'gate_log_refusals': gate_log_refusals, 'extra': extra,
            'failures': failures}


def summarize(phase):
    """'kind outcome' totals of one phase, pipes merged."""
    c = collections.Counter()
    for key, n in phase.items():
        kind, _, outcome = key.split(' ', 2)
        c['%s %s' % (kind, outcome)] += n
    return ', '.join('%s %d' % kv for kv in sorted(c.items())) or '-'


def report(results, descr):
    L = ['| case | what | ops | breaches | recovery anon / auth | '
         'policy intact after |', '|---|---|---|---|---|---|']
    for r in results:
        def sec(v):
            return 'none' if v is None else '%.2f s' % v
        L.append('| %s | %s | %d | %d | %s / %s | %s |' % (
            r['name'], descr[r['name']], r['ops'], r['breaches'],
            sec(r['recovery_anon']), sec(r['recovery_auth']),
            'yes' if r['intact'] else 'NO'))
    L.append('')
    L.append('Recovery: from restoring (restart, reload of the valid '
             'policy, or the kill for samba-dcerpcd, which is restarted on '
             'demand) to the end of the first successful call that started '
             'after it.')
    L.append('')
    L.append('What the clients saw, per phase (kind outcome count; '
             '"during" = between the fault and the restore, "around" = '
             'operations that straddled either):')
    L.append('')
    L.append('| case | before | during | around | after | notes |')
    L.append('|---|---|---|---|---|---|')
    for r in results:
        ph = r['phases']
        notes = '; '.join('%s: %s' % kv for kv in r['extra'].items())
        if r['failures']:
            notes += ' **FAILED: %s**' % '; '.join(r['failures'])
        L.append('| %s | %s | %s | %s | %s | %s |' % (
            r['name'], summarize(ph.get('before', {})),
            summarize(ph.get('during', {})),
            summarize(ph.get('around', {})),
            summarize(ph.get('after', {})), notes.replace('|', '/')))
    return '\n'.join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', action='store_true',
                    help='longer phases and more clients')
    ap.add_argument('--only', nargs='*', help='run only these cases')
    ap.add_argument('--json', help='also write the raw results here')
    ap.add_argument('--write', action='store_true',
                    help='record the results in docs/results.md')
    args = ap.parse_args()
    args.phase = 6.0 if args.full else 2.0
    args.flip_seconds = 30 if args.full else 8
    args.per_kind = 8 if args.full else 3
    mode = 'FULL' if args.full else 'SHORT'
    loadlib.raise_fd_limit()
    loadlib.stop_on_sigterm()
    started = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    descr = {n: d for n, _, d in CASES}
    results = []
    for name, fn, _ in CASES:
        if args.only and name not in args.only:
            continue
        print('== %s (%s)' % (name, mode), flush=True)
        r = run_case(name, fn, args)
        results.append(r)
        print(json.dumps(r, indent=1, default=str), flush=True)
        print('FAULT %s: breaches %d, recovery anon %s auth %s, policy '
              'intact %s, %s' % (
                  name, r['breaches'], r['recovery_anon'],
                  r['recovery_auth'], r['intact'],
                  'FAILED: ' + '; '.join(r['failures']) if r['failures']
                  else 'ok'), flush=True)
    table = report(results, descr)
    print(table)
    total_breaches = sum(r['breaches'] for r in results)
    failed = any(r['failures'] for r in results)
    print('CHECK total breaches %d' % total_breaches)
    print('RESULT: %s' % ('FAIL' if failed else 'PASS'))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1, default=str)
    if args.write:
        loadlib.write_section('faults', 'Faults', 'faults.py', args.full,
                              started, [
            'Each case runs on its own gated server (policy `%s`) under a '
            'small load: %d client threads per kind (anonymous '
            '\\\\lsarpc, anonymous \\\\srvsvc or \\\\samr that must be '
            'refused, authenticated \\\\srvsvc or \\\\samr; reload-flip '
            'adds anonymous \\\\srvsvc clients judged against the policy '
            'in force, with a %.1f s window after each switch), a new login '
            'every 5 opens; phases of %.0f s.' % (
                loadlib.policy_text(), args.per_kind, SWITCH_WINDOW,
                args.phase),
            table,
            'Breaches in all cases: **%d**. Result: **%s**.' % (
                total_breaches, 'FAIL' if failed else 'PASS')])
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
