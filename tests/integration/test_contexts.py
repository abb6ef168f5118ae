"""Issue 11, item 2: rules judge what the RPC server will run.

A request names a presentation context id; the gate must judge it on the
interface the *server* bound to that id.  Each attack below crafts raw
binds and alter contexts with impacket (reused ids, one id twice in one
bind, rejected items, unknown ids, fragments, sealed traffic) against the
real gate in front of Debian's samba-dcerpcd, and each also shows the
allowed path still working."""

import uuid

import pytest
from impacket import uuid as iuuid
from impacket.dcerpc.v5 import rprn, srvs
from impacket.dcerpc.v5.rpcrt import (
    CtxItem, DCERPCException, MSRPCBind, MSRPCBindAck, MSRPCHeader,
    MSRPCRequestHeader, MSRPC_ALTERCTX, MSRPC_ALTERCTX_R, MSRPC_BIND,
    MSRPC_BINDACK, MSRPC_FAULT, MSRPC_RESPONSE)

from impacket.dcerpc.v5 import transport

from harness import Server
from test_gate import smb_session
from test_rules import (add_rule, bind, hardening, printer_bug, refused,
                        reload_all, wait_status)

NDR = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
ACCESS_DENIED = 5
OPNUM_SHARE_ENUM = 15        # NetrShareEnum
OPNUM_SERVER_GET_INFO = 21   # NetrServerGetInfo


def unbound(s, pipe):
    """An open pipe, not yet bound, as an authenticated user."""
    t = transport.SMBTransport('127.0.0.1', s.port, filename=pipe,
                               smb_connection=smb_session(s, 'user'))
    dce = t.get_dce_rpc()
    dce.connect()
    return dce


def unknown_interface():
    """An interface no Samba endpoint carries."""
    return iuuid.uuidtup_to_bin((str(uuid.uuid4()), '1.0'))


def item(ctx_id, abstract):
    it = CtxItem()
    it['ContextID'] = ctx_id
    it['TransItems'] = 1
    it['AbstractSyntax'] = abstract
    it['TransferSyntax'] = iuuid.uuidtup_to_bin(NDR)
    return it


def bind_pdu(call_id, items, ptype=MSRPC_BIND):
    """The bytes of a bind or alter context."""
    b = MSRPCBind()
    for it in items:
        b.addCtxItem(it)
    pkt = MSRPCHeader()
    pkt['type'] = ptype
    pkt['flags'] = 3
    pkt['call_id'] = call_id
    pkt['pduData'] = b.getData()
    return pkt.get_packet()


def request_pdu(ctx_id, opnum, data, call_id, flags=3):
    """The bytes of one request PDU; flags: PFC_FIRST_FRAG (1) and
    PFC_LAST_FRAG (2), by default both."""
    req = MSRPCRequestHeader()
    req['type'] = 0
    req['flags'] = flags
    req['call_id'] = call_id
    req['ctx_id'] = ctx_id
    req['op_num'] = opnum
    req['pduData'] = data
    return req.get_packet()


def send_bind(dce, ptype, call_id, items):
    """A raw bind or alter context; returns the answer's header."""
    t = dce.get_rpc_transport()
    t.send(bind_pdu(call_id, items, ptype))
    return MSRPCHeader(t.recv())


def fault_status(hdr):
    assert hdr['type'] == MSRPC_FAULT, hdr['type']
    return int.from_bytes(hdr['pduData'][8:12], 'little')


def raw_call(dce, ctx_id, opnum, data, call_id=500):
    """One request PDU; returns the answer's header."""
    t = dce.get_rpc_transport()
    t.send(request_pdu(ctx_id, opnum, data, call_id))
    return MSRPCHeader(t.recv())


def get_info_stub():
    r = srvs.NetrServerGetInfo()
    r['ServerName'] = '\x00'
    r['Level'] = 101
    return r.getData()


def share_enum_stub():
    r = srvs.NetrShareEnum()
    r['ServerName'] = '\x00'
    r['InfoStruct']['Level'] = 1
    r['InfoStruct']['ShareInfo']['tag'] = 1
    r['InfoStruct']['ShareInfo']['Level1']['Buffer'] = srvs.NULL
    r['PreferedMaximumLength'] = 0xffffffff
    r['ResumeHandle'] = srvs.NULL
    return r.getData()


def share_enum(dce):
    """'refused' if the gate answered access denied, 'reached' if the
    server ran NetrShareEnum."""
    try:
        srvs.hNetrShareEnum(dce, 1)
    except DCERPCException as e:
        return 'refused' if refused(e) else 'reached: %s' % e
    return 'reached'


def srvsvc_server(rule=True):
    s = Server(ipcguard={'null session pipes': 'lsarpc'}).start()
    if rule:
        add_rule(s, 'no-share-enum', 'action=deny', 'pipe=srvsvc',
                 'interface=srvsvc', 'opnum=%d' % OPNUM_SHARE_ENUM)
        reload_all(s)
        wait_status(s, r'^rules=1$')
    return s


