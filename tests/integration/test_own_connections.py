"""Issue 29: connections Samba makes for itself (create_conn_struct_*()).

DFS referrals in smbd, the srvsvc and netdfs RPC servers in samba-dcerpcd's
workers, net vfs and the Python bindings each connect to a share outside
any tree connect, and every module in `vfs objects` sees that connect.  The
module must not crash on any of them, and must judge each by the identity
it carries, as a tree connect by that caller to that share: an RPC call or
a referral never reaches a share its caller could not connect to.

Each test drives the real caller (smbclient, impacket, rpcclient, net, the
Python bindings) and then checks that every process is still there and no
log holds a PANIC; a failure names the caller that broke."""

import glob
import os
import re
import struct
import subprocess
import time

import pytest
from impacket.dcerpc.v5 import srvs
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.smb3structs import FSCTL_DFS_GET_REFERRALS, \
    SMB2_0_IOCTL_IS_FSCTL
from impacket import smb, smb3

import harness
from harness import Server
from test_gate import bind_pipe, smb_session

# Listed for anonymous: public and the DFS root dfsroot; not listed:
# private and the DFS root dfspriv.
POLICY = {
    'null session shares': 'public dfsroot',
    'null session pipes': 'srvsvc netdfs',
    'everyone includes anonymous': 'yes',
}
SHARES = {
    'public': {},
    'private': {},
    'dfsroot': {'msdfs root': 'yes'},
    'dfspriv': {'msdfs root': 'yes'},
}
TRANS2_GET_DFS_REFERRAL = 0x0010
CRASHED = ('PANIC', 'INTERNAL ERROR', 'Signal 11')


# Each DFS root's link and the share it leads to.
LINKS = {'dfsroot': 'public', 'dfspriv': 'private'}


def server(netns=False, **policy):
    opts = dict(POLICY)
    opts.update({k.replace('_', ' '): v for k, v in policy.items()})
    s = Server(ipcguard=opts, shares=SHARES, netns=netns)
    s.worker_logs = WorkerLogs(s)
    for root, target in LINKS.items():
        os.symlink('msdfs:127.0.0.1\\%s' % target,
                   os.path.join(s.dir, 'shares', root, 'link'))
    return s


def assert_all_alive(s, caller):
    """smbd, samba-dcerpcd and the gate still run and no log says a
    process crashed; `caller` names what was just driven."""
    assert s.smbd.poll() is None, 'smbd died after %s' % caller
    if s.gate_proc is not None:
        assert s.gate_proc.poll() is None, 'the gate died after %s' % caller
    logs = s.worker_logs.text()
    for word in CRASHED:
        assert word not in logs, '%s in the logs after %s: %s' % (
            word, caller, logs[logs.find(word) - 2000:][:4000])


class WorkerLogs:
    """What instance `s`, samba-dcerpcd and its RPC workers log from now
    on.  Samba 4.17's RPC workers log to <LOGFILEBASE>/log.<program>
    (rpcd_classic, ...) whatever smb.conf's log file says (4.22's follow
    it), so a test reads those files past where each ended when the test
    began, and the instance's own logs."""

    def __init__(self, s):
        self.instance = s
        out = subprocess.run(['smbd', '-b'], capture_output=True,
                             text=True, check=True).stdout
        self.base = re.search(r'LOGFILEBASE:\s*(\S+)', out).group(1)
        self.start = {path: os.path.getsize(path) for path in self.paths()}

    def paths(self):
        return glob.glob(os.path.join(self.base, 'log.rpcd_*')) + \
            glob.glob(os.path.join(self.base, 'log.samba-dcerpcd'))

    def all_paths(self):
        logdir = os.path.join(self.instance.dir, 'log')
        return self.paths() + [
            os.path.join(logdir, name) for name in sorted(os.listdir(logdir))
            if os.path.isfile(os.path.join(logdir, name))]

    def mark(self):
        """Where each log ends now, for since()."""
        return {path: os.path.getsize(path) for path in self.all_paths()}

    def since(self, mark):
        out = ''
        for path in self.all_paths():
            try:
                with open(path, errors='replace') as f:
                    f.seek(mark.get(path, self.start.get(path, 0)))
                    out += f.read()
            except FileNotFoundError:
                pass
        return out

    def text(self):
        """Everything logged since the test began."""
        return self.since({})

    def wait(self, pattern, timeout=10):
        deadline = time.time() + timeout * harness.TIMEOUT_SCALE
        while not re.search(pattern, self.text()):
            if time.time() > deadline:
                raise AssertionError('the RPC workers never logged %r' %
                                     pattern)
            time.sleep(0.1)


