#!/usr/bin/python3
"""Benchmark: what ipcguard costs against plain Samba, all measured in the
same run with rounds interleaved (order shuffled per round) so that drift
and other load hit every server alike.

The client is build/bench_client (tests/bench/bench_client.c), written in
C against Samba's own client libraries, so its own time does not hide the
gate's.  Three servers: plain Samba (no module, smbd straight to
samba-dcerpcd), Samba with ipcguard, and Samba with ipcguard and --rules
rule-database rules that every open, bind and request is judged against
without being refused.  Modes, each one client process per round:

 * open: open \\srvsvc, bind, close, over one authenticated SMB3 session;
 * transfer: NetShareEnumAll level 1 on a server with thousands of shares
   with long comments (about a megabyte in many fragments);
 * stream: NetSrvGetInfo, many times on one bound pipe.

Server side, from /proc: CPU seconds of every process of an instance
(smbd and its children, the gate, samba-dcerpcd and its rpcd_* workers,
reaped children included) per 1,000 opens, per MB and per 1,000 requests;
and the gate's memory per relayed pipe with --hold pipes open at once.
bench_decide times one policy decision with 100 rules; bench_hop times
what one more process on the path of a call costs when it only passes
bytes on (the floor under any relay, measured in the same run).

With --write the figures go to docs/benchmarks.md and to the marked block
of README.md's "Cost of the gate".  A benchmark, not a test: it asserts
nothing about speed.
"""

import argparse
import os
import platform
import random
import re
import shutil
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(HERE, 'tests', 'integration'))
import harness  # noqa: E402

CLIENT = os.path.join(harness.BUILD, 'bench_client')
DECIDE = os.path.join(harness.BUILD, 'bench_decide')
HOP = os.path.join(harness.BUILD, 'bench_hop')
TICK = os.sysconf('SC_CLK_TCK')
SIDES = ('plain', 'gated', 'rules')
MODES = ('open', 'transfer', 'stream')
README_BEGIN = '<!-- bench:begin (written by make bench) -->'
README_END = '<!-- bench:end -->'
# Goals of issue 16: ratio against plain Samba, same run.
GOALS = {'open': 1.03, 'transfer': 1.01, 'stream': 1.02}
# Round trips through the gate a client waits for: an open waits for the
# named-pipe handshake's answer and the bind's, a request for its response.
HOPS = {'open': 2, 'stream': 1}
DECIDE_GOAL_NS = 1000
PIPE_MEMORY_GOAL = 16 * 1024


def rule_fields(i):
    """A mix of rule kinds that the benchmark's srvsvc traffic is judged
    against at every stage and that never refuse it (bench_decide.c loads
    the same mix)."""
    kind = i % 5
    if kind == 0:
        return ['action=deny', 'pipe=winreg', 'interface=winreg',
                'opnum=%d' % (i % 30),
                'sddl=D:(A;;GA;;;BA)(A;;GA;;;SY)']
    if kind == 1:
        return ['action=deny', 'pipe=srvsvc', 'interface=srvsvc',
                'opnum=%d' % (100 + i)]
    if kind == 2:
        return ['action=deny', 'pipe=srvsvc',
                'address=10.%d.0.0/16,fd00:%x::/32' % (i, i)]
    if kind == 3:
        # Evaluated at every open: Samba's access check on the token.
        return ['action=deny', 'pipe=srvsvc', 'sddl=D:(A;;GA;;;AU)']
    return ['action=deny', 'pipe=srvsvc', 'interface=samr']


def tool():
    return '/usr/sbin/ipcguard' if harness.INSTALLED else \
        os.path.join(harness.BUILD, 'ipcguard')


def gate_status(server):
    out = subprocess.run([tool(), '-s', server.conf, 'status'],
                         capture_output=True, text=True).stdout
    return dict(re.findall(r'^(\w+)=(.*)$', out, re.M))


def add_rules(server, n):
    for i in range(n):
        subprocess.run([tool(), '-s', server.conf, 'rule', 'add',
                        'bench-%03d' % i, 'order=%d' % i] + rule_fields(i),
                       check=True, capture_output=True, text=True)
    server.smbcontrol('ipcguardd', 'reload-config')
    deadline = time.time() + 20
    while time.time() < deadline:
        if gate_status(server).get('rules') == str(n):
            return
        time.sleep(0.1)
    raise RuntimeError('the gate did not load %d rules' % n)


# -- /proc ----------------------------------------------------------------

