"""ipcguard on a real Samba AD domain controller (dc.py): the module in
the DC's smbd, the gate in front of the DC's named pipes, clients that
arrive over a veth pair from another network namespace.

One DC is provisioned for the whole module (the `dc` fixture); each
refusal is shown next to the allowed path on the same DC."""

import json
import os
import re
import shutil
import sys
import time

import pytest

import harness
from dc import (DC, DOMAIN, SAME_ANSWERS, dc_profile_kwargs, door_covers,
                outcome)
from test_gate import gate_refused, got_through

# The DCs of this module that are running on purpose between tests.
SHARED = []


@pytest.fixture(autouse=True)
def no_leftover_processes(request):
    """conftest's check, for this module: the shared DC runs from the
    first test to the last on purpose, so it is left out while it runs;
    the fixture that stops it checks it (and conftest's check covers its
    directory in every later test)."""
    first = len(harness.CREATED_DIRS)
    yield
    mine = harness.CREATED_DIRS[first:]
    left = harness.processes_of([d for d in harness.CREATED_DIRS
                                 if d not in SHARED])
    assert not left, 'processes left running: %s' % left
    if getattr(request.node, 'ipcguard_failed', False) or \
            os.environ.get('IPCGUARD_KEEP'):
        return
    for d in mine:
        if d not in SHARED:
            shutil.rmtree(d, ignore_errors=True)


def _users_failed(request):
    """Whether a test of this module that used the fixture failed."""
    return any(getattr(item, 'ipcguard_failed', False)
               for item in request.session.items
               if item.module is request.module and
               request.fixturename in item.fixturenames)


def shared_dc(request, **kw):
    d = DC(**kw)
    d.start()
    SHARED.append(d.dir)
    try:
        yield d
    finally:
        SHARED.remove(d.dir)
        d.close(failed=_users_failed(request))
        left = harness.processes_of([d.dir])
        assert not left, 'processes left running: %s' % left


@pytest.fixture(scope='module')
def dc(request):
    yield from shared_dc(request, ipcguard={'null session pipes': 'lsarpc'})


# Pipes an anonymous caller is refused over SMB with only lsarpc listed,
# each with an rpcclient command and what Administrator gets from it.
REFUSED = {
    'samr': ('enumdomusers', 'user:[Administrator] rid:[0x1f4]'),
    'srvsvc': ('srvinfo', 'IPCGDC'),
    'wkssvc': ('wkssvc_wkstagetinfo', None),
    'netlogon': ('getdcname %s' % DOMAIN, '\\\\IPCGDC'),
}


def refused_in_gate_log(d, pipe):
    d.wait_log(r"ipcguardd: refused pipe '%s' to anonymous session "
               r"\(user '', client %s, sids S-1-5-7[^)]*\): "
               r"rule null-session-pipes" % (pipe, re.escape(d.client_ip)))


def test_topology_dc_listens_on_its_veth_and_loopback_only(dc):
    addrs = {a for a, _, _ in dc.listening()}
    assert addrs <= {dc.ip, '127.0.0.1', '::1'}, addrs
    assert dc.ip in addrs
    ports = {p for a, p, _ in dc.listening() if a == dc.ip}
    assert {135, 445, 389, 88} <= ports, ports
    # The client namespace reaches the DC's /30 and nothing else.
    r = dc.in_client_run(['ip', '-4', 'route', 'show'])
    assert r.out.split() == [dc.network + '/30', 'dev', 'ipcg-cl', 'proto',
                             'kernel', 'scope', 'link', 'src',
                             dc.client_ip], r


def test_smbd_loads_the_freshly_built_module_through_the_overlay(dc):
    r = dc.smbclient('admin', 'netlogon', 'ls')
    assert r.rc == 0, r
    dc.wait_log(r'ipcguard: vfs module \S+ \(build %s\) for .* loaded' %
                re.escape(harness.build_id()))
    if not harness.INSTALLED:
        smbd = dc.pids_of('smbd')
        assert smbd
        seen = '/proc/%d/root%s/vfs/ipcguard.so' % (smbd[0],
                                                   harness.modules_dir())
        assert harness.sha256(seen) == harness.sha256(
            os.path.join(harness.BUILD, 'ipcguard.so'))
        # The host's MODULESDIR is untouched.
        assert not os.path.exists(os.path.join(harness.modules_dir(), 'vfs',
                                               'ipcguard.so')) or \
            harness.sha256(os.path.join(harness.modules_dir(), 'vfs',
                                        'ipcguard.so')) != \
            harness.sha256(os.path.join(harness.BUILD, 'ipcguard.so'))