def referral(conn, path):
    """A DFS referral (REQ_GET_DFS_REFERRAL, level 4) for `path` on IPC$,
    as Windows' DFS client asks it: TRANS2_GET_DFS_REFERRAL over SMB1,
    FSCTL_DFS_GET_REFERRALS over SMB2.  The raw answer; a refusal raises
    impacket's SessionError."""
    tid = conn.connectTree('IPC$')
    server = conn.getSMBServer()
    try:
        if conn.getDialect() != smb.SMB_DIALECT:
            param = struct.pack('<H', 4) + path.encode('utf-16-le') + \
                b'\0\0'
            return server.ioctl(tid, None, FSCTL_DFS_GET_REFERRALS,
                                SMB2_0_IOCTL_IS_FSCTL, param,
                                maxOutputResponse=8192)
        # impacket's trans2 request does not say unicode (FLAGS2).
        param = struct.pack('<H', 4) + path.encode('ascii') + b'\0'
        server.send_trans2(tid, TRANS2_GET_DFS_REFERRAL, '\x00', param, '')
        resp = server.recvSMB()
        resp.isValidAnswer(smb.SMB.SMB_COM_TRANSACTION2)
        answer = smb.SMBCommand(resp['Data'][0])
        params = smb.SMBTransaction2Response_Parameters(
            answer['Parameters'])
        return answer['Data'][-params['TotalDataCount']:]
    finally:
        conn.disconnectTree(tid)


@pytest.mark.parametrize('proto', ['NT1', 'SMB3'])
def test_dfs_link_followed_by_smbclient(proto):
    """smbclient asks for the referral (SMB1 TRANS2_GET_DFS_REFERRAL or
    the SMB2 FSCTL) on IPC$ when it opens a path through the link, then
    connects to the share it names, on port 445: this server is in a
    network namespace of its own."""
    with server(netns=True) as s:
        for who in ('anonymous', 'guest', 'user'):
            r = s.smbclient(who, 'dfsroot', 'get link\\hello.txt /dev/null',
                            proto=proto)
            assert r.rc == 0, (who, r)
            assert_all_alive(s, 'a DFS referral as %s over %s' % (who,
                                                                 proto))
        r = s.smbclient('user', 'dfspriv', 'get link\\hello.txt /dev/null',
                        proto=proto)
        assert r.rc == 0, r
        assert_all_alive(s, 'a DFS referral as user over %s' % proto)


@pytest.mark.parametrize('proto', ['NT1', 'SMB3'])
def test_dfs_referral_judged_as_a_connect_to_its_share(proto):
    with server() as s:
        for who in ('anonymous', 'guest'):
            conn = smb_session(s, who, proto)
            # The listed DFS root gives its referral ...
            answer = referral(conn, '\\127.0.0.1\\dfsroot\\link')
            assert 'public'.encode('utf-16-le') in answer, answer
            # ... the unlisted one none: the caller could not connect to
            # it, so it learns nothing through it.
            with pytest.raises((smb.SessionError, smb3.SessionError)):
                referral(conn, '\\127.0.0.1\\dfspriv\\link')
            s.wait_log(r"refused share 'dfspriv' to %s session \(user "
                       r"'[^']*', client unknown, sids [^,]*,.*for the "
                       r"caller by smbd\): rule null-session-shares" % who)
            # The same session goes on: its smbd is alive.
            assert 'public'.encode('utf-16-le') in referral(
                conn, '\\127.0.0.1\\dfsroot\\link')
            conn.logoff()
            assert_all_alive(s, 'a refused DFS referral as %s over %s' % (
                who, proto))
        conn = smb_session(s, 'user', proto)
        assert 'private'.encode('utf-16-le') in referral(
            conn, '\\127.0.0.1\\dfspriv\\link')
        conn.logoff()
        assert_all_alive(s, 'a DFS referral as user over %s' % proto)


def srvsvc(s, who):
    return bind_pipe(s, who, '\\srvsvc', srvs.MSRPC_UUID_SRVS)


def file_sd(dce, share, name='hello.txt'):
    """NetrpGetFileSecurity (opnum 39): the file's owner, group and DACL,
    as self-relative bytes."""
    return srvs.hNetrpGetFileSecurity(dce, share + '\0', name + '\0', 7)


def werror(e):
    return getattr(e, 'error_code', None)


