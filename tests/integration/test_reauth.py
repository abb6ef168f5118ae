"""Issue 24, item 6: SMB2 re-authentication of a session that holds pipes.

Samba lets a client authenticate an SMB2 session again, as another user,
as anonymous or as a guest (smbd_smb2_reauth_generic_return() keeps the
session and its trees and replaces its identity).  A pipe opened before
the change answers, or not, as it does without ipcguard.  Everything
opened or connected after the change is judged with the session's new
identity, on trees connected before it too: re-authenticating cannot
carry one identity's rights to another's opens.  (Re-authenticating an
encrypted user's session to guest or to another user ends the connection
in Samba 4.17, with impacket, with or without ipcguard.)
"""

import pytest
from impacket.dcerpc.v5 import lsad, srvs

import harness
from harness import Server
from impacket.dcerpc.v5.rpcrt import MSRPCHeader, MSRPC_RESPONSE
from test_contexts import get_info_stub, request_pdu
from test_gate import smb_session
from test_pipe_opens import lsa_stub, reached

OPNUM_SERVER_GET_INFO = 21
OPNUM_OPEN_POLICY2 = 44

# Anonymous and guest callers may open \lsarpc and connect to [public].
OPTIONS = {'null session pipes': 'lsarpc', 'null session shares': 'public'}

CREDENTIALS = {
    'user': (harness.TEST_USER, harness.TEST_PASSWORD),
    'anonymous': ('', ''),
    'guest': ('nosuchuser', 'whatever'),
    'admin': (harness.ADMIN_USER, harness.ADMIN_PASSWORD),
}


def reauthenticate(conn, who):
    """A session setup on conn's existing SMB2 session, as who."""
    c3 = conn._SMBConnection
    before = c3._Session['SessionID']
    c3.login(*CREDENTIALS[who])
    assert c3._Session['SessionID'] == before, 'a new session, not a reauth'


def srvsvc_reached(conn, tid):
    fid = conn.openFile(tid, '\\srvsvc', desiredAccess=0x12019f)
    return reached(conn, tid, fid, srvs.MSRPC_UUID_SRVS,
                   OPNUM_SERVER_GET_INFO, get_info_stub())


def lsarpc_reached(conn, tid):
    fid = conn.openFile(tid, '\\lsarpc', desiredAccess=0x12019f)
    return reached(conn, tid, fid, lsad.MSRPC_UUID_LSAD, OPNUM_OPEN_POLICY2,
                   lsa_stub())


def tree_connects(conn, share):
    """Whether a new tree connect to share succeeds (impacket would hand
    back a tree it connected before)."""
    conn._SMBConnection._Session['TreeConnectTable'].pop(share, None)
    try:
        conn.connectTree(share)
        return True
    except Exception as e:
        # The module's refusal (REFUSED_CONNECT in test_module).
        assert 'STATUS_UNSUCCESSFUL' in str(e), e
        return False


@pytest.fixture
def server():
    with Server(ipcguard=OPTIONS) as s:
        yield s


def hold_a_pipe(conn, tid, who):
    """A pipe who may use, opened, bound and called: (fid, check), where
    check() says whether it still answers."""
    if who in AUTHENTICATED:
        name, uuid, opnum, stub = ('\\srvsvc', srvs.MSRPC_UUID_SRVS,
                                   OPNUM_SERVER_GET_INFO, get_info_stub())
    else:
        name, uuid, opnum, stub = ('\\lsarpc', lsad.MSRPC_UUID_LSAD,
                                   OPNUM_OPEN_POLICY2, lsa_stub())
    fid = conn.openFile(tid, name, desiredAccess=0x12019f)
    assert reached(conn, tid, fid, uuid, opnum, stub)
    call_id = iter(range(100, 200))

    def check():
        try:
            conn.writeFile(tid, fid, request_pdu(0, opnum, stub,
                                                 next(call_id)))
            return MSRPCHeader(conn.readFile(tid, fid, 0, 4280))['type'] \
                == MSRPC_RESPONSE
        except Exception:
            return False
    return check


AUTHENTICATED = ('user', 'admin')

# (identity the session starts with, identity it re-authenticates to).
# A user's session is encrypted and Samba ends the connection when it
# re-authenticates to guest (guests cannot encrypt), with or without
# ipcguard: guest is reached from anonymous.
CHANGES = [('user', 'anonymous'), ('anonymous', 'guest'), ('guest', 'user'),
           ('anonymous', 'user')]


def held_pipe_after_reauth(server, first, then):
    """Whether a pipe first held still answers once the session is then."""
    conn = smb_session(server, first)
    tid = conn.connectTree('IPC$')
    held = hold_a_pipe(conn, tid, first)
    reauthenticate(conn, then)
    return held()


@pytest.mark.parametrize('first,then', CHANGES,
                         ids=['%s-to-%s' % c for c in CHANGES])
def test_reauth_is_judged_as_the_new_identity(server, first, then):
    conn = smb_session(server, first)
    tid = conn.connectTree('IPC$')
    held = hold_a_pipe(conn, tid, first)
    assert srvsvc_reached(conn, tid) == (first in AUTHENTICATED)
    assert tree_connects(conn, 'private') == (first in AUTHENTICATED)
    reauthenticate(conn, then)
    # On the IPC$ tree connected before: opens are the new identity's.
    assert srvsvc_reached(conn, tid) == (then in AUTHENTICATED)
    if then not in AUTHENTICATED:
        server.wait_log(r"ipcguardd: refused pipe 'srvsvc' to %s session "
                        r"\(user '[^']*', client 127\.0\.0\.1[,)]" % then)
    assert lsarpc_reached(conn, tid)
    # New tree connects too.
    assert tree_connects(conn, 'private') == (then in AUTHENTICATED)
    assert tree_connects(conn, 'public')
    # The pipe opened before answers as it does without ipcguard (Samba
    # 4.17 stops answering on a pipe its opener's session left).
    with Server(gate=False, vfs=False) as plain:
        assert held() == held_pipe_after_reauth(plain, first, then)
