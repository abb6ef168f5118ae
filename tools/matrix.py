#!/usr/bin/python3
"""The version matrix: build ipcguard and run its tests against the Samba of
every Debian suite that ships one, each in its own test bed
(tools/bed.sh), and say per suite whether it is green.

    tools/matrix.py [--write] [SUITE...]      (make matrix)

Each suite's bed runs the project's own test command (tests/run.sh: unit
tests, sanitized unit tests and fuzzing, the man pages, the integration
suite) with the gate's ASan and valgrind passes left to the host's run.
--write records the table in docs/versions.md.  Logs go to
$IPCGUARD_CACHE/logs/matrix-SUITE.log, outside the clone.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = ['bookworm', 'trixie', 'trixie-backports', 'sid']
CACHE = os.environ.get('IPCGUARD_CACHE', '/var/cache/ipcguard')
DOC = os.path.join(ROOT, 'docs', 'versions.md')


def bed(*args, log):
    with open(log, 'a') as f:
        f.write('\n$ tools/bed.sh %s\n' % ' '.join(args))
        f.flush()
        p = subprocess.run([os.path.join(ROOT, 'tools', 'bed.sh')] +
                           list(args), stdout=subprocess.PIPE,
                           stderr=f, text=True)
        f.write(p.stdout)
    return p.returncode, p.stdout


def pytest_counts(text):
    """The last pytest summary line's counts."""
    lines = re.findall(r'^=+ (.*\d+ (?:passed|failed|error).*) in '
                       r'[\d.]+s.*=+$', text, re.M)
    counts = {'passed': 0, 'failed': 0, 'skipped': 0, 'error': 0}
    if lines:
        for n, what in re.findall(r'(\d+) (\w+)', lines[-1]):
            key = 'error' if what.startswith('error') else what
            counts[key] = counts.get(key, 0) + int(n)
    return counts, bool(lines)


def unit_counts(text):
    passed = sum(int(n) for n in re.findall(r'^\[  PASSED  \] (\d+) test',
                                            text, re.M))
    failed = sum(int(n) for n in re.findall(r'^\[  FAILED  \] (\d+) test',
                                            text, re.M))
    return passed, failed


def run_suite(suite):
    log = os.path.join(CACHE, 'logs', 'matrix-%s.log' % suite)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    open(log, 'w').close()
    started = time.time()
    row = {'suite': suite, 'samba': '-', 'build': 'not reached',
           'unit': '-', 'passed': 0, 'failed': 0, 'skipped': 0,
           'result': 'red', 'date': datetime.datetime.now(
               datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
           'log': log}
    rc, _ = bed('create', suite, log=log)
    if rc != 0:
        with open(log, errors='replace') as f:
            errors = re.findall(r'^(?:bed|prepare-samba-tree): ERROR: (.*)$',
                                f.read(), re.M)
        reason = errors[0] if errors else 'see log'
        m = re.search(r'source of samba (\S+),', reason)
        if m:
            row['samba'] = m.group(1)
            reason = 'its source package is listed but not served by the ' \
                'mirror, so it cannot be built here'
        row['build'] = 'no bed: %s' % reason
        return row
    _, out = bed('version', suite, log=log)
    row['samba'] = out.strip() or '-'
    rc, _ = bed('run', suite, 'tests/run.sh', log=log)
    with open(log, errors='replace') as f:
        text = f.read()
    row['build'] = 'ok' if 'build: results in' in text else 'failed'
    up, uf = unit_counts(text)
    row['unit'] = '%d passed, %d failed' % (up, uf)
    counts, seen = pytest_counts(text)
    row['passed'] = counts['passed']
    row['failed'] = counts['failed'] + counts['error']
    row['skipped'] = counts['skipped']
    demo_rc, demo = bed('run', suite, 'make', 'demo', log=log)
    row['demo'] = 'ok' if demo_rc == 0 and ' gating ' in demo else 'failed'
    row['minutes'] = '%.0f' % ((time.time() - started) / 60)
    if rc == 0 and seen and row['failed'] == 0 and uf == 0 and \
            row['build'] == 'ok' and row['passed'] > 0 and \
            row['demo'] == 'ok':
        row['result'] = 'green'
    return row


HEADER = ('| suite | samba package | build | unit tests | integration '
          'passed | failed | skipped | make demo | result | date | '
          'minutes | commit |')


def table_rows(rows):
    return ['| %s | %s | %s | %s | %d | %d | %d | %s | **%s** | %s | %s | '
            '%s |' % (r['suite'], r['samba'], r['build'], r['unit'],
                      r['passed'], r['failed'], r['skipped'],
                      r.get('demo', '-'), r['result'], r['date'],
                      r.get('minutes', '-'), r['commit'])
            for r in rows]


def table(lines):
    return '\n'.join([HEADER, '|' + '---|' * HEADER.count(' | ') + '---|']
                     + lines)


def merged(rows):
    """This run's rows, and the recorded rows of suites it did not run, in
    SUITES order."""
    by_suite = {}
    if os.path.exists(DOC):
        with open(DOC) as f:
            for line in f:
                cells = [c.strip() for c in line.strip().strip('|').split('|')]
                if len(cells) == HEADER.count(' | ') + 1 and \
                        cells[0] in SUITES:
                    by_suite[cells[0]] = line.rstrip('\n')
    for r, line in zip(rows, table_rows(rows)):
        by_suite[r['suite']] = line
    return [by_suite[s] for s in SUITES if s in by_suite]


def commit():
    head = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short',
                           'HEAD'], capture_output=True,
                          text=True).stdout.strip() or 'unknown'
    dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain',
                            '--untracked-files=no'], capture_output=True,
                           text=True).stdout.strip()
    return head + (' with uncommitted changes' if dirty else '')


