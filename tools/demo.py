#!/usr/bin/python3
"""Run smb.conf.example's active profile on a private Samba and show what
anonymous, guest and authenticated clients reach."""

import os
import re
import subprocess
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
        # Names to SIDs is what the profile serves; SIDs to names (RID
        # cycling) is refused by "allow anonymous sid name translation".
        ('lsa', 'name->SID', 'rpcclient -c "lookupnames ipcgtuser"',
         lambda who: s.rpcclient(who, 'lookupnames %s' % harness.TEST_USER)),
        ('lsa', 'SID->name', 'rpcclient -c "lookupsids S-1-5-32-544"',
         lambda who: s.rpcclient(who, 'lookupsids S-1-5-32-544')),
    ]
    with s:
        print('\nPrivate smbd on 127.0.0.1:%d, %s gating %s/np\n' %
              (s.port, harness.GATE, s.gate_dir))
        print('%-10s %-8s %-14s %s' % ('caller', 'kind', 'object', 'result'))
        # "admin" is in BUILTIN\Administrators: RestrictRemoteSAM's
        # default lets only administrators use SAMR remotely.
        for who in ('anonymous', 'guest', 'user', 'admin'):
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
        printer_bug(s)
    print('\nStopped smbd, ipcguardd and samba-dcerpcd.')


def printer_bug_call(s):
    """spoolss opnum 65 the way coercion tools make it (impacket)."""
    from impacket.dcerpc.v5 import rprn, transport
    from impacket.dcerpc.v5.rpcrt import DCERPCException
    from impacket.smbconnection import SMBConnection

    conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=s.port,
                         timeout=30)
    conn.login(harness.TEST_USER, harness.TEST_PASSWORD)
    t = transport.SMBTransport('127.0.0.1', s.port, filename='\\spoolss',
                               smb_connection=conn)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(rprn.MSRPC_UUID_RPRN)
    handle = rprn.hRpcOpenPrinter(dce, '\\\\127.0.0.1\x00')['pHandle']
    try:
        rprn.hRpcRemoteFindFirstPrinterChangeNotificationEx(
            dce, handle, rprn.PRINTER_CHANGE_ADD_JOB,
            pszLocalMachine='\\\\127.0.0.1\x00')
        result = 'reached the spooler'
    except DCERPCException as e:
        result = ('refused: rpc_s_access_denied'
                  if 'rpc_s_access_denied' in str(e) else
                  'reached the spooler, which answered %s' %
                  re.sub(r'^.*? - ', '', str(e))[:40])
    conn.close()
    return result


def printer_bug(s):
    tool = '/usr/sbin/ipcguard' if harness.INSTALLED else \
        os.path.join(harness.BUILD, 'ipcguard')
    print('\nRules beyond Windows: the "printer bug" (spoolss opnum 65)')
    print('%-44s %s' % ('before:', printer_bug_call(s)))
    add = [tool, '-s', s.conf, 'rule', 'add', 'printer-bug', 'action=deny',
           'pipe=spoolss', 'interface=spoolss', 'opnum=62,65',
           'sddl=D:(A;;GA;;;BA)(A;;GA;;;SY)']
    print('    $ ipcguard rule add printer-bug action=deny pipe=spoolss '
          'interface=spoolss opnum=62,65 \'sddl=D:(A;;GA;;;BA)(A;;GA;;;SY)\'')
    subprocess.run(add, check=True, capture_output=True)
    print('    $ smbcontrol ipcguardd reload-config')
    s.smbcontrol('ipcguardd', 'reload-config')
    s.wait_log(r'policy loaded with 1 database rule')
    print('%-44s %s' % ('after, impacket opnum 65 as a user:',
                        printer_bug_call(s)))
    r = s.rpcclient('user', 'enumprinters')
    status = re.findall(r'NT_STATUS_\w+', r.out)
    print('%-44s %s' % ('after, rpcclient enumprinters as a user:',
                        'refused: ' + status[-1] if status else 'works'))
    for line in s.logs().splitlines():
        if 'refused call' in line:
            print('   ', re.sub(r'^\S+: ', '', line.strip())[:160])


if __name__ == '__main__':
    main()