def test_file_security_through_srvsvc_judged_and_served():
    """NetrpGetFileSecurity and NetrpSetFileSecurity connect to the share
    they name inside rpcd_classic.  Another client's srvsvc pipes, served
    by the same worker, are all there afterwards."""
    with server() as s:
        others = [srvsvc(s, 'user') for _ in range(8)]
        user = srvsvc(s, 'user')
        for share in ('public', 'private'):
            assert len(file_sd(user, share)) > 20
        anon = srvsvc(s, 'anonymous')
        assert len(file_sd(anon, 'public')) > 20
        with pytest.raises(srvs.DCERPCSessionError) as e:
            file_sd(anon, 'private')
        s.worker_logs.wait(r"refused share 'private' to anonymous session "
                        r"\(user '', client unknown, sids S-1-5-7,.*for the "
                        r"caller by rpcd_classic\): rule null-session-shares")
        refused_code = werror(e.value)
        # Writing the descriptor back: whatever the file system says, the
        # caller gets an answer (the shares are read-only), and anonymous
        # gets the same refusal for the unlisted share.
        sd = file_sd(user, 'public')
        try:
            srvs.hNetrpSetFileSecurity(user, 'public\0', 'hello.txt\0', 4,
                                       sd)
        except (srvs.DCERPCSessionError, DCERPCException) as err:
            # WERR_ACCESS_DENIED (5) from the read-only share.
            assert werror(err) is not None, err
        with pytest.raises(srvs.DCERPCSessionError) as e:
            srvs.hNetrpSetFileSecurity(anon, 'private\0', 'hello.txt\0', 4,
                                       sd)
        assert werror(e.value) == refused_code, e.value
        # The anonymous pipe itself goes on.
        assert len(file_sd(anon, 'public')) > 20
        for dce in others:
            r = srvs.hNetrServerGetInfo(dce, 101)
            assert r['InfoStruct']['ServerInfo101']['sv101_name'] == \
                'IPCGTEST\x00'
        assert_all_alive(s, 'srvsvc NetrpGet/SetFileSecurity')
        assert len(s.helper_pids()) > 0, 'samba-dcerpcd is gone'


def dfs_links(r):
    return sorted(line.split(':', 1)[1].strip() for line in
                  r.out.splitlines() if line.startswith('path:'))


def test_netdfs_enum_shows_only_roots_the_caller_may_connect_to():
    with server() as s:
        user = s.rpcclient('user', 'dfsenum 1')
        assert user.rc == 0, user
        assert any('dfsroot' in p for p in dfs_links(user)), user
        assert any('dfspriv' in p for p in dfs_links(user)), user
        anon = s.rpcclient('anonymous', 'dfsenum 1')
        assert anon.rc == 0, anon
        assert any('dfsroot' in p for p in dfs_links(anon)), anon
        assert not any('dfspriv' in p for p in dfs_links(anon)), anon
        s.worker_logs.wait(r"refused share 'dfspriv' to anonymous session .*"
                        r"for the caller by rpcd_classic\): rule "
                        r"null-session-shares")
        assert_all_alive(s, 'netdfs NetDfsEnum')


def local(s, argv):
    """argv in smbd's view of MODULESDIR (the freshly built module), as
    root on the machine: what an admin's tool sees."""
    return harness.Result(subprocess.run(
        harness.module_overlay(s.dir) + argv, capture_output=True,
        text=True, errors='replace', timeout=120, env=harness.CLIENT_ENV))


def test_net_vfs_getntacl():
    with server() as s:
        for share in ('public', 'private'):
            r = local(s, ['net', '-s', s.conf, 'vfs', 'getntacl', share,
                          'hello.txt'])
            assert r.rc == 0 and 'REVISION:1' in r.out, r
            # SYSTEM's own connection is not judged and sees the ACL as it
            # is, Everyone's entry included; the tool's output is the
            # descriptor, not ipcguard's log.
            assert 'ACL:S-1-1-0:' in r.out, r
            assert 'ipcguard' not in r.out, r
        assert_all_alive(s, 'net vfs getntacl')


PYSMBD = r'''
import sys
from samba.samba3 import param as s3param, smbd
from samba.auth_util import system_session_unix
conf, share, path = sys.argv[1:]
lp = s3param.get_context()
lp.load(conf)
sd = smbd.get_nt_acl(path, 7, system_session_unix(), service=share)
smbd.set_nt_acl(path, 4, sd, system_session_unix(), service=share)
print(smbd.get_nt_acl(path, 7, system_session_unix(),
                      service=share).as_sddl())
'''


def test_python_bindings_get_and_set_nt_acl():
    """What samba-tool ntacl and domain backups do."""
    with server() as s:
        for share in ('public', 'private'):
            path = os.path.join(s.dir, 'shares', share, 'hello.txt')
            r = local(s, ['/usr/bin/python3', '-c', PYSMBD, s.conf, share,
                          path])
            assert r.rc == 0 and r.out.startswith('O:'), r
        assert_all_alive(s, 'the Python bindings (samba.samba3.smbd)')


def test_eventlog_reads_a_log_acl_through_a_connection_to_no_share():
    """The eventlog server checks its caller against a log file's ACL
    through a connection of its own to no share (snum -1, "/")."""
    s = server(null_session_pipes='eventlog srvsvc netdfs')
    s.extra_global.append('eventlog list = Application')
    s.write_conf()
    with s:
        for who in ('user', 'anonymous'):
            # The log's ACL (the tdb file's, root's only) refuses both:
            # an answer, not a lost pipe.
            r = s.rpcclient(who, 'eventlog_numrecord Application')
            assert r.out.strip() == 'result was NT_STATUS_ACCESS_DENIED', \
                (who, r)
        assert_all_alive(s, 'eventlog OpenEventLogW')