def write(rows):
    host = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'samba'],
                          capture_output=True, text=True).stdout.strip()
    text = '''# Samba versions: the test matrix

Written by `make matrix` (`tools/matrix.py --write`); never edited by hand.

Each row is one Debian suite's test bed (`tools/bed.sh`): a root file
system made by debootstrap from this machine's Debian mirror, with that
suite's Samba packages, ipcguard's build and test dependencies and a Samba
tree prepared from that exact samba source package. ipcguard is built in the
bed against that Samba, and the project's test command (`tests/run.sh`: the
unit tests, the sanitized unit tests and fuzzers, the man pages and the whole
integration suite against the bed's own smbd, samba-dcerpcd, rpcclient,
smbclient, smbcontrol and `net conf`) runs there, in private mount, pid and
network namespaces. The gate's AddressSanitizer and valgrind passes run on the
host's Samba only (`make test`). `make demo` then runs in the same bed.
A bed's run also loads the module the host built (for the host's Samba)
into the bed's smbd and expects smbd to refuse it with one clear line;
where the bed's Samba is the host's, that test is skipped.

Host samba %s; %d cores. `tools/matrix.py --write SUITE...` runs some
suites and keeps the others' rows as they were recorded; each row names the
commit it tested.

%s
''' % (host, os.cpu_count(), table(merged(rows)))
    with open(DOC, 'w') as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--write', action='store_true',
                    help='record the table in docs/versions.md')
    ap.add_argument('suites', nargs='*', default=SUITES)
    args = ap.parse_args()
    for s in args.suites:
        if s not in SUITES:
            ap.error('unknown suite %s (%s)' % (s, ', '.join(SUITES)))
    head = commit()
    rows = []
    for s in args.suites:
        print('matrix: %s ...' % s, flush=True)
        row = run_suite(s)
        row['commit'] = head
        rows.append(row)
        print('matrix: %s: samba %s: %s (%d passed, %d failed; log %s)' % (
            s, row['samba'], row['result'].upper(), row['passed'],
            row['failed'], row['log']), flush=True)
    print(table(table_rows(rows)))
    if args.write:
        write(rows)
    return 0 if all(r['result'] == 'green' for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