@pytest.fixture
def server():
    s = srvsvc_server()
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize('frag', [None, 24])
def test_alter_context_reusing_an_id_cannot_rename_it(server, frag):
    """The attack of the issue: bind srvsvc on context 0, alter context
    0 to an interface the server does not carry (the server rejects it
    and keeps srvsvc), then NetrShareEnum on context 0."""
    dce = bind(server, '\\srvsvc', srvs.MSRPC_UUID_SRVS, frag=frag)
    assert share_enum(dce) == 'refused'
    hdr = send_bind(dce, MSRPC_ALTERCTX, 90, [item(0, unknown_interface())])
    assert fault_status(hdr) == ACCESS_DENIED
    assert share_enum(dce) == 'refused'
    # The allowed path on the same binding.
    r = srvs.hNetrServerGetInfo(dce, 101)
    assert r['InfoStruct']['ServerInfo101']['sv101_name'].startswith(
        'IPCGTEST')
    server.wait_log(r"refused a bind or alter context on pipe 'srvsvc' .*"
                    r"a context id already bound to another interface")


def test_same_interface_on_a_bound_id_still_works(server):
    """Re-offering the interface an id is bound to (what clients do to
    add authentication) reaches the server and changes nothing."""
    dce = bind(server, '\\srvsvc', srvs.MSRPC_UUID_SRVS)
    hdr = send_bind(dce, MSRPC_ALTERCTX, 91, [item(0, srvs.MSRPC_UUID_SRVS)])
    assert hdr['type'] == MSRPC_ALTERCTX_R, hdr['type']
    assert share_enum(dce) == 'refused'
    srvs.hNetrServerGetInfo(dce, 101)


def test_one_id_twice_in_one_bind_is_refused():
    """spoolss and an unknown interface under one context id: the server
    would bind spoolss, a gate that remembered the last item would judge
    opnum 65 as the unknown interface."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        for order in ((rprn.MSRPC_UUID_RPRN, unknown_interface()),
                      (unknown_interface(), rprn.MSRPC_UUID_RPRN)):
            dce = unbound(s, '\\spoolss')
            hdr = send_bind(dce, MSRPC_BIND, 7,
                            [item(0, order[0]), item(0, order[1])])
            assert fault_status(hdr) == ACCESS_DENIED
            s.wait_log(r"refused a bind or alter context on pipe "
                       r"'spoolss' .*one context id twice")
        # A proper bind still works, and the rule still holds.
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        r = rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        assert r['ErrorCode'] == 0


def test_rejected_items_and_unknown_ids(server):
    """A bind whose first item the server rejects: that id is not bound
    (a request on it is refused by the gate, not passed on), the
    accepted one is judged as what it is."""
    dce = unbound(server, '\\srvsvc')
    hdr = send_bind(dce, MSRPC_BIND, 1, [item(0, unknown_interface()),
                                        item(1, srvs.MSRPC_UUID_SRVS)])
    assert hdr['type'] == MSRPC_BINDACK, hdr['type']
    ack = MSRPCBindAck(hdr.getData())
    assert ack['ctx_num'] == 2
    for ctx_id in (0, 9):
        hdr = raw_call(dce, ctx_id, OPNUM_SERVER_GET_INFO, get_info_stub())
        assert fault_status(hdr) == ACCESS_DENIED
    hdr = raw_call(dce, 1, OPNUM_SERVER_GET_INFO, get_info_stub())
    assert hdr['type'] == MSRPC_RESPONSE, hdr['type']
    hdr = raw_call(dce, 1, OPNUM_SHARE_ENUM, share_enum_stub())
    assert fault_status(hdr) == ACCESS_DENIED
    server.wait_log(r"refused call opnum 21 on context 9, which the RPC "
                    r"server never bound")


def test_alter_context_adds_a_context_judged_like_the_first(server):
    """Several contexts on one pipe: a second srvsvc context from an
    alter context is judged by the same rule."""
    dce = bind(server, '\\srvsvc', srvs.MSRPC_UUID_SRVS)
    dce2 = dce.alter_ctx(srvs.MSRPC_UUID_SRVS)
    assert share_enum(dce2) == 'refused'
    srvs.hNetrServerGetInfo(dce2, 101)
    assert share_enum(dce) == 'refused'
    srvs.hNetrServerGetInfo(dce, 101)


def test_sealed_binding_is_tracked_too(server):
    """Sealed: the bind and its contexts are in the clear, the gate
    learns them from the server's answer and judges the clear header."""
    dce = bind(server, '\\srvsvc', srvs.MSRPC_UUID_SRVS, seal=True)
    srvs.hNetrServerGetInfo(dce, 101)
    hdr = send_bind(dce, MSRPC_ALTERCTX, 92, [item(0, unknown_interface())])
    assert fault_status(hdr) == ACCESS_DENIED
    assert share_enum(dce) == 'refused'
    # A refused sealed call spends the binding (ipcguardd(8)); a new one
    # works.
    dce = bind(server, '\\srvsvc', srvs.MSRPC_UUID_SRVS, seal=True)
    srvs.hNetrServerGetInfo(dce, 101)


def test_without_rules_the_same_pdus_reach_the_server():
    """Transparency: with no rule, the server answers what it answers
    without the gate (rejects the unknown interface, runs ShareEnum)."""
    s = srvsvc_server(rule=False)
    try:
        dce = bind(s, '\\srvsvc', srvs.MSRPC_UUID_SRVS)
        assert share_enum(dce) == 'reached'
        hdr = send_bind(dce, MSRPC_ALTERCTX, 93,
                        [item(1, unknown_interface()),
                         item(2, srvs.MSRPC_UUID_SRVS)])
        assert hdr['type'] == MSRPC_ALTERCTX_R, hdr['type']
        hdr = raw_call(dce, 2, OPNUM_SHARE_ENUM, share_enum_stub())
        assert hdr['type'] == MSRPC_RESPONSE, hdr['type']
    finally:
        s.stop()