def proc_stat(pid):
    """(ppid, utime+stime+cutime+cstime in ticks) or None."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3); utime is field 14.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def instance_pids(server):
    """Every live process of one instance: those started on its smb.conf
    (smbd and its forked children keep smbd's command line; samba-dcerpcd
    and rpcd_* carry --configfile) and the gate."""
    conf = server.conf.encode()
    pids = set()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if conf in cmd:
            pids.add(int(entry))
    if server.gate_proc is not None:
        pids.add(server.gate_proc.pid)
    return pids


def instance_cpu(server):
    """CPU seconds of an instance, children it reaped included (an smbd
    child that served the client is gone by the time it is read again:
    its time is in its parent's cutime then)."""
    total = 0
    for pid in instance_pids(server):
        st = proc_stat(pid)
        if st is not None:
            total += st[1]
    return total / TICK


def gate_cpu(server):
    st = proc_stat(server.gate_proc.pid) if server.gate_proc else None
    return st[1] / TICK if st else 0.0


def wait_children_gone(server, before, timeout=5):
    """Wait until the smbd children the client used have exited and been
    reaped, so that their CPU time is in their parent's."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if instance_pids(server) <= before:
            return
        time.sleep(0.02)


def machine_busy():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def status_kib(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'VmHWM'):
                out[k] = int(v.split()[0]) * 1024
    return out


# -- client -----------------------------------------------------------------

def run_client(server, mode, n):
    r = subprocess.run([CLIENT, server.conf, '127.0.0.1', str(server.port),
                        '%s%%%s' % (harness.TEST_USER, harness.TEST_PASSWORD),
                        mode, str(n)], capture_output=True, text=True,
                       timeout=600)
    m = re.search(r'^mode=\S+ n=(\d+) seconds=([\d.]+) bytes=(\d+)$',
                  r.stdout, re.M)
    if r.returncode != 0 or m is None:
        raise RuntimeError('bench_client %s %d failed: %s%s' % (
            mode, n, r.stdout, r.stderr))
    return float(m.group(2)), int(m.group(3))


def measure(server, mode, n):
    before = instance_pids(server)
    cpu0, gate0 = instance_cpu(server), gate_cpu(server)
    seconds, size = run_client(server, mode, n)
    wait_children_gone(server, before)
    return {'seconds': seconds, 'bytes': size,
            'cpu': instance_cpu(server) - cpu0,
            'gate_cpu': gate_cpu(server) - gate0}


def hold(server, n):
    """Hold n relayed pipes open and read the gate's memory."""
    pid = server.gate_proc.pid
    idle = status_kib(pid)
    idle_talloc = int(gate_status(server).get('memory_bytes', 0))
    p = subprocess.Popen([CLIENT, server.conf, '127.0.0.1', str(server.port),
                          '%s%%%s' % (harness.TEST_USER,
                                      harness.TEST_PASSWORD), 'hold', str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    held = line.strip() == 'held %d' % n
    during = status_kib(pid)
    talloc = int(gate_status(server).get('memory_bytes', 0))
    p.stdin.close()
    err = p.stderr.read()
    p.wait(timeout=120)
    return {'n': n, 'held': held, 'error': '' if held else
            (line + err).strip()[-300:],
            'rss_idle': idle['VmRSS'], 'rss_held': during['VmRSS'],
            'hwm': during['VmHWM'], 'talloc_idle': idle_talloc,
            'talloc_held': talloc,
            'rss_per_pipe': (during['VmRSS'] - idle['VmRSS']) / n,
            'talloc_per_pipe': (talloc - idle_talloc) / n}


def hop_bench(quick):
    """Microseconds per small round trip, direct and through a process
    that only passes the bytes on: {'direct': (median, min, max),
    'relayed': ...}."""
    r = subprocess.run([HOP, '200' if quick else '2000',
                        '5' if quick else '15'],
                       capture_output=True, text=True, check=True,
                       timeout=600)
    return {m.group(1) + '_' + m.group(2): (
        float(m.group(3)), float(m.group(4)), float(m.group(5)))
        for m in re.finditer(r'^(hop|bulk) mode=(\w+) (?:us|ms)=([\d.]+) '
                             r'min=([\d.]+) max=([\d.]+)$', r.stdout,
                             re.M)}


def decide_bench(quick):
    r = subprocess.run([DECIDE, '20000' if quick else '200000', '100'],
                       capture_output=True, text=True, check=True)
    return {m.group(1): (float(m.group(2)), float(m.group(3)),
                         float(m.group(4)))
            for m in re.finditer(r'^decide stage=(\w+) rules=\d+ '
                                 r'ns=([\d.]+) min=([\d.]+) max=([\d.]+)$',
                                 r.stdout, re.M)}


def profile_gate(shares, mode, n):
    """Instructions the gate spends on n client calls of a mode (per
    relayed PDU for transfers), and where they go, counted by callgrind
    (deterministic, unlike timings on a busy machine).  None when valgrind
    is missing."""
    if not all(shutil.which(t) for t in ('valgrind', 'callgrind_control',
                                         'callgrind_annotate')):
        return None
    old = os.environ.get('IPCGUARD_GATE_WRAPPER')
    os.environ['IPCGUARD_GATE_WRAPPER'] = \
        'valgrind --tool=callgrind --callgrind-out-file=%d/callgrind.out'
    try:
        server = harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                                shares=shares,
                                extra_global=['log level = 1'])
        with server:
            run_client(server, mode, 1)
            pid = str(server.gate_proc.pid)
            subprocess.run(['callgrind_control', '-z', pid],
                           capture_output=True, check=True)
            _, size = run_client(server, mode, n)
            subprocess.run(['callgrind_control', '-d', pid],
                           capture_output=True, check=True)
            dump = os.path.join(server.dir, 'log', 'callgrind.out.1')
            out = subprocess.run(['callgrind_annotate', '--tree=caller',
                                  '--inclusive=yes', '--threshold=100',
                                  dump], capture_output=True,
                                 text=True).stdout
            flat = subprocess.run(['callgrind_annotate', '--inclusive=no',
                                   '--threshold=100', dump],
                                  capture_output=True, text=True).stdout
    finally:
        if old is None:
            del os.environ['IPCGUARD_GATE_WRAPPER']
        else:
            os.environ['IPCGUARD_GATE_WRAPPER'] = old

    def num(x):
        return int(x.replace(',', ''))

    total = num(re.search(r'^\s*([\d,]+) \(100.0%\)\s+PROGRAM TOTALS',
                          out, re.M).group(1))
    def calls(fn):
        """How often fn was called: the sum over its callers."""
        for block in out.split('\n\n'):
            if re.search(r'^\s*[\d,]+ \(\s*[\d.]+%\)\s+\*\s+\S*:' +
                         re.escape(fn) + ' ', block, re.M):
                return sum(num(c) for c in re.findall(
                    r'^\s*[\d,]+ \(\s*[\d.]+%\)\s+<.*\(([\d,]+)x\)',
                    block, re.M))
        return 0
    # One relay_pdu() per whole PDU read, in either direction.
    pdus = calls('relay_pdu')

    def inclusive(fn):
        m = re.search(r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\*\s+\S*:' +
                      re.escape(fn) + ' ', out, re.M)
        return num(m.group(1)) if m else 0

    def exclusive_of(pattern):
        # A dump taken mid-run charges the frames still on the stack (main,
        # the event loop) with everything: leave those out.
        return sum(num(m.group(1)) for m in re.finditer(
            r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*:\S* \[\S*' + pattern,
            flat, re.M) if num(m.group(1)) < total * 0.99)
    by_lib = {}
    for m in re.finditer(r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S+ \[(\S+)\]',
                         flat, re.M):
        if num(m.group(1)) < total * 0.99:
            lib = os.path.basename(m.group(2)).split('.so')[0]
            by_lib[lib] = by_lib.get(lib, 0) + num(m.group(1))
    return {'n': n, 'bytes': size * n, 'total': total, 'pdus': pdus,
            'by_lib': sorted(by_lib.items(), key=lambda kv: -kv[1])[:6],
            'requests': calls('_tevent_req_create'),
            'parse': inclusive('dcerpc_pull_ncacn_packet'),
            'memcpy': sum(num(m.group(1)) for m in re.finditer(
                r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*:__mem(?:cpy|move)\S* ',
                flat, re.M)),
            'talloc': exclusive_of('libtalloc'),
            'tevent': exclusive_of('libtevent'),
            'malloc': sum(num(m.group(1)) for m in re.finditer(
                r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*malloc.c:\S+ ', flat,
                re.M)),
            'tstream': exclusive_of('libsamba-sockets') +
            exclusive_of('libnpa-tstream')}


def gate_syscalls(n, mode='stream', shares=None):
    """System calls the gate makes per call of a mode (strace -c), or None
    without strace."""
    if shutil.which('strace') is None:
        return None
    server = harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                            shares=shares, extra_global=['log level = 1'])
    with server:
        run_client(server, mode, 1)
        out = os.path.join(server.dir, 'log', 'strace.txt')
        st = subprocess.Popen(['strace', '-c', '-p',
                               str(server.gate_proc.pid), '-o', out],
                              stderr=subprocess.DEVNULL)
        time.sleep(1)          # strace attaches
        run_client(server, mode, n)
        st.terminate()
        st.wait(timeout=30)
        with open(out) as f:
            text = f.read()
    counts = {m.group(2): int(m.group(1)) for m in re.finditer(
        r'^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$', text,
        re.M) if m.group(2) != 'total'}
    return {k: v / n for k, v in sorted(counts.items(),
                                        key=lambda kv: -kv[1])[:4]}


# -- statistics -------------------------------------------------------------

def q(xs, frac):
    xs = sorted(xs)
    k = (len(xs) - 1) * frac
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true',
                    help='few iterations: checks the benchmark runs')
    ap.add_argument('--write', action='store_true',
                    help='record the results in docs/benchmarks.md and '
                    'README.md')
    ap.add_argument('--rules', type=int, default=100,
                    help='rules in the third server\'s rule database')
    ap.add_argument('--profile', action='store_true', default=None,
                    help='count the gate\'s instructions per relayed PDU '
                    'with callgrind (default: on unless --quick)')
    ap.add_argument('--hold', type=int, default=None,
                    help='relayed pipes held open at once (2000)')
    args = ap.parse_args()
    if args.quick:
        rounds, nshares = 2, 200
        counts = {'open': 20, 'transfer': 3, 'stream': 100}
        nhold = args.hold or 50
    else:
        rounds, nshares = 12, 3000
        counts = {'open': 200, 'transfer': 20, 'stream': 1000}
        nhold = args.hold or 2000

    comment = 'ipcguard benchmark share with a long comment ' * 4
    shares = {'s%04d' % i: {'comment': comment} for i in range(nshares)}
    # Production log levels: the harness's default traces the module.
    quiet = ['log level = 1']
    servers = {
        'plain': harness.Server(ipcguard={}, gate=False, vfs=False,
                                shares=shares, extra_global=quiet),
        'gated': harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                                shares=shares, extra_global=quiet),
        'rules': harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                                shares=shares, extra_global=quiet),
    }
    res = {s: {m: [] for m in MODES} for s in SIDES}
    load_before = os.getloadavg()
    started = time.time()
    with servers['plain'], servers['gated'], servers['rules']:
        add_rules(servers['rules'], args.rules)
        for s in SIDES:         # warm up: start helpers, fill caches
            for m in MODES:
                run_client(servers[s], m, max(1, counts[m] // 10))
        busy0, total0 = machine_busy()
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = {s: instance_cpu(servers[s]) for s in SIDES}
        for _ in range(rounds):
            for m in random.sample(MODES, len(MODES)):
                for s in random.sample(SIDES, len(SIDES)):
                    res[s][m].append(measure(servers[s], m, counts[m]))
        busy1, total1 = machine_busy()
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = sum(instance_cpu(servers[s]) - cpu0[s] for s in SIDES) + \
            sum(getattr(b, f) - getattr(a, f)
                for a, b in ((self0, self1), (kids0, kids1))
                for f in ('ru_utime', 'ru_stime'))
        span = (total1 - total0) / TICK / os.cpu_count()
        other_cpu = max(0.0, (busy1 - busy0) / TICK - ours)
        held = hold(servers['gated'], nhold)
    load_after = os.getloadavg()
    decide = decide_bench(args.quick)
    hop = hop_bench(args.quick)
    hop_us = hop['hop_relayed'][0] - hop['hop_direct'][0]
    if args.profile if args.profile is not None else not args.quick:
        profile = profile_gate(shares, 'transfer', 3)
        open_profile = profile_gate(shares, 'open', 100)
        stream_profile = profile_gate(shares, 'stream', 500)
        syscalls = gate_syscalls(500)
        transfer_syscalls = gate_syscalls(3, 'transfer', shares)
    else:
        profile = open_profile = stream_profile = syscalls = None
        transfer_syscalls = None
    elapsed = time.time() - started

    # Per-operation figures.
    def per_op(s, m):
        return [r['seconds'] / counts[m] for r in res[s][m]]

    def med(s, m):
        return statistics.median(per_op(s, m))

    def ratio(s, m):
        return med(s, m) / med('plain', m)

    def paired(s, m):
        """Median of the per-round ratios (each against the plain run of
        the same round)."""
        return statistics.median(
            a['seconds'] / b['seconds']
            for a, b in zip(res[s][m], res['plain'][m]))

    size = res['plain']['transfer'][0]['bytes']
    mb = size * counts['transfer'] / 1e6

    def cpu_per(s, m):
        unit = {'open': counts['open'] / 1000, 'transfer': mb,
                'stream': counts['stream'] / 1000}[m]
        return (statistics.median(r['cpu'] for r in res[s][m]) / unit,
                statistics.median(r['gate_cpu'] for r in res[s][m]) / unit)

    unit_name = {'open': 'per open', 'transfer': 'per call',
                 'stream': 'per request'}
    label = {'open': 'pipe open + bind + close',
             'transfer': 'NetShareEnumAll, %d bytes' % size,
             'stream': 'NetSrvGetInfo on one bound pipe'}

    def fmt_time(s, m):
        xs = per_op(s, m)
        if m == 'transfer':
            return '%.2f ms [%.2f-%.2f]' % (
                med(s, m) * 1e3, q(xs, .25) * 1e3, q(xs, .75) * 1e3)
        return '%.1f µs [%.1f-%.1f]' % (
            med(s, m) * 1e6, q(xs, .25) * 1e6, q(xs, .75) * 1e6)

    lines = ['| measure | plain Samba | with ipcguard | ratio | '
             'with %d rules | ratio |' % args.rules,
             '|---|---|---|---|---|---|']
    for m in MODES:
        lines.append('| %s, median [IQR] %s | %s | %s | %.3f (paired '
                     '%.3f, min %.3f, max %.3f) | %s | %.3f (paired %.3f) |'
                     % (label[m], unit_name[m], fmt_time('plain', m),
                        fmt_time('gated', m), ratio('gated', m),
                        paired('gated', m),
                        min(a['seconds'] / b['seconds'] for a, b in
                            zip(res['gated'][m], res['plain'][m])),
                        max(a['seconds'] / b['seconds'] for a, b in
                            zip(res['gated'][m], res['plain'][m])),
                        fmt_time('rules', m), ratio('rules', m),
                        paired('rules', m)))
    cpu_lines = ['| server CPU (all processes; gate alone) | plain Samba | '
                 'with ipcguard | with %d rules |' % args.rules,
                 '|---|---|---|---|']
    cpu_unit = {'open': 'per 1,000 opens', 'transfer': 'per MB relayed',
                'stream': 'per 1,000 requests'}
    for m in MODES:
        cells = []
        for s in SIDES:
            total, gate = cpu_per(s, m)
            cells.append('%.3f s' % total if s == 'plain' else
                         '%.3f s (gate %.3f s)' % (total, gate))
        cpu_lines.append('| %s | %s |' % (cpu_unit[m], ' | '.join(cells)))
    mem_line = (
        '%d relayed pipes held at once: %s; gate RSS %.1f MiB idle, %.1f '
        'MiB held (peak %.1f MiB), talloc %d bytes idle, %d held: %.0f '
        'bytes RSS and %.0f talloc bytes per pipe' % (
            held['n'], 'every call answered' if held['held'] else
            'FAILED: ' + held['error'], held['rss_idle'] / 2**20,
            held['rss_held'] / 2**20, held['hwm'] / 2**20,
            held['talloc_idle'], held['talloc_held'], held['rss_per_pipe'],
            held['talloc_per_pipe']))
    decide_line = 'ipcguard_decide() with %d rules, -O2: %s' % (
        100, ', '.join('%s %.0f ns [%.0f-%.0f]' % ((k,) + decide[k])
                       for k in ('open', 'bind', 'request')))
    if profile is None:
        profile_line = 'relay profile: not run (--quick, or no valgrind)'
    else:
        pp = max(1, profile['pdus'])
        profile_line = (
            'relay profile (callgrind, %d transfers, %d bytes, %d PDUs '
            'relayed): %.0f instructions and %.1f tevent requests per PDU, '
            '%.1f instructions per byte; of the '
            'gate\'s instructions, full DCE/RPC parse %.1f %%, '
            'memcpy %.1f %%, talloc %.1f %%, malloc %.1f %%, tevent %.1f %%, '
            'tstream and npa framing %.1f %%' % (
                profile['n'], profile['bytes'], profile['pdus'],
                profile['total'] / pp, profile['requests'] / pp,
                profile['total'] / max(1, profile['bytes']),
                *(100 * profile[k] / profile['total'] for k in (
                    'parse', 'memcpy', 'talloc', 'malloc', 'tevent',
                    'tstream'))))
    if open_profile is None:
        open_line = 'open profile: not run (--quick, or no valgrind)'
    else:
        open_line = (
            'open profile (callgrind, %d opens): the gate spends %.0f '
            'instructions and %.0f tevent requests per pipe open + bind + '
            'close; by library: %s' % (
                open_profile['n'], open_profile['total'] / open_profile['n'],
                open_profile['requests'] / open_profile['n'],
                ', '.join('%s %.1f %%' % (lib, 100 * c / open_profile['total'])
                          for lib, c in open_profile['by_lib'])))
    if syscalls is None:
        syscall_line = 'gate system calls: not counted (--quick, or no ' \
            'strace)'
    else:
        syscall_line = ('gate system calls per NetSrvGetInfo request and '
                        'its response (strace -c, 500 requests): %s' %
                        ', '.join('%s %.2f' % kv for kv in syscalls.items()))
    if stream_profile is not None:
        syscall_line += (
            '; gate instructions per request and its response (callgrind, '
            '%d requests): %.0f, by library: %s' % (
                stream_profile['n'],
                stream_profile['total'] / stream_profile['n'],
                ', '.join('%s %.1f %%' % (
                    lib, 100 * c / stream_profile['total'])
                    for lib, c in stream_profile['by_lib'])))
    machine = ('load average %.2f before, %.2f after; during the measured '
               'rounds (%.0f s wall) the machine was %.0f %% busy, of which '
               '%.1f CPU seconds were not this benchmark (its servers, '
               'clients and itself)' % (
                   load_before[0], load_after[0], span,
                   100 * (busy1 - busy0) / max(1, total1 - total0),
                   other_cpu))

    hop_line = (
        'one more process on the path (bench_hop: a small request and '
        'response over a Unix socket, direct %.1f µs [%.1f-%.1f] per round '
        'trip, through a process that only reads and writes them on %.1f '
        'µs [%.1f-%.1f]): %.1f µs per round trip' % (
            hop['hop_direct'] + hop['hop_relayed'] + (hop_us,))) + (
        '; 1.2 MB answered in 4,280-byte fragments, direct %.2f ms '
        '[%.2f-%.2f], relayed %.2f ms [%.2f-%.2f]' % (
            hop['bulk_direct'] + hop['bulk_relayed']))

    def floor(m):
        """The ratio a relay that does nothing but pass bytes on would
        have: a call crosses the gate HOPS[m] times there and back."""
        if m not in HOPS:
            return None
        return (med('plain', m) * 1e6 + HOPS[m] * hop_us) / \
            (med('plain', m) * 1e6)

    def added_us(s, m):
        return (med(s, m) - med('plain', m)) * 1e6

    # Why a goal is missed, from this run's own figures.
    def why(m, side):
        gate = cpu_per(side, m)[1]
        if m in HOPS:
            text = ('a relay that only passed bytes on would already be at '
                    '%.3f: the call crosses the gate %d time%s there and '
                    'back, %.1f µs each here (bench_hop); the gate adds '
                    '%.1f µs in all, and spends %.0f µs CPU per %s' % (
                        floor(m), HOPS[m], '' if HOPS[m] == 1 else 's',
                        hop_us, added_us(side, m), gate * 1000,
                        'request and its response' if m == 'stream' else
                        'open'))
            if m == 'open' and open_profile is not None:
                text += (', %.0f instructions, most in the second named-'
                         'pipe handshake (see "Pipe open")' % (
                             open_profile['total'] / open_profile['n']))
            if m == 'stream' and syscalls is not None:
                text += ', %.0f system calls' % sum(syscalls.values())
            if m == 'stream' and stream_profile is not None:
                text += ' and %.0f instructions of its own' % (
                    stream_profile['total'] / stream_profile['n'])
            if m == 'stream':
                text += ' (see "Requests")'
            return text
        if m == 'transfer':
            return ('the gate adds %.2f ms per call; a relay that only '
                    'passes the same bytes on costs %+.2f ms here with '
                    'nothing else running (bench_hop), so what is left is '
                    'the gate\'s share of %d cores shared by client, smbd, '
                    'gate and RPC server: all processes together spend %.3f '
                    'CPU s per MB more than plain Samba, the gate\'s own '
                    'time is %.3f s%s%s (see "Relay")' % (
                        added_us(side, m) / 1000,
                        hop['bulk_relayed'][0] - hop['bulk_direct'][0],
                        os.cpu_count(),
                        cpu_per(side, m)[0] - cpu_per('plain', m)[0], gate,
                        '' if profile is None else
                        ' (%.0f instructions per relayed PDU)' % (
                            profile['total'] / max(1, profile['pdus'])),
                        '' if transfer_syscalls is None else
                        ', and it wakes %.0f times per call (epoll_wait, '
                        'strace)' % transfer_syscalls.get('epoll_wait', 0)))
        return ('the gate spends %.0f µs CPU per request and its response%s, '
                'on the path of every call (see "Requests")' % (
                    gate * 1000, '' if syscalls is None else
                    ', %.0f system calls' % sum(syscalls.values())))

    goals = []
    for m in MODES:
        for s in ('gated', 'rules'):
            r = ratio(s, m)
            goals.append('%s %s: %.3f, goal <= %.2f: %s' % (
                m, 'with ipcguard' if s == 'gated' else
                'with %d rules' % args.rules, r, GOALS[m],
                'met' if r <= GOALS[m] else 'not met; ' + why(m, s)))
    worst = max(decide[k][0] for k in decide)
    goals.append('decision with 100 rules: %.0f ns worst stage, goal < %d '
                 'ns: %s' % (worst, DECIDE_GOAL_NS,
                             'met' if worst < DECIDE_GOAL_NS else 'not met'))
    per_pipe = max(held['rss_per_pipe'], held['talloc_per_pipe'])
    goals.append('gate memory per relayed pipe: %.0f bytes, goal <= %d: %s'
                 % (per_pipe, PIPE_MEMORY_GOAL,
                    'met' if per_pipe <= PIPE_MEMORY_GOAL else
                    'not met; %.0f bytes of it are in the gate\'s talloc '
                    'tree, the rest is memory outside it' %
                    held['talloc_per_pipe']))
    goals.append('%d concurrent relayed pipes, every call answered: %s' % (
        held['n'], 'met' if held['held'] else 'not met'))

    print('\n'.join(lines + [''] + cpu_lines + ['', mem_line, decide_line,
                                                 profile_line, open_line,
                                                 syscall_line, hop_line,
                                                 machine, '']))
    for m, word in (('open', 'open'), ('transfer', 'transfer'),
                    ('stream', 'stream')):
        print('%s cost ratio: %.3f (goal <= %.2f)' % (
            word, ratio('gated', m), GOALS[m]))
        print('%s cost ratio with %d rules: %.3f (goal <= %.2f)' % (
            word, args.rules, ratio('rules', m), GOALS[m]))
    for g in goals:
        print('goal: ' + g)

    if not args.write:
        return
    cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' /proc/cpuinfo "
                          "| cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    samba = subprocess.run(['smbd', '--version'], capture_output=True,
                           text=True).stdout.strip()
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    with open(os.path.join(HERE, 'docs', 'benchmarks.md'), 'w') as f:
        f.write('# Gate benchmark\n\nWritten by `make bench` '
                '(`tests/bench/bench_gate.py --write`) on %s in %.0f s.\n\n'
                % (when, elapsed))
        f.write('Machine: %s, %d cores, %s, %s. What else it was doing: '
                '%s.\n\n' % (cpu, os.cpu_count(), platform.platform(), samba,
                             machine))
        f.write('Client: `build/bench_client` (tests/bench/bench_client.c), '
                'C against Samba\'s own client libraries, one process per '
                'measurement, one authenticated SMB3 session on 127.0.0.1. '
                '%d rounds; in each, the modes and within each mode the '
                'three servers run in a random order. Per round: %d opens, '
                '%d transfers, %d requests. "plain" has no vfs_ipcguard and '
                'no gate (smbd connects straight to samba-dcerpcd). "with %d '
                'rules" is ipcguard with that many rule-database rules (SDDL, '
                'address, interface and opnum rules on srvsvc, winreg and '
                'samr) that every open, bind and request is judged against '
                'without being refused. All at `log level = 1`.\n\n' % (
                    rounds, counts['open'], counts['transfer'],
                    counts['stream'], args.rules))
        f.write('## What a client sees\n\n')
        f.write('\n'.join(lines) + '\n\n')
        f.write('Ratio: the median time per operation with ipcguard over '
                'plain Samba\'s, same run; 1.000 means no cost. "paired": '
                'the median of the per-round ratios; min and max: the '
                'extreme per-round ratios.\n\n')
        f.write('## Server side\n\n')
        f.write('\n'.join(cpu_lines) + '\n\n')
        f.write('CPU: utime+stime, children reaped included, of every '
                'process of the instance (smbd and its children, the gate, '
                'samba-dcerpcd and rpcd_* workers) read from /proc around '
                'each measurement; median over rounds.\n\n')
        f.write('Memory: %s (VmRSS/VmHWM from /proc/<gate>/status, talloc '
                'bytes from `ipcguard status`).\n\n' % mem_line)
        f.write('Policy engine: %s per decision, median [min-max] of 15 '
                'batches (`build/bench_decide`, tests/bench/bench_decide.c, '
                'the same rule mix as the third server; Samba\'s SDDL access '
                'check stood in for by a string compare, so a rule with an '
                'SDDL costs the gate more than this).\n\n' % decide_line)
        f.write('Relay: %s.\n\nOnce both named-pipe handshakes are '
                'done the gate relays the bare sockets '
                '(source/gate/gate_relay_io.c): one read takes whatever has '
                'arrived, many PDUs at a time, into a buffer the whole gate '
                'shares; a PDU that is whole in one message (smbd and '
                'Samba\'s RPC servers write them so) is judged where it '
                'lies and written on with one writev, its 2-byte message '
                'length in front. Only PDUs that come in pieces are '
                'gathered, and only what a socket cannot take at once is '
                'copied and waits (then that direction reads no more until '
                'it is written). "Full parse" is Samba\'s '
                'dcerpc_pull_ncacn_packet(), into one talloc pool the gate '
                'reuses: it runs on every PDU from the client (each is '
                'judged) and, from the RPC server, on bind_ack, alter_resp, '
                'bind_nak and fault only (the gate learns the bound '
                'contexts from them); other responses are framed by their '
                '16-byte header alone. Bytes are copied, each time with '
                'one talloc allocation, only for the part of a read a held '
                'direction keeps (at most 4 KiB; more and it keeps the '
                'buffer itself) and for PDUs the client\'s socket could not '
                'take at once, which is most of them in a transfer larger '
                'than the socket holds. splice() would not '
                'save it: the gate must read each PDU\'s header to frame '
                'and judge it, and a splice moves one fragment through a '
                'kernel pipe in two calls, more system calls per fragment '
                'of a few KiB than the copy costs; the gate already reads '
                'many fragments per call.\n\n' % profile_line)
        f.write('Requests: %s. Each PDU is one read and one writev, each '
                'direction one wake-up of the gate (epoll_wait). What that '
                'costs a client is measured here: %s. A stream call crosses '
                'the gate once there and back, an open twice (the handshake '
                'and the bind); the goals below give the ratio such a relay '
                'would have on its own, in this run.\n\n' % (
                    syscall_line, hop_line))
        f.write('Pipe open: %s. The gate accepts smbd\'s named-pipe '
                'handshake (the caller\'s whole session info in NDR), '
                'judges the open, then makes the same handshake again to '
                'samba-dcerpcd (Samba\'s local_np_connect); plain Samba has '
                'one handshake. A relayed pipe then keeps only its token '
                'and names.\n\n' % open_line)
        f.write('## Goals\n\n')
        f.write(''.join('* %s\n' % g for g in goals) + '\n')
    readme = os.path.join(HERE, 'README.md')
    with open(readme) as f:
        text = f.read()
    block = '%s\nIn the last recorded run (%s; %s):\n\n%s\n\n%s\n\n%s.\n' \
        '%s.\n%s.\n%s.\n\n%s%s' % (
            README_BEGIN, when, machine, '\n'.join(lines),
            '\n'.join(cpu_lines), mem_line, decide_line, profile_line,
            open_line + '.\n' + syscall_line + '.\n' + hop_line,
            ''.join('* %s\n' % g for g in goals), README_END)
    if README_BEGIN in text:
        text = re.sub(re.escape(README_BEGIN) + '.*?' + re.escape(README_END),
                      lambda _: block, text, flags=re.S)
        with open(readme, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
