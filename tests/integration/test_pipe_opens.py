"""Issue 24, item 6: pipe opens dressed the ways a client may dress them,
and in SMB2 compounds.

SMB1 NT_CREATE_ANDX and SMB2 CREATE with odd access masks, share modes,
create options, dispositions and impersonation levels, and pipe names with odd
prefixes, suffixes, case, streams, DFS-style paths and dot segments.  An
anonymous caller for whom only \\lsarpc is listed tries each on \\srvsvc:
whatever opens, a bind and NetSrvGetInfo never get an answer from the
RPC server.  The same opens of \\lsarpc still work."""

import itertools

import pytest
from impacket import smb, smb3structs as smb3s
from impacket.dcerpc.v5 import lsad, srvs
from impacket.dcerpc.v5.rpcrt import MSRPCHeader, MSRPC_BINDACK, \
    MSRPC_FAULT, MSRPC_RESPONSE

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


# -- SMB2 compound requests ---------------------------------------------

SMB2_FLAGS_RELATED = 0x4
# The FileId a related operation means "the file the chain's create opened".
CHAIN_FILE = b'\xff' * 16
STATUS_PENDING = 0x103


def compound_create_write_read(conn, tid, name, data, related):
    """One SMB2 compound: CREATE of pipe name, WRITE of data to it and READ
    of the answer, related (each on the file the create opened) or not (on
    the FileId of no open file).  [(status, packet)] per operation."""
    c3 = conn._SMBConnection
    create = smb3s.SMB2Create()
    for k, v in (('SecurityFlags', 0), ('RequestedOplockLevel', 0),
                 ('ImpersonationLevel', 2), ('DesiredAccess', 0x12019f),
                 ('FileAttributes', 0), ('ShareAccess', 3),
                 ('CreateDisposition', 1), ('CreateOptions', 0),
                 ('NameLength', len(name) * 2),
                 ('CreateContextsOffset', 0), ('CreateContextsLength', 0)):
        create[k] = v
    create['Buffer'] = name.encode('utf-16le')
    write = smb3s.SMB2Write()
    for k, v in (('WriteChannelInfoOffset', 0), ('WriteChannelInfoLength', 0),
                 ('Length', len(data)), ('Offset', 0),
                 ('FileID', CHAIN_FILE)):
        write[k] = v
    write['Buffer'] = data
    read = smb3s.SMB2Read()
    for k, v in (('Padding', 0x50), ('FileID', CHAIN_FILE), ('Length', 4280),
                 ('Offset', 0), ('MinimumCount', 0), ('Channel', 0),
                 ('RemainingBytes', 0), ('ReadChannelInfoOffset', 0),
                 ('ReadChannelInfoLength', 0)):
        read[k] = v
    read['Buffer'] = b'\x00'
    ops = ((smb3s.SMB2_CREATE, create), (smb3s.SMB2_WRITE, write),
           (smb3s.SMB2_READ, read))
    blobs, ids = [], []
    for i, (command, body) in enumerate(ops):
        p = smb3s.SMB2Packet()
        p['Command'] = command
        p['TreeID'] = tid
        p['SessionID'] = c3._Session['SessionID']
        p['MessageID'] = c3._Connection['SequenceWindow']
        c3._Connection['SequenceWindow'] += 1
        p['CreditCharge'] = 1
        p['CreditRequestResponse'] = 127
        p['Flags'] = SMB2_FLAGS_RELATED if related and i > 0 else 0
        p['Data'] = body
        ids.append(p['MessageID'])
        blob = p.getData()
        if i < len(ops) - 1:
            p['NextCommand'] = len(blob) + (-len(blob) % 8)
            blob = p.getData() + bytes(-len(blob) % 8)
        blobs.append(blob)
    c3._NetBIOSSession.send_packet(b''.join(blobs))
    answers = {}
    while len(answers) < len(ops):
        data = c3._NetBIOSSession.recv_packet(20).get_trailer()
        while data:
            p = smb3s.SMB2Packet(data)
            if p['Status'] != STATUS_PENDING:
                answers[p['MessageID']] = p
            data = data[p['NextCommand']:] if p['NextCommand'] else b''
    return [(answers[i]['Status'], answers[i]) for i in ids]


def compound_outcome(server, who, pipe, uuid, related):
    """The three statuses, and the PDU type the READ got (None if none)."""
    conn = smb_session(server, who)
    tid = conn.connectTree('IPC$')
    got = compound_create_write_read(conn, tid, pipe,
                                     bind_pdu(1, [item(0, uuid)]), related)
    pdu = None
    if got[2][0] == 0:
        pdu = MSRPCHeader(smb3s.SMB2Read_Response(got[2][1]['Data'])[
            'Buffer'])['type']
    return [status for status, _ in got], pdu


COMPOUNDS = [('anonymous', 'srvsvc', srvs.MSRPC_UUID_SRVS),
             ('anonymous', 'lsarpc', lsad.MSRPC_UUID_LSAD),
             ('user', 'srvsvc', srvs.MSRPC_UUID_SRVS)]


@pytest.mark.parametrize('related', [True, False],
                         ids=['related', 'unrelated'])
def test_a_compound_create_write_read_of_a_pipe(related):
    """An SMB2 compound that opens a pipe, writes a bind and reads the
    answer gets what it gets from plain Samba, except that anonymous never
    binds the unlisted \\srvsvc: its bind is answered with a fault."""
    with Server(gate=False, vfs=False) as plain:
        expected = [compound_outcome(plain, who, pipe, uuid, related)
                    for who, pipe, uuid in COMPOUNDS]
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        got = [compound_outcome(s, who, pipe, uuid, related)
               for who, pipe, uuid in COMPOUNDS]
        if related:
            # The create reaches the gate, which refuses the pipe.
            assert expected[0][1] == MSRPC_BINDACK, expected
            assert got[0] == (expected[0][0], MSRPC_FAULT), got
            s.wait_log(r"ipcguardd: refused pipe 'srvsvc' to anonymous "
                       r"session")
        else:
            assert got[0] == expected[0], (got, expected)
        assert got[1:] == expected[1:], (got, expected)
        if related:
            assert got[1][1] == got[2][1] == MSRPC_BINDACK, got
