#!/usr/bin/python3
"""Benchmark: Samba with ipcguard (module + ipcguardd) against plain Samba,
both measured in the same run, rounds interleaved so drift hits both.

 * pipe-open latency: open \\srvsvc, bind, close, over one authenticated SMB
   session (impacket), median and p90 per open;
 * RPC throughput: srvsvc NetrShareEnum level 1 on a server with many
   shares with long comments (a response of about a megabyte, many
   fragments), bytes per second.

Prints both figures and their ratio (gated / plain), and with --write
records them in docs/benchmarks.md.  A third server runs the gate with
--rules rule-database rules (100 by default) that every open, bind and
request of the benchmark is judged against without matching it.  A
benchmark, not a test: it asserts nothing about speed.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(HERE, 'tests', 'integration'))
import harness  # noqa: E402
from impacket.dcerpc.v5 import srvs, transport  # noqa: E402
from impacket.smbconnection import SMBConnection  # noqa: E402


def connect(server):
    conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=server.port,
                         timeout=60)
    conn.login(harness.TEST_USER, harness.TEST_PASSWORD)
    return conn


def bind(server, conn):
    t = transport.SMBTransport('127.0.0.1', server.port, filename='\\srvsvc',
                               smb_connection=conn)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(srvs.MSRPC_UUID_SRVS)
    return dce


def rule_fields(i):
    """A mix of rule kinds that the benchmark's srvsvc traffic is judged
    against at every stage and that never refuse it."""
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


def add_rules(server, n):
    tool = os.path.join(harness.BUILD, 'ipcguard') if not \
        harness.INSTALLED else '/usr/sbin/ipcguard'
    for i in range(n):
        subprocess.run([tool, '-s', server.conf, 'rule', 'add',
                        'bench-%03d' % i, 'order=%d' % i] + rule_fields(i),
                       check=True, capture_output=True, text=True)
    server.smbcontrol('ipcguardd', 'reload-config')
    deadline = time.time() + 20
    while time.time() < deadline:
        out = subprocess.run([tool, '-s', server.conf, 'status'],
                             capture_output=True, text=True).stdout
        if 'rules=%d\n' % n in out:
            return
        time.sleep(0.1)
    raise RuntimeError('the gate did not load %d rules' % n)


def time_opens(server, conn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        dce = bind(server, conn)
        dce.disconnect()
        out.append(time.perf_counter() - t0)
    return out


def time_transfer(dce, n):
    out = []
    size = 0
    for _ in range(n):
        t0 = time.perf_counter()
        r = srvs.hNetrShareEnum(dce, 1)
        out.append(time.perf_counter() - t0)
        size = len(r.getData())
    return out, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true',
                    help='few iterations: checks the benchmark runs')
    ap.add_argument('--write', action='store_true',
                    help='record the results in docs/benchmarks.md')
    ap.add_argument('--rules', type=int, default=100,
                    help='rules in the third server\'s rule database')
    args = ap.parse_args()
    rounds, opens, calls, nshares = (2, 20, 2, 200) if args.quick else \
        (10, 100, 12, 3000)

    comment = 'ipcguard benchmark share with a long comment ' * 4
    shares = {'s%04d' % i: {'comment': comment} for i in range(nshares)}
    gated = harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                           shares=shares)
    plain = harness.Server(ipcguard={}, gate=False, vfs=False, shares=shares)
    ruled = harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                           shares=shares)
    results = {k: {'open': [], 'xfer': [], 'size': 0}
               for k in ('gated', 'plain', 'rules')}
    with gated, plain, ruled:
        add_rules(ruled, args.rules)
        servers = {'gated': gated, 'plain': plain, 'rules': ruled}
        conns = {k: connect(s) for k, s in servers.items()}
        dces = {k: bind(s, conns[k]) for k, s in servers.items()}
        for k in servers:       # warm up: start helpers, fill caches
            time_opens(servers[k], conns[k], 5)
            time_transfer(dces[k], 1)
        for r in range(rounds):
            order = ['gated', 'plain', 'rules']
            order = order[r % 3:] + order[:r % 3]
            for k in order:
                results[k]['open'] += time_opens(servers[k], conns[k], opens)
                t, size = time_transfer(dces[k], calls)
                results[k]['xfer'] += t
                results[k]['size'] = size

    def open_ms(k):
        return statistics.median(results[k]['open']) * 1000

    def p90_ms(k):
        return statistics.quantiles(results[k]['open'], n=10)[-1] * 1000

    def mbps(k):
        return results[k]['size'] / statistics.median(results[k]['xfer']) \
            / 1e6

    ratio_open = open_ms('gated') / open_ms('plain')
    ratio_xfer = mbps('plain') / mbps('gated')
    rules_open = open_ms('rules') / open_ms('plain')
    rules_xfer = mbps('plain') / mbps('rules')
    lines = [
        '| measure | plain Samba | with ipcguard | ratio (cost) | '
        'with %d rules | ratio (cost) |' % args.rules,
        '|---|---|---|---|---|---|',
        '| pipe open + bind, median | %.3f ms | %.3f ms | %.3f | %.3f ms | '
        '%.3f |' % (open_ms('plain'), open_ms('gated'), ratio_open,
                    open_ms('rules'), rules_open),
        '| pipe open + bind, p90 | %.3f ms | %.3f ms | %.3f | %.3f ms | '
        '%.3f |' % (p90_ms('plain'), p90_ms('gated'),
                    p90_ms('gated') / p90_ms('plain'), p90_ms('rules'),
                    p90_ms('rules') / p90_ms('plain')),
        '| NetrShareEnum transfer (%d bytes), median | %.2f MB/s | '
        '%.2f MB/s | %.3f | %.2f MB/s | %.3f |' % (
            results['plain']['size'], mbps('plain'), mbps('gated'),
            ratio_xfer, mbps('rules'), rules_xfer),
    ]
    print('\n'.join(lines))
    print('open cost ratio: %.3f (target < 1.05)' % ratio_open)
    print('transfer cost ratio: %.3f (target < 1.02)' % ratio_xfer)
    print('open cost ratio with %d rules: %.3f (target < 1.05)' % (
        args.rules, rules_open))
    print('transfer cost ratio with %d rules: %.3f (target < 1.02)' % (
        args.rules, rules_xfer))
    if args.write:
        cpu = subprocess.run(['sh', '-c', "grep -m1 'model name' "
                              "/proc/cpuinfo | cut -d: -f2"],
                             capture_output=True, text=True).stdout.strip()
        samba = subprocess.run(['smbd', '--version'], capture_output=True,
                               text=True).stdout.strip()
        with open(os.path.join(HERE, 'docs', 'benchmarks.md'), 'w') as f:
            f.write('# Gate benchmark\n\nWritten by `%s` on %s.\n\n' % (
                'python3 tests/bench/bench_gate.py --write',
                time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())))
            f.write('Machine: %s, %d cores, %s, %s.\n\n' % (
                cpu, os.cpu_count(), platform.platform(), samba))
            f.write('All servers run in the same run, rounds interleaved: '
                    '%d rounds of %d opens and %d transfers each; client: '
                    'impacket over one authenticated SMB3 session on '
                    '127.0.0.1. "plain" has no vfs_ipcguard and no gate '
                    '(smbd connects straight to samba-dcerpcd). "with %d '
                    'rules" is ipcguard with that many rule-database rules '
                    '(SDDL, address, interface and opnum rules on srvsvc, '
                    'winreg and samr) that every open, bind and request is '
                    'judged against without being refused.\n\n' % (
                        rounds, opens, calls, args.rules))
            f.write('\n'.join(lines) + '\n\n')
            f.write('Ratio: with ipcguard / plain for time, plain / with '
                    'ipcguard for throughput; 1.00 means no cost. Targets: '
                    'open < 1.05, transfer < 1.02.\n')


if __name__ == '__main__':
    main()
