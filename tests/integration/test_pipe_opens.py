"""Issue 24, item 6: pipe opens dressed the ways a client may dress them.

SMB1 NT_CREATE_ANDX and SMB2 CREATE with odd access masks, share modes,
create options, dispositions and impersonation levels, and pipe names with odd
prefixes, suffixes, case, streams, DFS-style paths and dot segments.  An
anonymous caller for whom only \\lsarpc is listed tries each on \\srvsvc:
whatever opens, a bind and NetSrvGetInfo never get an answer from the
RPC server.  The same opens of \\lsarpc still work."""

import itertools

import pytest
from impacket import smb
from impacket.dcerpc.v5 import lsad, srvs
from impacket.dcerpc.v5.rpcrt import MSRPCHeader, MSRPC_BINDACK, \
    MSRPC_RESPONSE

from harness import Server
from test_contexts import bind_pdu, get_info_stub, item, request_pdu
from test_gate import smb_session

NAMES = ['\\srvsvc', 'srvsvc', '\\SRVSVC', '\\srvsvc\\', '\\\\srvsvc',
         '\\PIPE\\srvsvc', '\\srvsvc:$DATA', '\\srvsvc::$DATA',
         '\\srvsvc:x', '\\127.0.0.1\\IPC$\\srvsvc', '\\lsarpc\\..\\srvsvc',
         '\\.\\srvsvc', '\\srvsvc.', '\\srvsvc ', '\\srvsvc\x00lsarpc']
# (desiredAccess, shareMode, creationOption, creationDisposition,
# impersonationLevel), over SMB1 as NT_CREATE_ANDX, over SMB2 as CREATE.
VARIANTS = [
    (0x3, 1, 0x40, 1, 2),
    (0x12019f, 3, 0x0, 3, 2),
    (0x1f01ff, 7, 0x1, 2, 3),
    (0x02000000, 0, 0x1000, 5, 0),
    (0x1, 3, 0x200000, 0, 1),
    (0x80, 1, 0x40, 4, 2),
]


def reached(conn, tid, fid, uuid, opnum, stub):
    """Whether a bind and one call on an open pipe got the RPC server's
    answers; False for any refusal or failure."""
    try:
        conn.writeFile(tid, fid, bind_pdu(1, [item(0, uuid)]))
        if MSRPCHeader(conn.readFile(tid, fid, 0, 4280))['type'] != \
                MSRPC_BINDACK:
            return False
        conn.writeFile(tid, fid, request_pdu(0, opnum, stub, 2))
        return MSRPCHeader(conn.readFile(tid, fid, 0, 4280))['type'] == \
            MSRPC_RESPONSE
    except Exception:
        return False


def lsa_stub():
    r = lsad.LsarOpenPolicy2()
    r['SystemName'] = lsad.NULL
    r['ObjectAttributes']['RootDirectory'] = lsad.NULL
    r['ObjectAttributes']['ObjectName'] = lsad.NULL
    r['ObjectAttributes']['SecurityDescriptor'] = lsad.NULL
    r['ObjectAttributes']['SecurityQualityOfService'] = lsad.NULL
    r['DesiredAccess'] = 0x02000000
    return r.getData()


@pytest.mark.parametrize('proto', ['NT1', 'SMB3'])
def test_no_dressing_of_an_open_reaches_a_refused_pipe(proto):
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        dressed_opens(s, proto)


def dressed_opens(server, proto):
    conn = smb_session(server, 'anonymous', proto)
    tid = conn.connectTree('IPC$')
    opened = []
    for name, variant in itertools.product(NAMES, VARIANTS):
        access, share, options, disposition, impersonation = variant
        try:
            fid = conn.openFile(tid, name, desiredAccess=access,
                                shareMode=share, creationOption=options,
                                creationDisposition=disposition,
                                impersonationLevel=impersonation)
        except Exception:
            continue
        opened.append(name)
        assert not reached(conn, tid, fid, srvs.MSRPC_UUID_SRVS, 21,
                           get_info_stub()), (name, variant)
        try:
            conn.closeFile(tid, fid)
        except Exception:
            pass
    # Some of these names do open (the gate's \srvsvc, refusing).
    assert '\\srvsvc' in opened or 'srvsvc' in opened, opened
    print('%s: %d of %d dressed opens opened: %s' % (
        proto, len(opened), len(NAMES) * len(VARIANTS),
        sorted(set(opened))))
    # The listed pipe, opened plainly, is answered.
    fid = conn.openFile(tid, '\\lsarpc')
    assert reached(conn, tid, fid, lsad.MSRPC_UUID_LSAD, 44, lsa_stub())