def test_anonymous_lsaquery_over_smb_is_allowed(dc):
    r = dc.rpcclient('anonymous', 'lsaquery')
    assert r.rc == 0 and 'Domain Name: %s' % DOMAIN in r.out, r
    dc.wait_log(r"ipcguardd: allowed pipe 'lsarpc' to anonymous session "
                r"\(user '', client %s" % re.escape(dc.client_ip))


@pytest.mark.parametrize('pipe', sorted(REFUSED))
def test_anonymous_over_smb_is_refused_unlisted_pipes(dc, pipe):
    cmd, admin_sees = REFUSED[pipe]
    anon = dc.rpcclient('anonymous', cmd)
    assert gate_refused(anon, pipe), anon
    assert anon.rc != 0, anon
    refused_in_gate_log(dc, pipe)
    admin = dc.rpcclient('admin', cmd)
    assert admin.rc == 0 and got_through(admin, pipe), admin
    if admin_sees is not None:
        assert admin_sees in admin.out, admin


def test_admin_over_smb_enumerates_domain_users(dc):
    r = dc.rpcclient('admin', 'enumdomusers')
    assert r.rc == 0, r
    users = re.findall(r'user:\[([^]]+)\] rid:\[0x([0-9a-f]+)\]', r.out)
    assert ('Administrator', '1f4') in users, r
    assert ('krbtgt', '1f6') in users, r


def test_wbinfo_lists_administrator_with_the_gate_up(dc):
    assert dc.gate_proc is not None and dc.gate_proc.poll() is None
    ping = dc.smbcontrol('ipcguardd', 'ping')
    assert ping.rc == 0 and 'PONG' in ping.out, ping
    r = dc.wbinfo('-u')
    assert r.rc == 0, r
    assert '%s\\administrator' % DOMAIN.lower() in r.out.lower(), r
    # winbindd asked SAMR through the gate, as SYSTEM.
    dc.wait_log(r"ipcguardd: allowed pipe 'samr' to authenticated session "
                r"\(user 'NT AUTHORITY\\SYSTEM'")


def admin_authenticated_over_tcp(d, through_door=False):
    """The DC's auth_audit line for Administrator's NTLMSSP bind over
    ncacn_ip_tcp from the client namespace (rpcclient binds with no
    authentication at all over TCP unless asked to sign or seal).
    Through the TCP door Samba sees the gate's connection, from the DC's
    own address."""
    d.wait_log(r'Auth: \[DCE/RPC,NTLMSSP\] user \[%s\]\\\[Administrator\]'
               r'.* status \[NT_STATUS_OK\] .*remote host \[ipv4:%s:\d+\]'
               r'.* local host \[ipv4:%s:(?!445\])\d+\]' % (
                   DOMAIN, re.escape(d.ip if through_door else d.client_ip),
                   re.escape(d.ip)))


def test_admin_over_tcp_enumerates_domain_users(dc):
    r = dc.rpcclient('admin', 'enumdomusers', transport='tcp')
    assert r.rc == 0 and 'user:[Administrator] rid:[0x1f4]' in r.out, r
    admin_authenticated_over_tcp(dc)


def test_machine_account_schannel_over_smb(dc):
    """The joined client's machine account: netlogon with schannel over
    SMB gets through the gate (an anonymous caller does not, above)."""
    r = dc.rpcclient('machine', 'getdcname %s' % DOMAIN)
    assert r.rc == 0 and '\\\\IPCGDC' in r.out, r
    dc.wait_log(r"ipcguardd: allowed pipe 'netlogon' to authenticated "
                r"session \(user '%s\\IPCGCL\$'" % DOMAIN)


