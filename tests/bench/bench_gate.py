#!/usr/bin/python3
"""Benchmark: Samba with ipcguard (module + ipcguardd) against plain Samba,
both measured in the same run, rounds interleaved so drift hits both.

 * pipe-open latency: open \\srvsvc, bind, close, over one authenticated SMB
   session (impacket), median and p90 per open;
 * RPC throughput: srvsvc NetrShareEnum level 1 on a server with many
   shares with long comments (a response of about a megabyte, many
   fragments), bytes per second.

Prints both figures and their ratio (gated / plain), and with --write
records them in docs/benchmarks.md.  A benchmark, not a test: it asserts
nothing about speed.
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
    args = ap.parse_args()
    rounds, opens, calls, nshares = (2, 20, 2, 200) if args.quick else \
        (10, 100, 5, 3000)

    comment = 'ipcguard benchmark share with a long comment ' * 4
    shares = {'s%04d' % i: {'comment': comment} for i in range(nshares)}
    gated = harness.Server(ipcguard={'null session pipes': 'lsarpc'},
                           shares=shares)
    plain = harness.Server(ipcguard={}, gate=False, vfs=False, shares=shares)
    results = {'gated': {'open': [], 'xfer': [], 'size': 0},
               'plain': {'open': [], 'xfer': [], 'size': 0}}
    with gated, plain:
        servers = {'gated': gated, 'plain': plain}
        conns = {k: connect(s) for k, s in servers.items()}
        dces = {k: bind(s, conns[k]) for k, s in servers.items()}
        for k in servers:       # warm up: start helpers, fill caches
            time_opens(servers[k], conns[k], 5)
            time_transfer(dces[k], 1)
        for r in range(rounds):
            order = ['gated', 'plain'] if r % 2 == 0 else ['plain', 'gated']
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
    lines = [
        '| measure | plain Samba | with ipcguard | ratio (cost) |',
        '|---|---|---|---|',
        '| pipe open + bind, median | %.3f ms | %.3f ms | %.3f |' % (
            open_ms('plain'), open_ms('gated'), ratio_open),
        '| pipe open + bind, p90 | %.3f ms | %.3f ms | %.3f |' % (
            p90_ms('plain'), p90_ms('gated'),
            p90_ms('gated') / p90_ms('plain')),
        '| NetrShareEnum transfer (%d bytes), median | %.2f MB/s | '
        '%.2f MB/s | %.3f |' % (results['plain']['size'], mbps('plain'),
                                mbps('gated'), ratio_xfer),
    ]
    print('\n'.join(lines))
    print('open cost ratio: %.3f (target < 1.05)' % ratio_open)
    print('transfer cost ratio: %.3f (target < 1.02)' % ratio_xfer)
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
            f.write('Both servers run in the same run, rounds interleaved: '
                    '%d rounds of %d opens and %d transfers each; client: '
                    'impacket over one authenticated SMB3 session on '
                    '127.0.0.1. "plain" has no vfs_ipcguard and no gate '
                    '(smbd connects straight to samba-dcerpcd).\n\n' % (
                        rounds, opens, calls))
            f.write('\n'.join(lines) + '\n\n')
            f.write('Ratio: with ipcguard / plain for time, plain / with '
                    'ipcguard for throughput; 1.00 means no cost. Targets: '
                    'open < 1.05, transfer < 1.02.\n')


if __name__ == '__main__':
    main()
