"""Issue 14, winreg: "Network access: Remotely accessible registry paths"
(AllowedExactPaths) and "... paths and subpaths" (AllowedPaths), and the
SecurePipeServers\\winreg ACL that says who has the whole remote registry,
with Windows' defaults, against real clients (impacket's rrp, rpcclient)
through \\winreg.  Each refusal is shown next to an allowed path working
in the same session."""

import re

import pytest
from impacket.dcerpc.v5 import rrp, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException, MSRPCHeader, \
    MSRPC_RESPONSE, RPC_C_AUTHN_LEVEL_PKT_PRIVACY

import harness
from harness import Server
from test_contexts import request_pdu
from test_gate import smb_session
from test_tool import tool

CURRENT_VERSION = 'Software\\Microsoft\\Windows NT\\CurrentVersion'
# Below AllowedPaths' "...\CurrentVersion\Print"; Samba's registry has it.
PRINTERS = CURRENT_VERSION + '\\Print\\Printers'
DENIED = 'rpc_s_access_denied'


def winreg(s, who, sealed=False):
    conn = smb_session(s, who)
    t = transport.SMBTransport('127.0.0.1', s.port, filename='\\winreg',
                               smb_connection=conn)
    if sealed:
        user, password = {
            'admin': (harness.ADMIN_USER, harness.ADMIN_PASSWORD),
            'user': (harness.TEST_USER, harness.TEST_PASSWORD)}[who]
        t.set_credentials(user, password, '')
    dce = t.get_dce_rpc()
    if sealed:
        dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    dce.bind(rrp.MSRPC_UUID_RRP)
    return dce


def hklm(dce):
    return rrp.hOpenLocalMachine(dce)['phKey']


def open_key(dce, parent, path):
    """The handle, or 'refused' when the gate answers access denied."""
    try:
        return rrp.hBaseRegOpenKey(dce, parent, path)['phkResult']
    except DCERPCException as e:
        if DENIED in str(e):
            return 'refused'
        raise


def value(dce, key, name):
    return rrp.hBaseRegQueryValue(dce, key, name)[1].rstrip('\x00')


def subkeys(dce, key):
    """Names below key, or 'refused'."""
    names = []
    try:
        while True:
            names.append(rrp.hBaseRegEnumKey(
                dce, key, len(names))['lpNameOut'].rstrip('\x00'))
    except DCERPCException as e:
        if DENIED in str(e):
            return 'refused'
        if 'ERROR_NO_MORE_ITEMS' not in str(e):
            raise
    return names


def refusal_logged(s, key):
    s.wait_log(r"refused call winreg opnum \d+ \(winreg_\w+\) on pipe "
               r"'winreg' to authenticated session \(user "
               r"'IPCGTEST.%s'.*rule remote-registry-paths: .*registry key "
               r"'%s'" % (harness.TEST_USER, re.escape(key)))


def test_plain_user_reaches_only_the_listed_paths():
    with Server() as s:
        dce = winreg(s, 'user')
        root = hklm(dce)
        # AllowedExactPaths: opens and reads.
        cv = open_key(dce, root, CURRENT_VERSION)
        assert cv != 'refused'
        assert value(dce, cv, 'SystemRoot') != ''
        assert 'Print' in subkeys(dce, cv)
        # Below an AllowedPaths entry.
        printers = open_key(dce, root, PRINTERS)
        assert printers != 'refused'
        assert value(dce, printers, 'DefaultSpoolDirectory') != ''
        # Relative opens from allowed handles.
        p = open_key(dce, cv, 'Print')
        assert p != 'refused'
        assert 'Printers' in subkeys(dce, p)
        assert open_key(dce, p, 'Printers') != 'refused'
        # Below an exact path is not listed.
        assert open_key(dce, cv, 'Winlogon') == 'refused'
        refusal_logged(s, 'HKLM\\' + CURRENT_VERSION + '\\Winlogon')
        # Keys outside the lists, and the hive root itself.
        assert open_key(dce, root, 'Software\\Samba') == 'refused'
        refusal_logged(s, 'HKLM\\Software\\Samba')
        assert open_key(dce, root, 'software\\SAMBA\\smbconf') == 'refused'
        assert subkeys(dce, root) == 'refused'
        refusal_logged(s, 'HKLM')
        # Escapes through the path are no paths.
        assert open_key(dce, p, '..\\..\\..\\Samba') == 'refused'
        assert open_key(dce, root, CURRENT_VERSION + '/../Samba') == \
            'refused'
        # The session still works, and keys close.
        assert value(dce, cv, 'CurrentVersion') != ''
        rrp.hBaseRegCloseKey(dce, cv)
        # A closed handle is forgotten.
        try:
            rrp.hBaseRegEnumKey(dce, cv, 0)
            assert False, 'a closed handle read'
        except DCERPCException as e:
            assert DENIED in str(e), e
        # Other hives and writes are refused too.
        try:
            rrp.hOpenCurrentUser(dce)
            assert False, 'HKCU opened'
        except DCERPCException as e:
            assert DENIED in str(e), e
        try:
            rrp.hBaseRegCreateKey(dce, printers, 'ipcguard-test')
            assert False, 'a key was created'
        except DCERPCException as e:
            assert DENIED in str(e), e
        assert open_key(dce, root, PRINTERS) != 'refused'
        # rpcclient: OpenHKLM, then EnumKey on the hive's handle.
        r = s.rpcclient('user', 'winreg_enumkey x')
        assert 'WERR_ACCESS_DENIED' in r.out, r


