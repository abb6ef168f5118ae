"""Benchmark: what the TCP door costs a new TCP connection to an AD DC,
against a DC without it, both measured in the same run with rounds
interleaved (order shuffled per round).

Two DCs of smb.conf.example's DC profile are provisioned (tests/
integration/dc.py), one with the door and one without; the client runs in
each DC's client network namespace and reaches the DC over a veth pair.
The client is build/bench_client (tests/bench/bench_client.c), C against
Samba's own client libraries, one process per measurement; no SMB:

 * tcp-connect: a new TCP connection to port 135, an anonymous bind of
   the endpoint mapper, close: the smallest thing a client does over TCP,
   so the one where the door's share is largest;
 * tcp-logon: what a client does to reach samr over TCP: ask the endpoint
   mapper at 135 for samr's port, connect there, bind with NTLMSSP as
   Administrator (privacy), SamrConnect2, close.

The goal (issue 24): a new TCP connection through the door costs at most
5 % more than without it.  With --write the figures go to
docs/benchmarks-door.md.  A benchmark, not a test: it asserts nothing
about speed.
"""

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(HERE, 'tests', 'integration'))
import harness  # noqa: E402

CLIENT = os.path.join(harness.BUILD, 'bench_client')
MODES = {'tcp-connect': 'new TCP connection: anonymous endpoint mapper '
                        'bind',
         'tcp-logon': 'new TCP connection: endpoint mapper lookup, '
                      'NTLMSSP bind to samr, SamrConnect2'}
GOAL = 1.05
DOC = os.path.join(HERE, 'docs', 'benchmarks-door.md')


def per_connection(dc, mode, n):
    """Microseconds per connection of one bench_client run of n."""
    r = dc.in_client_run([CLIENT, dc.client_conf, dc.ip, '135',
                          'Administrator%' + dc.admin_password, mode,
                          str(n)], timeout=600)
    fields = dict(f.split('=', 1) for f in r.out.split()
                  if '=' in f and r.rc == 0)
    if 'seconds' not in fields:
        raise RuntimeError('bench_client %s: %r' % (mode, r))
    return float(fields['seconds']) / n * 1e6


def measure(door, plain, rounds, counts):
    """{mode: {'door': [us per round], 'plain': [...]}}, rounds
    interleaved and shuffled."""
    out = {m: {'door': [], 'plain': []} for m in MODES}
    rng = random.Random()
    for _ in range(rounds):
        order = [(m, side) for m in MODES for side in ('door', 'plain')]
        rng.shuffle(order)
        for mode, side in order:
            dc = door if side == 'door' else plain
            out[mode][side].append(per_connection(dc, mode, counts[mode]))
    return out


def summarize(results):
    """Lines: per mode the medians, ratio, paired ratio and goal."""
    lines = []
    for mode, label in MODES.items():
        d, p = results[mode]['door'], results[mode]['plain']
        ratio = statistics.median(d) / statistics.median(p)
        paired = statistics.median(a / b for a, b in zip(d, p))
        added = statistics.median(d) - statistics.median(p)
        lines.append(
            '| %s | %.1f µs [%.1f-%.1f] | %.1f µs [%.1f-%.1f] | %.3f '
            '(paired %.3f) | %+.1f µs |' % (
                label, statistics.median(p), min(p), max(p),
                statistics.median(d), min(d), max(d), ratio, paired, added))
    return lines


def goals(results):
    out = []
    for mode, label in MODES.items():
        d, p = results[mode]['door'], results[mode]['plain']
        ratio = statistics.median(d) / statistics.median(p)
        out.append('goal: %s through the door: %.3f, goal <= %.2f: %s' % (
            mode, ratio, GOAL, 'met' if ratio <= GOAL else 'not met'))
    return out


def start_dcs():
    from dc import DC, dc_profile_kwargs
    from test_dc import wait_door
    door = DC(**dc_profile_kwargs(door=True))
    plain = DC(**dc_profile_kwargs(door=False))
    try:
        door.start()
        plain.start()
        wait_door(door)
    except BaseException:
        door.close()
        plain.close()
        raise
    return door, plain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true',
                    help='few rounds: shows it runs, measures little')
    ap.add_argument('--write', action='store_true',
                    help='write docs/benchmarks-door.md')
    args = ap.parse_args()
    rounds = 3 if args.quick else 15
    counts = {'tcp-connect': 50 if args.quick else 300,
              'tcp-logon': 5 if args.quick else 40}
    started = time.time()
    door, plain = start_dcs()
    try:
        measure(door, plain, 1, {m: 5 for m in MODES})     # warm up
        results = measure(door, plain, rounds, counts)
    finally:
        door.close()
        plain.close()
    table = summarize(results)
    for line in ['| measure | without the door | through the door | '
                 'ratio | added |', '|---|---|---|---|---|'] + table:
        print(line)
    for line in goals(results):
        print(line)
    if not args.write:
        return 0
    with open(DOC, 'w') as f:
        f.write('# TCP door benchmark\n\n')
        f.write('Written by `make bench-door` (`tests/bench/bench_door.py '
                '--write`) on %s in %d s.\n\n' % (
                    time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                    time.time() - started))
        f.write('Machine: %s, %d cores, %s, Samba %s.\n\n' % (
            platform.processor() or platform.machine(), os.cpu_count(),
            platform.platform(),
            subprocess.run(['smbd', '--version'], capture_output=True,
                           text=True).stdout.strip()))
        f.write(__doc__.split('\n\n', 1)[1].split('The goal')[0])
        f.write('%d rounds; per round %d tcp-connect and %d tcp-logon '
                'connections per DC. Median [min-max] over rounds of the '
                'time per connection; ratio: median through the door over '
                'median without it; paired: the median of the per-round '
                'ratios.\n\n' % (rounds, counts['tcp-connect'],
                                 counts['tcp-logon']))
        f.write('| measure | without the door | through the door | ratio '
                '| added |\n|---|---|---|---|---|\n')
        f.write('\n'.join(table) + '\n\n## Goals\n\n')
        f.write('\n'.join('* ' + g[len('goal: '):] for g in goals(results)))
        f.write('\n\nThe door is a process on the path: each connection is '
                'accepted by the gate, which connects to Samba from the DC '
                'itself, and each PDU crosses it once there and once back '
                '(what one more process costs a round trip on this machine '
                'is bench_hop\'s figure in docs/benchmarks.md). A connection '
                'that only binds is little more than those crossings; one '
                'that logs on spends most of its time in Samba.\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
