"""The Debian package: built with the distribution's tools, it installs
the module, the gate, the tool, the unit and the man pages, depends on the
exact samba it was built for, and the README's demo runs from it."""

import glob
import os
import subprocess

import harness


def run(argv, check=True, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=check,
                          timeout=900, **kw)


def test_deb_installs_and_the_demo_runs_from_it():
    for old in glob.glob(os.path.join(harness.BUILD, 'ipcguard_*.deb')):
        os.unlink(old)
    run(['make', '-C', harness.ROOT, 'deb'])
    deb = glob.glob(os.path.join(harness.BUILD, 'ipcguard_*.deb'))[0]
    samba = harness.samba_package_version()
    info = run(['dpkg-deb', '-f', deb, 'Depends']).stdout
    assert 'samba (= %s)' % samba in info, info
    files = run(['dpkg-deb', '-c', deb]).stdout
    for path in ('usr/sbin/ipcguardd', 'usr/sbin/ipcguard',
                 'samba/vfs/ipcguard.so', 'ipcguardd.service',
                 'man8/vfs_ipcguard.8', 'man8/ipcguardd.8',
                 'man8/ipcguard.8'):
        assert path in files, path
    # Installed and run in a throw-away copy of the machine: the test must
    # not change what is installed here (a server with ipcguard installed
    # would otherwise lose it to the purge).
    before = run(['dpkg-query', '-W', '-f=${Status}\n', 'ipcguard'],
                 check=False)
    script = ('apt-get install -y --allow-downgrades "$1" >/dev/null && '
              'test -e /usr/share/man/man8/ipcguardd.8.gz && '
              '/usr/sbin/ipcguard --version && '
              '/usr/bin/python3 "$2"/tools/demo.py --installed')
    demo = run([os.path.join(harness.ROOT, 'tools', 'in-overlay-root.sh'),
                harness.ROOT, 'sh', '-c', script, 'sh', deb, harness.ROOT],
               env=dict(os.environ, DEBIAN_FRONTEND='noninteractive')).stdout
    # The installed tool names the Samba the package was built for.
    assert 'for Samba %s (package samba %s)' % (
        harness.samba_upstream_version(), samba) in demo, demo
    assert '/usr/sbin/ipcguardd gating' in demo, demo
    assert 'anonymous  share    private        refused' in demo, demo
    assert 'anonymous  pipe     srvsvc         refused: ' \
        'NT_STATUS_ACCESS_DENIED' in demo, demo
    assert 'anonymous  pipe     lsarpc         reached' in demo, demo
    assert 'user       pipe     srvsvc         reached' in demo, demo
    after = run(['dpkg-query', '-W', '-f=${Status}\n', 'ipcguard'],
                check=False)
    assert (after.returncode, after.stdout) == \
        (before.returncode, before.stdout), (before, after)