def test_administrators_have_the_whole_registry():
    with Server() as s:
        dce = winreg(s, 'admin')
        root = hklm(dce)
        samba = open_key(dce, root, 'Software\\Samba')
        assert samba != 'refused'
        assert 'smbconf' in subkeys(dce, samba)
        assert 'SOFTWARE' in subkeys(dce, root)
        cv = open_key(dce, root, CURRENT_VERSION)
        assert value(dce, cv, 'SystemRoot') != ''
        assert open_key(dce, cv, 'Winlogon') != 'refused'
        # rpcclient's call reaches the RPC server, which answers it.
        r = s.rpcclient('admin', 'winreg_enumkey x')
        assert 'WERR_ACCESS_DENIED' not in r.out, r
        assert 'remote-registry-paths' not in s.logs()


def test_changed_lists_and_access():
    # A custom exact list: another key reachable, the defaults not.
    opts = {'remotely accessible registry paths': 'Software\\Samba',
            'remotely accessible registry paths and subpaths':
            CURRENT_VERSION + '\\Print\\Print, System\\Does Not Exist'}
    with Server(ipcguard=opts) as s:
        dce = winreg(s, 'user')
        root = hklm(dce)
        samba = open_key(dce, root, 'SOFTWARE\\samba')
        assert samba != 'refused'
        assert 'smbconf' in subkeys(dce, samba)
        assert open_key(dce, samba, 'smbconf') == 'refused'
        assert open_key(dce, root, CURRENT_VERSION) == 'refused'
        # "...\Print\Print" does not cover "...\Print\Printers".
        assert open_key(dce, root, PRINTERS) == 'refused'
        refusal_logged(s, 'HKLM\\' + PRINTERS)
    # The whole registry to every authenticated user.
    opts = {'remote registry access': 'O:BAG:BAD:(A;;RC;;;AU)'}
    with Server(ipcguard=opts) as s:
        dce = winreg(s, 'user')
        root = hklm(dce)
        assert 'SOFTWARE' in subkeys(dce, root)
        samba = open_key(dce, root, 'Software\\Samba')
        assert 'smbconf' in subkeys(dce, samba)
        r = s.rpcclient('user', 'winreg_enumkey x')
        assert 'WERR_ACCESS_DENIED' not in r.out, r
    # "none": no restriction at all.
    with Server(ipcguard={'remote registry access': 'none'}) as s:
        dce = winreg(s, 'user')
        assert open_key(dce, hklm(dce), 'Software\\Samba') != 'refused'


def test_sealed_sessions():
    """The gate cannot read a sealed request, so it cannot tell which key
    it is about: refused for the plain user, who unsealed gets through;
    administrators are not judged by key."""
    with Server() as s:
        dce = winreg(s, 'user', sealed=True)
        try:
            hklm(dce)
            assert False, 'a sealed request of the user got through'
        except DCERPCException as e:
            assert DENIED in str(e), e
        s.wait_log(r"rule remote-registry-paths: the gate could not read "
                   r"the winreg request")
        dce = winreg(s, 'user')
        assert open_key(dce, hklm(dce), CURRENT_VERSION) != 'refused'
        dce = winreg(s, 'admin', sealed=True)
        samba = open_key(dce, hklm(dce), 'Software\\Samba')
        assert 'smbconf' in subkeys(dce, samba)


def test_fragmented_requests_and_the_handle_bound():
    with Server() as s:
        # A request in several fragments cannot be read whole: refused,
        # though the same call in one fragment goes through.
        dce = winreg(s, 'user')
        root = hklm(dce)
        dce.set_max_fragment_size(32)
        assert open_key(dce, root, CURRENT_VERSION) == 'refused'
        s.wait_log(r"rule remote-registry-paths: the gate could not read "
                   r"the winreg request")
        dce.set_max_fragment_size(0)
        assert open_key(dce, root, CURRENT_VERSION) != 'refused'
        # The gate follows at most 1024 handles a pipe; keys opened
        # beyond that cannot be read, until handles are closed.
        dce = winreg(s, 'user')
        keys = [hklm(dce)]
        while len(keys) < 1024:
            keys.append(open_key(dce, keys[0], CURRENT_VERSION))
        assert 'refused' not in keys
        extra = open_key(dce, keys[0], CURRENT_VERSION)
        assert extra != 'refused'
        assert subkeys(dce, extra) == 'refused'
        assert 'Print' in subkeys(dce, keys[-1])
        rrp.hBaseRegCloseKey(dce, keys.pop())
        again = open_key(dce, keys[0], CURRENT_VERSION)
        assert 'Print' in subkeys(dce, again)


