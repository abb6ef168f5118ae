#!/usr/bin/python3
"""Run smb.conf.example's active profile on a private Samba and show what
anonymous, guest and authenticated clients reach."""

import os
import re
import sys

if '--installed' in sys.argv:
    # Run what the Debian package installed (make deb; apt install ./...).
    os.environ['IPCGUARD_INSTALLED'] = '1'

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(HERE, 'tests', 'integration'))
import harness  # noqa: E402


def example_profile():
    """ipcguard:* options and share names of the uncommented profile."""
    options, shares = {}, []
    section = None
    with open(os.path.join(HERE, 'smb.conf.example')) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = re.match(r'\[(.+)\]$', line)
            if m:
                section = m.group(1)
                if section != 'global':
                    shares.append(section)
                continue
            m = re.match(r'ipcguard:([^=]+?)\s*=\s*(.*)$', line)
            if m and section == 'global':
                options[m.group(1)] = m.group(2)
    return options, shares


def main():
    options, shares = example_profile()
    print('Profile from smb.conf.example:')
    for k, v in options.items():
        print('    ipcguard:%s = %s' % (k, v))
    s = harness.Server(ipcguard=options, shares={n: {} for n in shares})
    checks = [
        ('share', 'public', 'smbclient //127.0.0.1/public -c ls',
         lambda who: s.smbclient(who, 'public')),
        ('share', 'private', 'smbclient //127.0.0.1/private -c ls',
         lambda who: s.smbclient(who, 'private')),
        ('pipe', 'lsarpc', 'rpcclient -c lsaquery',
         lambda who: s.rpcclient(who, 'lsaquery')),
        ('pipe', 'srvsvc', 'rpcclient -c srvinfo',
         lambda who: s.rpcclient(who, 'srvinfo')),
        ('pipe', 'samr', 'rpcclient -c enumdomusers',
         lambda who: s.rpcclient(who, 'enumdomusers')),
    ]
    with s:
        print('\nPrivate smbd on 127.0.0.1:%d, %s gating %s/np\n' %
              (s.port, harness.GATE, s.gate_dir))
        print('%-10s %-8s %-14s %s' % ('caller', 'kind', 'object', 'result'))
        for who in ('anonymous', 'guest', 'user'):
            for kind, name, _cmd, run in checks:
                r = run(who)
                status = re.findall(r'NT_STATUS_\w+', r.out)
                result = ('reached' if r.rc == 0 and not status else
                          'refused: ' + (status[-1] if status else
                                         r.out.strip()[:60]))
                print('%-10s %-8s %-14s %s' % (who, kind, name, result))
        print('\nWhy, from the logs:')
        for line in s.logs().splitlines():
            if 'refused' in line and 'ipcguard' in line:
                print('   ', re.sub(r'^\S+: ', '', line.strip())[:160])
    print('\nStopped smbd, ipcguardd and samba-dcerpcd.')


if __name__ == '__main__':
    main()