def test_reload_opens_a_pipe_to_anonymous(dc):
    """set_ipcguard + smbcontrol reload-config reach the DC's gate; the
    shared DC is put back as it was."""
    assert gate_refused(dc.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
    try:
        dc.set_ipcguard(null_session_pipes='lsarpc srvsvc')
        for dest in ('ipcguardd', 'smbd'):
            r = dc.smbcontrol(dest, 'reload-config')
            assert r.rc == 0, r
        r = dc.retry(lambda: dc.rpcclient('anonymous', 'srvinfo'),
                     lambda r: 'IPCGDC' in r.out)
        assert r.rc == 0 and 'IPCGDC' in r.out, r
    finally:
        dc.set_ipcguard(null_session_pipes='lsarpc')
        for dest in ('ipcguardd', 'smbd'):
            dc.smbcontrol(dest, 'reload-config')
    r = dc.retry(lambda: dc.rpcclient('anonymous', 'srvinfo'),
                 lambda r: gate_refused(r, 'srvsvc'))
    assert gate_refused(r, 'srvsvc'), r


def test_stop_and_start_gate(dc):
    """Without the gate no pipe opens, for anyone (fail closed: smbd
    finds no socket), while shares still work; with the gate back,
    lsarpc opens to anonymous again."""
    dc.stop_gate()
    try:
        admin = dc.rpcclient('admin', 'lsaquery')
        assert admin.rc != 0 and 'Domain Name' not in admin.out, admin
        assert 'Could not initialise lsarpc' in admin.out, admin
        anon = dc.rpcclient('anonymous', 'lsaquery')
        assert anon.rc != 0 and 'Domain Name' not in anon.out, anon
        share = dc.smbclient('admin', 'netlogon', 'ls')
        assert share.rc == 0, share
    finally:
        dc.start_gate()
    r = dc.retry(lambda: dc.rpcclient('anonymous', 'lsaquery'),
                 lambda r: 'Domain Name: %s' % DOMAIN in r.out)
    assert 'Domain Name: %s' % DOMAIN in r.out, r


# -- the TCP door -----------------------------------------------------------

@pytest.fixture(scope='module')
def door_dc(request):
    """A DC with smb.conf.example's DC profile, TCP door included."""
    yield from shared_dc(request, **dc_profile_kwargs())


def wait_door(d):
    """Until the gate's packet filter stands in front of 135 and every
    port the DC's RPC server listens on: the whole dynamic range."""
    rpc_ports = sorted({p for a, p, proc in d.listening()
                        if proc.startswith('rpc[')})
    assert 135 in rpc_ports, d.listening()
    text = d.wait_log(r'TCP door on port 1135 stands in front of ports '
                      r'\S+\n', timeout=30)
    spec = re.findall(r'TCP door on port 1135 stands in front of ports '
                      r'(\S+)\n', text)[-1]
    assert all(door_covers(spec, p) for p in rpc_ports), (spec, rpc_ports)
    assert door_covers(spec, 49152) and door_covers(spec, 65535), spec
    return rpc_ports


@pytest.mark.parametrize('iface,cmd,expected', SAME_ANSWERS,
                         ids=[c for _, c, _ in SAME_ANSWERS])
def test_anonymous_gets_the_same_answers_over_smb_and_tcp(door_dc, iface,
                                                          cmd, expected):
    wait_door(door_dc)
    smb = door_dc.rpcclient('anonymous', cmd, transport='smb')
    tcp = door_dc.rpcclient('anonymous', cmd, transport='tcp')
    assert outcome(smb) == expected, smb
    assert outcome(tcp) == expected, tcp
    if expected == 'refused':
        assert not re.search(r'(user|group):\[|min_password_length|'
                             r'S-1-5-21-\d+-\d+-\d+-500|netbios_name',
                             smb.out + tcp.out), (smb, tcp)
    if expected == 'refused' and iface in ('samr', 'drsuapi'):
        # The TCP refusal is the gate's, not Samba's.  (Samba's LSA
        # refuses anonymous callers over TCP before the gate's call
        # rules come into play.)
        door_dc.wait_log(r"ipcguardd: refused (binding|call) %s[^\n]* on "
                         r"pipe 'ncacn_ip_tcp:\d+' to anonymous session "
                         r"\(user '', client %s\)" % (
                             iface, re.escape(door_dc.client_ip)))


@pytest.mark.parametrize('cmd', ['enumdomusers', 'dsgetdcinfo %s' % DOMAIN,
                                 'getdompwinfo'])
def test_admin_over_tcp_is_relayed_untouched(door_dc, cmd):
    """Administrator's sealed NTLMSSP connections through the door: samr,
    drsuapi, found through the endpoint mapper like any client."""
    wait_door(door_dc)
    r = door_dc.rpcclient('admin', cmd, transport='tcp')
    assert outcome(r) == 'answered', r
    if cmd == 'enumdomusers':
        assert 'user:[Administrator] rid:[0x1f4]' in r.out, r
    admin_authenticated_over_tcp(door_dc, through_door=True)


def test_machine_account_over_both_transports(door_dc):
    """The joined member's account: NTLMSSP over TCP through the door,
    schannel over SMB through the gate (netlogon is listed for
    anonymous callers because schannel is set up over it)."""
    wait_door(door_dc)
    r = door_dc.rpcclient('machine', 'enumdomusers', transport='tcp')
    assert outcome(r) == 'answered' and 'Administrator' in r.out, r
    r = door_dc.rpcclient('machine', 'getdcname %s' % DOMAIN)
    assert r.rc == 0 and '\\\\IPCGDC' in r.out, r


def test_schannel_over_both_transports(door_dc):
    """A member's secure channel, as Samba's own client sets it up: an
    unauthenticated netlogon connection for ServerAuthenticate3 (netlogon
    is listed for anonymous callers for this), then a sealed schannel
    bind, over TCP through the door and over SMB through the gate."""
    wait_door(door_dc)
    password = 'Sch-Test-Pw1x'
    r = door_dc.samba_tool('computer', 'create', 'SCHTEST')
    assert r.rc == 0, r
    r = door_dc.samba_tool('user', 'setpassword', 'SCHTEST$',
                           '--newpassword=%s' % password)
    assert r.rc == 0, r
    for transport in ('tcp', 'smb'):
        r = door_dc.schannel('SCHTEST', password, transport)
        assert r.out.strip() == 'ok \\\\IPCGDC', (transport, r)
    door_dc.wait_log(r"ipcguardd: TCP caller from %s on port \d+: schannel "
                     r"says authenticated" % re.escape(door_dc.client_ip))
    door_dc.wait_log(r"ipcguardd: allowed pipe 'netlogon' to authenticated "
                     r"session \(user '%s\\SCHTEST\$'" % DOMAIN)
    # A wrong password gets no secure channel, on either transport.
    for transport in ('tcp', 'smb'):
        r = door_dc.schannel('SCHTEST', 'wrong-' + password, transport)
        assert r.out.startswith('error'), (transport, r)


def test_member_join_goes_through_the_gate(door_dc):
    """A second Samba (the client namespace's) joins the domain: LDAP,
    Kerberos, and LSA over SMB as Administrator through the gate (once
    per DC: an earlier test may have joined it already)."""
    door_dc.join_machine()
    door_dc.wait_log(r"ipcguardd: allowed pipe 'lsarpc' to authenticated "
                     r"session \(user '%s\\Administrator', client %s\)" % (
                         DOMAIN, re.escape(door_dc.client_ip)))


def test_flushed_ruleset_is_put_back(door_dc):
    """A reload of nftables.service flushes every table, the door's too:
    the gate notices within seconds and puts it back."""
    wait_door(door_dc)
    r = door_dc.in_dc_run(['nft', 'flush', 'ruleset'])
    assert r.rc == 0, r
    door_dc.wait_log(r'the nftables table inet ipcguard of the TCP door is '
                     r'gone', timeout=20)
    r = door_dc.retry(lambda: door_dc.in_dc_run(
        ['nft', 'list', 'table', 'inet', 'ipcguard']),
        lambda r: r.rc == 0 and 'redirect to :1135' in r.out, timeout=20)
    assert r.rc == 0 and 'redirect to :1135' in r.out, r
    anon = door_dc.rpcclient('anonymous', 'enumdomusers', transport='tcp')
    assert outcome(anon) == 'refused', anon


def test_a_connection_from_before_the_door_is_reset(door_dc):
    """Issue 24: an anonymous caller that got to samr's port while the
    table was gone (a flushed ruleset) and holds its connection is
    answered nothing once the door is back.  Another program's NAT table
    stays through the flush (a container runtime's, say), so that the
    connection is tracked as NATed to nothing.  (On Debian 12's kernel
    the connection is reset once the table is back even without the
    table's input chain, which resets what arrives for an RPC port
    without having been redirected; the chain is there for kernels that
    do not.)"""
    wait_door(door_dc)
    port = door_dc.tcp_endpoint('samr')
    proc, start, go = door_dc.held_samr(port)
    other = ('table ip ipcgtest_other {\n chain pre {\n  type nat hook '
             'prerouting priority dstnat; policy accept;\n }\n}\n')
    try:
        r = door_dc.in_dc_run(['nft', '-f', '-'], input='flush ruleset\n' +
                              other)
        assert r.rc == 0, r
        open(start, 'w').close()
        first = json.loads(proc.stdout.readline())
        # Unguarded, Samba's own rules let it in.
        assert first['connected'], first
        r = door_dc.retry(lambda: door_dc.in_dc_run(
            ['nft', 'list', 'table', 'inet', 'ipcguard']),
            lambda r: r.rc == 0 and 'redirect to :1135' in r.out,
            timeout=20)
        assert r.rc == 0 and 'reject with tcp reset' in r.out, r
        open(go, 'w').close()
        second = json.loads(proc.stdout.readline())
        assert second['answered'] is None, second
    finally:
        proc.kill()
        proc.wait()
        door_dc.in_dc_run(['nft', 'delete', 'table', 'ip', 'ipcgtest_other'])
    anon = door_dc.rpcclient('anonymous', 'enumdomusers', transport='tcp')
    assert outcome(anon) == 'refused', anon
    admin = door_dc.rpcclient('admin', 'enumdomusers', transport='tcp')
    assert 'user:[Administrator]' in admin.out, admin


@pytest.mark.parametrize('authn', ['none', 'winnt'])
def test_anonymous_straight_to_samr_port_however_dressed(door_dc, authn):
    """A caller that knows samr's port skips the endpoint mapper: the door
    stands in front of that port too.  NTLMSSP with no account (impacket
    sends it, with packet privacy) is the anonymous logon and is judged
    as one; Administrator with the same authentication gets through."""
    rpc_ports = wait_door(door_dc)
    port = door_dc.tcp_endpoint('samr')
    assert port in rpc_ports and port != 135
    anon = door_dc.samr_over_tcp('anonymous', port, authn=authn)
    assert not anon['ok'] and 'access_denied' in anon['error'].lower(), anon
    # Judged on the interface first: the gate's log says "binding"
    # whether it refused the bind (no authentication) or, once the
    # auth3 showed nobody, the first call.
    door_dc.wait_log(r"ipcguardd: TCP caller from %s on port %d: %s says "
                     r"anonymous" % (re.escape(door_dc.client_ip), port,
                                     'no authentication' if authn == 'none'
                                     else 'NTLMSSP'))
    door_dc.wait_log(r"ipcguardd: refused binding samr on "
                     r"pipe 'ncacn_ip_tcp:%d' to anonymous session "
                     r"\(user '', client %s\)" % (
                         port, re.escape(door_dc.client_ip)))
    admin = door_dc.samr_over_tcp('admin', port, authn='winnt')
    assert admin['ok'] and 'Administrator' in admin['users'], admin


# DCE/RPC PDU types and the access-denied fault status.
BIND_ACK, FAULT, ACCESS_DENIED = 12, 3, 5


def test_spnego_wrapped_anonymous_ntlmssp_is_anonymous(door_dc):
    """SPNEGO around NTLMSSP: the bind's negotiate goes on unjudged (who
    it is comes later), the auth3's AUTHENTICATE names no account, and
    the first call is refused by the gate as an anonymous one."""
    wait_door(door_dc)
    port = door_dc.tcp_endpoint('samr')
    r = door_dc.raw_samr_over_tcp(port, 'spnego-anonymous')
    assert r.get('bind_answer') == BIND_ACK, r
    assert r.get('call_answer') == FAULT and \
        r.get('fault') == ACCESS_DENIED, r
    door_dc.wait_log(r"ipcguardd: TCP caller from %s on port %d: SPNEGO "
                     r"says anonymous" % (re.escape(door_dc.client_ip),
                                          port))
    door_dc.wait_log(r"ipcguardd: refused binding samr on pipe "
                     r"'ncacn_ip_tcp:%d' to anonymous session \(user '', "
                     r"client %s\)" % (port, re.escape(door_dc.client_ip)))


def test_unknown_auth_type_is_anonymous(door_dc):
    """An authentication type the gate cannot read is no account: the bind
    is judged as anonymous and refused."""
    wait_door(door_dc)
    port = door_dc.tcp_endpoint('samr')
    r = door_dc.raw_samr_over_tcp(port, 'bogus-auth')
    assert r.get('bind_answer') == FAULT and \
        r.get('fault') == ACCESS_DENIED, r
    door_dc.wait_log(r"ipcguardd: refused binding samr on pipe "
                     r"'ncacn_ip_tcp:%d' to anonymous session \(user '', "
                     r"client %s\)" % (port, re.escape(door_dc.client_ip)))


def test_door_itself_answers_no_caller(door_dc):
    """Port 1135 taken directly, not redirected from an RPC port: the gate
    closes the connection without relaying a byte."""
    wait_door(door_dc)
    script = ('import socket\n'
              's = socket.create_connection(("%s", 1135), 5)\n'
              's.settimeout(5)\n'
              's.sendall(bytes([5, 0, 11, 3, 16, 0, 0, 0]) + bytes(64))\n'
              'try:\n'
              '    print("got", len(s.recv(100)))\n'
              'except ConnectionResetError:\n'
              '    print("got 0")\n' % door_dc.ip)
    r = door_dc.in_client_run([sys.executable, '-c', script])
    assert 'got 0' in r.out, r
    door_dc.wait_log(r'closed a connection to the TCP door that the packet '
                     r'filter did not redirect')


# What a scanner sends to an RPC port: bytes of other protocols, a first
# PDU that is no bind, a header alone.  Samba takes a connection's first
# PDU as its bind and answers anything else with bind_nak or by closing.
SMB_NEGOTIATE = (  # nmap's SMBProgNeg probe, which names "msrpc" by its answer
    b'\0\0\0\xa4\xffSMBr\0\0\0\0\x08\x01\x40\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
    b'\x40\x06\0\0\x01\0\0\x81\0\x02PC NETWORK PROGRAM 1.0\0'
    b'\x02MICROSOFT NETWORKS 1.03\0\x02MICROSOFT NETWORKS 3.0\0'
    b'\x02LANMAN1.0\0\x02LM1.2X002\0\x02Samba\0\x02NT LANMAN 1.0\0'
    b'\x02NT LM 0.12\0')


def _rpc_header(ptype, frag_length, vers=5, call_id=7):
    return bytes([vers, 0, ptype, 3, 0x10, 0, 0, 0]) + \
        frag_length.to_bytes(2, 'little') + bytes(2) + \
        call_id.to_bytes(4, 'little')


SCANNER_PROBES = {
    'http': b'GET / HTTP/1.0\r\n\r\n',
    'smb-negotiate': SMB_NEGOTIATE,
    'zeros': bytes(64),
    'bind-of-rpc-version-4': _rpc_header(11, 72, vers=4) + bytes(56),
    'request-before-any-bind': _rpc_header(0, 40) + bytes(24),
    'alter-context-before-any-bind': _rpc_header(14, 72) + bytes(56),
    'header-alone': _rpc_header(11, 16),
    'frag-length-below-a-header': _rpc_header(11, 8) + bytes(32),
    'nothing': b'',
}

PROBE_SCRIPT = r"""
import socket, sys
host, port, data = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.create_connection((host, port), 5)
s.settimeout(1.5)
if data:
    s.sendall(data)
got, end = b'', 'open'
try:
    while True:
        b = s.recv(4096)
        if not b:
            end = 'closed'
            break
        got += b
except socket.timeout:
    pass
except ConnectionResetError:
    end = 'reset'
print(got.hex() or "-", end)
"""


def scanner_view(d, port):
    """What each probe gets from port: its answer's bytes and how the
    connection stands 1.5 s later (open, closed or reset)."""
    seen = {}
    for name, data in SCANNER_PROBES.items():
        r = d.in_client_run([sys.executable, '-c', PROBE_SCRIPT, d.ip,
                             str(port), data.hex()])
        assert r.rc == 0, r
        seen[name] = r.out.split()
    return seen


def nmap_service(d, port):
    """nmap -sV's line for port, and how long the scan took."""
    start = time.monotonic()
    r = d.in_client_run(['nmap', '-Pn', '-n', '-sV', '-p', str(port), d.ip],
                        timeout=600)
    took = time.monotonic() - start
    m = re.search(r'^%d/tcp\s+(.*)$' % port, r.out, re.M)
    assert m, r
    return m.group(1).split(), took


def test_a_scanner_sees_plain_samba_through_the_door(door_dc, dc):
    """Port 135 and the SAMR port, probed as a scanner does, answer the
    same through the door as on a DC without one (dc), down to whether
    the connection is closed or reset; nmap -sV names the same service in
    about the same time.  An anonymous bind through the same door is
    still judged."""
    wait_door(door_dc)
    for port_of in (lambda d: 135, lambda d: d.tcp_endpoint('samr')):
        door_port, plain_port = port_of(door_dc), port_of(dc)
        door = scanner_view(door_dc, door_port)
        plain = scanner_view(dc, plain_port)
        assert door == plain, (door_port, door, plain)
        # Samba's own answer to a first PDU that is no bind, relayed.
        assert door['smb-negotiate'][0].startswith('05000d03'), door
        assert door['zeros'][1] == 'reset', door
        door_line, door_took = nmap_service(door_dc, door_port)
        plain_line, plain_took = nmap_service(dc, plain_port)
        assert door_line == plain_line, (door_line, plain_line)
        assert 'msrpc' in door_line, door_line
        assert door_took <= plain_took * 1.5 + 3, (door_took, plain_took)
    port = door_dc.tcp_endpoint('samr')
    anon = door_dc.samr_over_tcp('anonymous', port, authn='none')
    assert not anon['ok'] and 'access_denied' in anon['error'].lower(), anon
    admin = door_dc.samr_over_tcp('admin', port, authn='winnt')
    assert admin['ok'] and 'Administrator' in admin['users'], admin


def test_a_logon_over_tcp_is_not_held_up_by_the_door(door_dc, dc):
    """A client's new authenticated TCP connection (endpoint mapper
    lookup, NTLMSSP bind to samr, SamrConnect2), timed by bench_door's
    client through the door and on a DC without one, rounds interleaved.
    The door is a relay and costs some; what this catches is a stall: a
    request written behind an auth3 used to wait for the auth3's delayed
    ACK (40 ms, nine times the whole logon) until the door's sockets set
    TCP_NODELAY.  The figures against the 5 % goal are bench_door's."""
    sys.path.insert(0, os.path.join(harness.ROOT, 'tests', 'bench'))
    from bench_door import per_connection
    wait_door(door_dc)
    door, plain = [], []
    for _ in range(3):
        door.append(per_connection(door_dc, 'tcp-logon', 10))
        plain.append(per_connection(dc, 'tcp-logon', 10))
    print('tcp-logon: %.0f us through the door, %.0f us without' % (
        min(door), min(plain)))
    assert min(door) <= 2 * min(plain), (door, plain)


def test_door_is_shown_by_status_and_check(door_dc):
    rpc_ports = wait_door(door_dc)
    r = door_dc.tool('status')
    assert r.rc == 0, r
    m = re.search(r'^tcp_door=1135 ports=(\S+) allowed=\d+ refused=\d+$',
                  r.out, re.M)
    assert m and all(door_covers(m.group(1), p) for p in rpc_ports), r
    r = door_dc.tool('check')
    assert 'TCP door' not in r.out and 'ncacn_ip_tcp' not in r.out, r


def test_dc_without_a_door_is_reported_by_check(dc):
    r = dc.tool('check')
    assert r.rc == 1, r
    assert re.search(r'ERROR: server role = active directory domain '
                     r'controller: the samba process serves ncacn_ip_tcp',
                     r.out), r


def test_wbinfo_and_samba_tool_through_the_door(door_dc):
    """Samba's own callers keep working whatever the anonymous policy:
    winbindd's user list (samr and lsarpc through the gate, as SYSTEM),
    and samba-tool's drsuapi over TCP from the member's namespace."""
    wait_door(door_dc)
    r = door_dc.wbinfo('-u')
    assert r.rc == 0 and 'administrator' in r.out.lower(), r
    r = door_dc.samba_tool_from_client(
        'drs', 'showrepl', door_dc.ip, '-U',
        '%s\\Administrator%%%s' % (DOMAIN, door_dc.admin_password))
    assert r.rc == 0 and 'DSA Options' in r.out, r


def test_door_moves_on_reload(door_dc):
    """A reload with another door port: the gate listens there and the
    packet filter follows; anonymous callers are still refused over TCP,
    Administrator still answered.  Put back afterwards."""
    wait_door(door_dc)
    try:
        door_dc.set_ipcguard(tcp_door_port='1136')
        door_dc.reload_gate()
        door_dc.wait_log(r'TCP door on port 1136 stands in front of ports '
                         r'135,', timeout=20)
        r = door_dc.in_dc_run(['nft', 'list', 'table', 'inet', 'ipcguard'])
        assert 'redirect to :1136' in r.out, r
        anon = door_dc.rpcclient('anonymous', 'enumdomusers',
                                 transport='tcp')
        assert outcome(anon) == 'refused', anon
        admin = door_dc.rpcclient('admin', 'enumdomusers', transport='tcp')
        assert 'user:[Administrator]' in admin.out, admin
        r = door_dc.tool('status')
        assert re.search(r'^tcp_door=1136 ', r.out, re.M), r
    finally:
        door_dc.set_ipcguard(tcp_door_port='1135')
        door_dc.reload_gate()
    r = door_dc.retry(lambda: door_dc.in_dc_run(
        ['nft', 'list', 'table', 'inet', 'ipcguard']),
        lambda r: 'redirect to :1135' in r.out, timeout=20)
    assert 'redirect to :1135' in r.out, r


def test_no_moment_without_the_door_across_samba_restarts(door_dc):
    """Issue 24: the door stands in front of the whole dynamic range, so
    that the ports Samba listens on again after a restart are behind it
    from their first moment.  An anonymous caller from outside hammers
    SAMR user enumeration straight to every RPC port while samba restarts
    three times: not one answer with user names.  Administrator is
    answered over TCP after every restart."""
    rpc_ports = wait_door(door_dc)
    hammer = door_dc.samr_hammer(sorted(set(rpc_ports) - {135}))
    try:
        for _ in range(3):
            door_dc.restart_samba()
            admin = door_dc.retry(
                lambda: door_dc.rpcclient('admin', 'enumdomusers',
                                          transport='tcp'),
                lambda r: 'user:[Administrator]' in r.out, timeout=30)
            assert 'user:[Administrator]' in admin.out, admin
            time.sleep(2)
    finally:
        lines = door_dc.stop_hammer(hammer)
    leaks = [line for line in lines if 'leak' in line]
    assert lines and lines[-1]['tries'] > 50, lines
    assert not leaks, leaks


def test_gate_down_shuts_the_door_and_says_what_breaks(door_dc):
    """Stopped, the gate leaves its packet filter in place: callers from
    outside find the RPC ports shut, not open.  check, status and the
    module's log line say what breaks meanwhile; with the gate back all
    works again.  (Last: it stops the shared DC's gate.)"""
    wait_door(door_dc)
    door_dc.stop_gate()
    try:
        anon = door_dc.rpcclient('anonymous', 'enumdomusers',
                                 transport='tcp')
        admin = door_dc.rpcclient('admin', 'enumdomusers', transport='tcp')
        assert 'user:[' not in anon.out + admin.out, (anon, admin)
        assert 'Connection refused' in admin.out or \
            'NT_STATUS_CONNECTION_REFUSED' in admin.out or admin.rc != 0, \
            admin
        r = door_dc.wbinfo('-u')
        assert 'administrator' not in r.out.lower(), r
        r = door_dc.tool('check')
        assert r.rc == 1 and 'wbinfo -u' in r.out, r
        r = door_dc.tool('status')
        assert r.rc == 1 and 'every named pipe open fails' in r.out, r
        # The module says it at the next anonymous IPC$ connect.
        door_dc.rpcclient('anonymous', 'lsaquery')
        door_dc.wait_log(r"ipcguard: refused ipc 'IPC\$' to anonymous "
                         r"session .*rule pipe-gate.*every named pipe "
                         r"open fails")
    finally:
        door_dc.start_gate()
    wait_door(door_dc)
    r = door_dc.retry(lambda: door_dc.rpcclient('admin', 'enumdomusers',
                                                transport='tcp'),
                      lambda r: 'user:[Administrator]' in r.out, timeout=30)
    assert 'user:[Administrator]' in r.out, r
    r = door_dc.retry(lambda: door_dc.wbinfo('-u'),
                      lambda r: 'administrator' in r.out.lower(), timeout=30)
    assert 'administrator' in r.out.lower(), r


def test_samr_straight_to_its_port_without_a_door(dc):
    """The same caller without a TCP door: Samba answers anonymous SAMR
    over TCP by its own rules (what the door is for); Administrator too."""
    port = dc.tcp_endpoint('samr')
    admin = dc.samr_over_tcp('admin', port)
    assert admin['ok'] and 'Administrator' in admin['users'], admin
    anon = dc.samr_over_tcp('anonymous', port)
    assert anon['ok'] and 'Administrator' in anon['users'], anon


def test_samba_tool_ntacl_sysvol_with_the_module_loaded(dc):
    """samba-tool ntacl sysvolreset and sysvolcheck connect to sysvol
    through Samba's Python bindings (create_conn_struct_tos()), with every
    module of its vfs objects, ipcguard's included: SYSTEM's own
    connection, not judged, and nothing crashes (issue 29)."""
    crashes = ('PANIC', 'INTERNAL ERROR')
    before = {word: dc.logs().count(word) for word in crashes}
    for cmd in ('sysvolreset', 'sysvolcheck'):
        r = dc.samba_tool('ntacl', cmd, modules=True)
        assert r.rc == 0, ('samba-tool ntacl %s' % cmd, r)
        assert 'Signal 11' not in r.out and 'PANIC' not in r.out, r
    assert dc.samba.poll() is None, 'samba died after samba-tool ntacl'
    logs = dc.logs()
    for word in crashes:
        assert logs.count(word) == before[word], (
            word, 'in the logs after samba-tool ntacl')
    # The DC still serves its shares.
    r = dc.smbclient('admin', 'sysvol')
    assert r.rc == 0, r