def test_bad_path_list_is_named_and_fails_closed():
    opts = {'remotely accessible registry paths':
            'Software\\Microsoft\\..\\Samba'}
    with Server(ipcguard=opts) as s:
        rc, out = tool(s, 'check')
        assert rc != 0, out
        assert 'ipcguard:remotely accessible registry paths' in out, out
        dce = winreg(s, 'user')
        root = hklm(dce)
        # The broken list reaches nothing; the other list still works.
        assert open_key(dce, root, CURRENT_VERSION) == 'refused'
        assert open_key(dce, root, PRINTERS) != 'refused'
        dce = winreg(s, 'admin')
        assert open_key(dce, hklm(dce), CURRENT_VERSION) != 'refused'
    with Server() as s:
        rc, out = tool(s, 'show')
        for name in ('remote registry access',
                     'remotely accessible registry paths',
                     'remotely accessible registry paths and subpaths'):
            assert 'ipcguard:%s = ' % name in out, out


OPNUM_OPEN_HKLM = 2
OPNUM_OPEN_KEY = 15


def open_hklm_stub():
    r = rrp.OpenLocalMachine()
    r['ServerName'] = rrp.NULL
    r['samDesired'] = rrp.MAXIMUM_ALLOWED
    return r.getData()


def open_key_stub(parent, path):
    r = rrp.BaseRegOpenKey()
    r['hKey'] = parent
    r['lpSubKey'] = rrp.checkNullString(path)
    r['dwOptions'] = 1
    r['samDesired'] = rrp.MAXIMUM_ALLOWED
    return r.getData()


def pipelined(dce, *pdus):
    """PDUs in one SMB write, then each answer: (type, call id, the
    handle of an OpenKey/OpenHKLM response)."""
    t = dce.get_rpc_transport()
    t.send(b''.join(pdus))
    out = []
    for _ in pdus:
        hdr = MSRPCHeader(t.recv())
        handle = None
        if hdr['type'] == MSRPC_RESPONSE:
            handle = rrp.BaseRegOpenKeyResponse(
                hdr['pduData'][8:])['phkResult']
        out.append((hdr['type'], hdr['call_id'], handle))
    return out


def test_a_reused_call_id_gets_no_path_for_another_answer():
    """Issue 24: OpenHKLM and OpenKey of an allowed key with one call id
    in one write.  A gate that paired the server's answers with "the
    request of that call id" would learn HKLM's root handle as the
    allowed key, and the caller would enumerate all of HKLM on it.  The
    gate ends the pipe at the reused id instead, and says why."""
    with Server() as s:
        dce = winreg(s, 'user')
        root = hklm(dce)
        with pytest.raises(Exception):
            answers = pipelined(
                dce, request_pdu(0, OPNUM_OPEN_HKLM, open_hklm_stub(), 7),
                request_pdu(0, OPNUM_OPEN_KEY,
                            open_key_stub(root, CURRENT_VERSION), 7))
            # pytest.fail() is no Exception: the pipe must not get here.
            pytest.fail('the pipe went on; HKLM enumerates as %r' %
                        subkeys(dce, answers[0][2]))
        s.wait_log(r"ipcguardd: pipe 'winreg' of authenticated session "
                   r"\(user 'IPCGTEST.%s', client 127\.0\.0\.1\): the "
                   r"client reused the call id of a call the RPC server "
                   r"has not answered yet \(call id 7\); closing" %
                   harness.TEST_USER)
        # Honest pipelining, distinct call ids: each answer is its own
        # call's, the allowed key's handle reads, the root's is refused.
        dce = winreg(s, 'user')
        root = hklm(dce)
        answers = pipelined(
            dce, request_pdu(0, OPNUM_OPEN_HKLM, open_hklm_stub(), 7),
            request_pdu(0, OPNUM_OPEN_KEY,
                        open_key_stub(root, CURRENT_VERSION), 8))
        assert [(a[0], a[1]) for a in answers] == [(MSRPC_RESPONSE, 7),
                                                    (MSRPC_RESPONSE, 8)]
        new_root, cv = answers[0][2], answers[1][2]
        assert 'Print' in subkeys(dce, cv)
        assert subkeys(dce, new_root) == 'refused'
        assert subkeys(dce, root) == 'refused'
        assert open_key(dce, new_root, 'Software\\Samba') == 'refused'
