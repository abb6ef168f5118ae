#!/usr/bin/python3
"""What anonymous callers, Administrator and a member get from a Samba AD
DC with smb.conf.example's DC profile, over SMB and over TCP, with the TCP
door and without it: provisions two DCs (dc.py: private directories and
network namespaces, clients arriving over a veth pair), asks each the
same questions, and prints the table; --write records it in
docs/results.md (section "dc").  `make dc-results`."""

import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'load'))

import loadlib  # noqa: E402
from dc import DC, DOMAIN, SAME_ANSWERS, dc_profile_kwargs, \
    door_covers, outcome  # noqa: E402

MACHINE_PASSWORD = 'Dc-Results-Pw1x'


def wait_door(d):
    """Until the door stands in front of every port Samba's RPC task
    listens on (the tests' wait, without pytest)."""
    want = sorted({p for a, p, proc in d.listening()
                   if proc.startswith('rpc[')})
    text = d.wait_log(r'TCP door on port \d+ stands in front of ports '
                      r'\S+\n', timeout=30)
    spec = re.findall(r'stands in front of ports (\S+)\n', text)[-1]
    assert all(door_covers(spec, p) for p in want), (spec, want)


def ask(d):
    """Each question, answered by d: anonymous over SMB and TCP for the
    calls of SAME_ANSWERS, then what Samba's and the members' own callers
    need."""
    rows = {}
    for iface, cmd, _ in SAME_ANSWERS:
        rows[(iface, cmd)] = (
            outcome(d.rpcclient('anonymous', cmd, transport='smb')),
            outcome(d.rpcclient('anonymous', cmd, transport='tcp')))
    admin = d.rpcclient('admin', 'enumdomusers', transport='tcp')
    d.samba_tool('computer', 'create', 'RESULTS')
    d.samba_tool('user', 'setpassword', 'RESULTS$',
                 '--newpassword=%s' % MACHINE_PASSWORD)
    schannel = {t: d.schannel('RESULTS', MACHINE_PASSWORD, t).out.strip()
                for t in ('smb', 'tcp')}
    wbinfo = d.wbinfo('-u')
    others = [
        ('Administrator, samr enumdomusers over TCP (sealed NTLMSSP)',
         outcome(admin)),
        ('machine account, schannel to netlogon over SMB',
         'answered' if schannel['smb'].startswith('ok') else
         schannel['smb']),
        ('machine account, schannel to netlogon over TCP',
         'answered' if schannel['tcp'].startswith('ok') else
         schannel['tcp']),
        ('winbindd on the DC, `wbinfo -u`',
         'answered' if wbinfo.rc == 0 and
         'administrator' in wbinfo.out.lower() else
         'other: %s' % wbinfo.out.strip()[:100]),
    ]
    return rows, others


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--write', action='store_true',
                    help='record the table in docs/results.md')
    args = ap.parse_args()
    started = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    answers = {}
    for door in (True, False):
        with DC(**dc_profile_kwargs(door=door)) as d:
            if door:
                wait_door(d)
            answers[door] = ask(d)
    rows_door, others_door = answers[True]
    rows_open, others_open = answers[False]
    lines = ['| interface | rpcclient call (anonymous) | over SMB | '
             'over TCP, door | over TCP, no door |',
             '|---|---|---|---|---|']
    same = True
    for iface, cmd, expected in SAME_ANSWERS:
        smb, tcp = rows_door[(iface, cmd)]
        open_tcp = rows_open[(iface, cmd)][1]
        same = same and smb == tcp == expected
        lines.append('| %s | `%s` | %s | %s | %s |' % (
            iface, cmd.replace(DOMAIN, 'DOMAIN'), smb, tcp, open_tcp))
    lines += ['', '| caller | with the door | without |', '|---|---|---|']
    for (what, got), (_, got_open) in zip(others_door, others_open):
        same = same and got == 'answered'
        lines.append('| %s | %s | %s |' % (what, got, got_open))
    table = '\n'.join(lines)
    print(table)
    verdict = ('With the door, every anonymous answer over TCP is the one '
               'over SMB, and every caller that needs the DC is answered.'
               if same else
               'NOT MET: an answer above differs from what the policy '
               'wants (see the tests in tests/integration/test_dc.py).')
    print(verdict)
    if args.write:
        loadlib.write_section(
            'dc', 'Active Directory domain controller: SMB and TCP',
            'dc_results.py', None, started, [
                'Policy: the DC profile of `smb.conf.example` '
                '(`ipcguard:null session pipes = netlogon lsarpc epmapper`, '
                'restrict anonymous sam and restrict anonymous on, no '
                'anonymous name translation, `ipcguard:tcp door port = '
                '1135`); "no door" is the same profile without the TCP '
                'door. Each DC is provisioned afresh (Samba %s, '
                '`samba-tool domain provision --server-role=dc '
                '--dns-backend=NONE`) in its own network namespace; '
                'clients arrive from a second namespace over a veth pair. '
                '"refused" is access denied, at the bind or the call; '
                '"answered" is the call\'s own answer. Over TCP Samba\'s '
                'LSA refuses anonymous `lsaquery` itself, door or not, so '
                'it is not in the table.' % DC.samba_version(),
                table, verdict],
            cmd='python3 tests/integration/dc_results.py --write')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
