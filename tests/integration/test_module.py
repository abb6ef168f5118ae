"""Issue 2: the ipcguard VFS module inside Debian's real smbd."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

import harness
from harness import Server

REFUSED_CONNECT = 'NT_STATUS_UNSUCCESSFUL'


def refused(r):
    return r.rc != 0 and REFUSED_CONNECT in r.out


def test_loads_the_freshly_built_module():
    with Server(ipcguard={'null session shares': 'public'}) as s:
        r = s.smbclient('user', 'public')
        assert r.rc == 0, r
        # smbd, in its private mount namespace, saw the module just built.
        seen = '/proc/%d/root%s/vfs/ipcguard.so' % (s.smbd.pid,
                                                   harness.modules_dir())
        if not harness.INSTALLED:
            assert harness.sha256(seen) == harness.sha256(
                os.path.join(harness.BUILD, 'ipcguard.so'))
        # It names the Samba it was built for: this machine's.
        s.wait_log(r'ipcguard: vfs module \S+ \(build %s\) for Samba %s '
                   r'\(package samba %s\) loaded' % (
                       harness.build_id(),
                       re.escape(harness.samba_upstream_version()),
                       re.escape(harness.samba_package_version())))


def test_defaults_refuse_anonymous_everywhere():
    with Server(ipcguard={}) as s:
        assert refused(s.smbclient('anonymous', 'public'))
        assert refused(s.rpcclient('anonymous', 'srvinfo'))
        s.wait_log(r"refused share 'public' to anonymous session .*"
                   r"rule auto-disable")
        s.wait_log(r"refused ipc 'IPC\$' to anonymous session .*"
                   r"rule auto-disable")
        # Authenticated sessions are never affected.
        assert s.smbclient('user', 'public').rc == 0
        assert s.smbclient('user', 'private').rc == 0
        r = s.rpcclient('user', 'srvinfo')
        assert r.rc == 0 and 'IPCGTEST' in r.out, r


@pytest.mark.parametrize('proto', ['NT1', 'SMB3'])
def test_share_list(proto):
    opts = {'null session shares': 'public',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        r = s.smbclient('anonymous', 'PUBLIC', 'get hello.txt /dev/null',
                        proto=proto)
        assert r.rc == 0, r
        assert refused(s.smbclient('anonymous', 'private', proto=proto))
        s.wait_log(r"refused share 'private' to anonymous session "
                   r"\(user '', client 127\.0\.0\.1, sids S-1-5-7,.*\): "
                   r"rule null-session-shares")
        assert s.smbclient('user', 'private', proto=proto).rc == 0


def test_restrict_null_session_access_off():
    opts = {'null session shares': 'public',
            'restrict null session access': 'no',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        assert s.smbclient('anonymous', 'private').rc == 0


def test_ipc_without_and_with_listed_pipes():
    with Server(ipcguard={'null session shares': 'public'}) as s:
        assert refused(s.rpcclient('anonymous', 'lsaquery'))
        s.wait_log(r"refused ipc 'IPC\$' to anonymous session .*"
                   r"rule null-session-pipes")
        s.set_ipcguard(null_session_pipes='lsarpc')
        # New tree connects read the changed smb.conf.
        s.smbcontrol('smbd', 'reload-config')
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'Cannot connect to server' not in r.out, r


def test_guest_counts_as_anonymous_by_default():
    opts = {'null session shares': 'public',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        assert s.smbclient('guest', 'public').rc == 0
        assert refused(s.smbclient('guest', 'private'))
        s.wait_log(r"refused share 'private' to guest session")


def test_guest_exempt_when_configured():
    opts = {'null session shares': 'public',
            'guest is anonymous': 'no'}
    with Server(ipcguard=opts) as s:
        assert s.smbclient('guest', 'private').rc == 0
        assert refused(s.smbclient('anonymous', 'private'))


@pytest.mark.parametrize('option,value,message', [
    ('restrict null session access', 'maybe', 'not a boolean'),
    ('everyone includes anonymous', 'yess', 'not a boolean'),
    ('guest is anonymous', '2', 'not a boolean'),
    ('null session shares', 'pub/lic', 'not allowed in a share name'),
    ('null session pipes', 'lsa*rpc', 'not allowed in a pipe name'),
    ('null session shares', '"public', 'unterminated quote'),
])
def test_bad_option_fails_closed(option, value, message):
    opts = {'null session shares': 'public', 'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    opts[option] = value
    with Server(ipcguard=opts) as s:
        assert refused(s.smbclient('anonymous', 'public'))
        assert refused(s.rpcclient('anonymous', 'lsaquery'))
        s.wait_log(r'ipcguard: invalid policy: ipcguard:%s.*%s' %
                   (option, message))
        s.wait_log(r"refused share 'public' to anonymous session .*"
                   r"rule invalid-policy")
        assert s.smbclient('user', 'public').rc == 0
        assert s.rpcclient('user', 'srvinfo').rc == 0


def _acl_share(s):
    """A share whose files grant read to Everyone only, or to the unix
    group 65534, which Samba puts in anonymous tokens as S-1-22-2-65534.
    (The user nobody would not do: as the guest account it maps to the
    domain Guest SID in ACLs, which anonymous tokens do not hold.)"""
    path = os.path.join(s.dir, 'shares', 'acls')
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    subprocess.run(['setfacl', '-m', 'g:65534:rx', path], check=True)
    for name, mode, acl in (('everyone.txt', 0o644, None),
                            ('nobody.txt', 0o640, 'g:65534:r')):
        f = os.path.join(path, name)
        with open(f, 'w') as fh:
            fh.write('secret\n')
        os.chmod(f, mode)
        if acl:
            subprocess.run(['setfacl', '-m', acl, f], check=True)


@pytest.mark.parametrize('eia', ['no', 'yes'])
def test_everyone_includes_anonymous_on_file_acls(eia):
    opts = {'null session shares': 'acls', 'everyone includes anonymous': eia}
    with Server(ipcguard=opts, shares={'acls': {}}) as s:
        _acl_share(s)
        nobody = s.smbclient('anonymous', 'acls', 'get nobody.txt /dev/null')
        everyone = s.smbclient('anonymous', 'acls',
                               'get everyone.txt /dev/null')
        assert nobody.rc == 0, nobody
        if eia == 'no':
            assert everyone.rc != 0 and 'ACCESS_DENIED' in everyone.out, \
                everyone
        else:
            assert everyone.rc == 0, everyone
        # An authenticated user still gets what Everyone is granted.
        r = s.smbclient('user', 'acls', 'get everyone.txt /dev/null')
        assert r.rc == 0, r


# tools/bed.sh run puts the host's module, built for another Samba, in the
# bed and names it here; outside a bed there is no other Samba to load it
# into.
FOREIGN = os.environ.get('IPCGUARD_FOREIGN_MODULE')


@pytest.mark.skipif(not FOREIGN, reason='no module built for another Samba '
                    '(only in a test bed: tools/bed.sh run)')
def test_a_module_built_for_another_samba_fails_closed_and_says_so():
    with Server(ipcguard={}, module=FOREIGN) as s:
        # smbd cannot make the share's VFS stack, so the share is refused
        # to everybody (IPC$ too).
        for who in ('anonymous', 'user'):
            for r in (s.smbclient(who, 'public'),
                      s.rpcclient(who, 'srvinfo')):
                assert r.rc != 0 and re.search(
                    'NT_STATUS_BAD_NETWORK_NAME|%s' % REFUSED_CONNECT,
                    r.out), r
        # One clear line naming the module, and smbd is still there.
        s.wait_log(r'(?i)error loading module .*ipcguard|ipcguard: this '
                   r'module was built for')
        assert s.smbd.poll() is None
    # The module built here, in the same smbd setup, is served.
    with Server(ipcguard={}) as s:
        assert s.smbclient('user', 'public').rc == 0


def test_homes_and_ipc_spellings_are_judged_as_what_they_reach():
    """Issue 24, item 6: [homes] gives every user a share named after
    them, and IPC$ can be spelled many ways.  An anonymous caller gets
    no home, whatever name it asks for, and no IPC$ while nothing is
    listed for it; a user still reaches their own home."""
    parent = tempfile.mkdtemp(prefix='ipcguard-home-')
    os.chmod(parent, 0o755)
    home = os.path.join(parent, harness.TEST_USER)
    os.makedirs(home)
    # The test account's home is put back as it was.
    old_home = pwd.getpwnam(harness.TEST_USER).pw_dir
    with open(os.path.join(home, 'mine.txt'), 'w') as f:
        f.write('mine\n')
    shutil.chown(home, harness.TEST_USER)
    subprocess.run(['usermod', '-d', home, harness.TEST_USER], check=True)
    try:
        with Server(ipcguard={'null session shares': 'public',
                              'everyone includes anonymous': 'yes'},
                    shares={'public': {}, 'homes': {
                        'browseable': 'no', 'path': '%H'}}) as s:
            for name in (harness.TEST_USER, 'homes', 'nobody', 'HOMES'):
                r = s.smbclient('anonymous', name)
                assert r.rc != 0 and re.search(
                    'NT_STATUS_(UNSUCCESSFUL|BAD_NETWORK_NAME)', r.out), \
                    (name, r)
            for name in ('IPC$', 'ipc$', 'Ipc$'):
                assert refused(s.smbclient('anonymous', name)), name
            s.wait_log(r"refused ipc 'IPC\$' to anonymous session")
            r = s.smbclient('user', harness.TEST_USER, 'get mine.txt '
                            '/dev/null')
            assert r.rc == 0, r
            assert s.smbclient('anonymous', 'public').rc == 0
    finally:
        subprocess.run(['usermod', '-d', old_home, harness.TEST_USER],
                       check=True)
        shutil.rmtree(parent, ignore_errors=True)
