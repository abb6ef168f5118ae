"""A real Samba Active Directory domain controller for ipcguard's tests.

DC provisions a private domain (realm IPCG.TEST, NetBIOS domain IPCG) and
runs Debian's `samba` on it with the freshly built module and gate, in a
network namespace of its own.  A second namespace, joined to the first by a
veth pair, holds the clients: rpcclient, smbclient and net arrive on the
DC's veth address from outside, as a Windows client would, and never on
loopback.

    namespace ipcg-dc-<pid>-<n>            namespace ipcg-cl-<pid>-<n>
      lo, ipcg-dc: 10.231.x.y+1/30  <-veth->  ipcg-cl: 10.231.x.y+2/30, lo
      ipcguardd, samba (smbd,                 rpcclient, smbclient, net
      winbindd, ...)

The two namespaces have no other interface and no default route, so
nothing the DC or a client does can reach any other address.  The /30 is
derived from our pid, so parallel runs use different ones (it does not
matter if two collide: each pair of namespaces is a world of its own).

Everything lives in one temporary directory:

    <dir>/smb.conf           the DC's configuration: the provisioned one
                             (ad/etc/smb.conf) plus ipcguard's lines;
                             every process of the DC is started on it
    <dir>/ad/                samba-tool's --targetdir: lock directory,
                             private/ (sam.ldb, secrets), state/
                             (sysvol), cache/, etc/smb.conf
    <dir>/pid, ncalrpc, winbindd, log, gate, modules
    <dir>/client.conf        the clients' configuration
    <dir>/client/            the clients' private directories (their
                             secrets.tdb holds the joined machine account)

Stopping kills what we started by pid and process group, then every
process still inside our two namespaces (they are ours alone: we made
them) and every process started on <dir>/smb.conf, each by its pid; then
it deletes the namespaces.  The directory goes on success and stays on
failure, as harness.Server does (IPCGUARD_KEEP=1 keeps it always).
"""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import harness
from harness import Result

REALM = 'IPCG.TEST'
DOMAIN = 'IPCG'
DC_HOSTNAME = 'ipcgdc'
DC_NETBIOS = 'IPCGDC'
# Meets AD's default complexity rules (three character classes, >= 7).
ADMIN_PASSWORD = 'Ipcg-Dc-Admin-Pw1'
# The client namespace's own Samba identity: the machine account it joins.
CLIENT_NETBIOS = 'IPCGCL'
DEFAULT_IPCGUARD = {'null session pipes': 'lsarpc'}
# Where Debian's libwbclient looks for winbindd (WINBINDD_SOCKET_DIR).
WBCLIENT_SOCKET_DIR = '/run/samba/winbindd'

_instances = itertools.count()
CLIENT_ENV = dict(harness.CLIENT_ENV)


def _scaled(seconds):
    return seconds * harness.TIMEOUT_SCALE


def subnet_for(pid, n):
    """The /30 inside 10.231.0.0/16 for instance `n` of process `pid`:
    (network, dc address, client address)."""
    block = (pid * 4 + n) % (65536 // 4)
    base = (10 << 24) | (231 << 16) | (block * 4)

    def dotted(a):
        return '.'.join(str((a >> s) & 255) for s in (24, 16, 8, 0))
    return dotted(base), dotted(base + 1), dotted(base + 2)


def _run(argv, timeout=120, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True,
                       errors='replace', timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError('%s failed (rc=%d): %s%s' % (
            ' '.join(argv), r.returncode, r.stdout, r.stderr))
    return r


def _netns_inode(name):
    try:
        return os.stat('/run/netns/%s' % name).st_ino
    except FileNotFoundError:
        return None


def _proc_netns_inode(pid):
    try:
        link = os.readlink('/proc/%d/ns/net' % pid)
    except OSError:
        return None
    m = re.match(r'net:\[(\d+)\]$', link)
    return int(m.group(1)) if m else None


def _is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rindex(')') + 2:].startswith(('Z', 'X'))


# Connects to every (host, port) given on the command line until each one
# answers or the deadline passes; exit 0 when all answered.  Run inside the
# client namespace, so it proves the ports answer from outside.
_PROBE = r'''
import socket, sys, time
host, deadline = sys.argv[1], time.time() + float(sys.argv[2])
ports = [int(p) for p in sys.argv[3:]]
while ports and time.time() < deadline:
    for p in list(ports):
        try:
            socket.create_connection((host, p), 1).close()
            ports.remove(p)
        except OSError:
            pass
    if ports:
        time.sleep(0.2)
print(' '.join(map(str, ports)))
sys.exit(1 if ports else 0)
'''


# SAMR over ncacn_ip_tcp straight to a port: argv ip port user password
# domain; prints one JSON line.
# The domains and the account domain's users, on a dce bound to samr.
_SAMR_USERS = r'''
from impacket.dcerpc.v5 import samr
def samr_users(dce):
    h = samr.hSamrConnect(dce)['ServerHandle']
    doms = [d['Name'] for d in
            samr.hSamrEnumerateDomainsInSamServer(dce, h)['Buffer']['Buffer']]
    name = [d for d in doms if d.lower() != 'builtin'][0]
    sid = samr.hSamrLookupDomainInSamServer(dce, h, name)['DomainId']
    dh = samr.hSamrOpenDomain(dce, h, domainId=sid)['DomainHandle']
    users = samr.hSamrEnumerateUsersInDomain(dce, dh)['Buffer']['Buffer']
    return doms, [u['Name'] for u in users]
'''

_SAMR_OVER_TCP = _SAMR_USERS + r'''
import json, sys
from impacket.dcerpc.v5 import transport, samr, rpcrt
ip, port, user, password, domain, authn = sys.argv[1:7]
try:
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%s]' % (ip, port))
    t.set_credentials(user, password, domain)
    dce = t.get_dce_rpc()
    if authn != 'none':
        # NTLMSSP, bare or inside SPNEGO; with no user name it is the
        # anonymous logon dressed up as an authenticated one.
        dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT if authn == 'winnt'
                          else rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
        dce.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    dce.bind(samr.MSRPC_UUID_SAMR)
    doms, users = samr_users(dce)
    print(json.dumps({'ok': True, 'domains': doms, 'users': users}))
except Exception as e:
    print(json.dumps({'ok': False, 'error': str(e)}))
'''


# An anonymous caller from outside that keeps trying SAMR user
# enumeration straight to each of the given ports (no endpoint mapper, as
# one that knows the ports would), as fast as it can, until the file
# `stop` exists; prints one JSON line per answer with user names, then a
# summary.
_SAMR_HAMMER = _SAMR_USERS + r'''
import json, os, sys, time
from impacket.dcerpc.v5 import transport, samr
ip, stop = sys.argv[1], sys.argv[2]
ports = [int(p) for p in sys.argv[3:]]
tries = 0
leaks = 0
while not os.path.exists(stop):
    for port in ports:
        tries += 1
        try:
            t = transport.DCERPCTransportFactory(
                'ncacn_ip_tcp:%s[%d]' % (ip, port))
            t.set_connect_timeout(2)
            dce = t.get_dce_rpc()
            dce.connect()
            dce.bind(samr.MSRPC_UUID_SAMR)
            users = samr_users(dce)[1]
            leaks += 1
            print(json.dumps({'leak': users,
                              'port': port, 'time': time.time()}),
                  flush=True)
        except Exception:
            time.sleep(0.01)
print(json.dumps({'tries': tries, 'leaks': leaks}), flush=True)
'''


# An anonymous caller that binds samr straight to a port and connects
# (SamrConnect) once the file `start` exists, prints "connected", and
# once the file `go` exists asks for the domains on the same connection.
_HELD_SAMR = r'''
import json, os, sys, time
from impacket.dcerpc.v5 import transport, samr
ip, port, start, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
while not os.path.exists(start):
    time.sleep(0.01)
try:
    t = transport.DCERPCTransportFactory('ncacn_ip_tcp:%s[%d]' % (ip, port))
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(samr.MSRPC_UUID_SAMR)
    h = samr.hSamrConnect(dce)['ServerHandle']
except Exception as e:
    print(json.dumps({'connected': False, 'error': str(e)}), flush=True)
    sys.exit(0)
print(json.dumps({'connected': True}), flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
try:
    doms = samr.hSamrEnumerateDomainsInSamServer(dce, h)['Buffer']['Buffer']
    print(json.dumps({'answered': [d['Name'] for d in doms]}), flush=True)
except Exception as e:
    print(json.dumps({'answered': None, 'error': str(e)}), flush=True)
'''


def door_covers(spec, port):
    """Whether the door's port list ("135,49152-65535", as its log line
    and ipcguard status give it) holds port."""
    for part in spec.split(','):
        low, _, high = part.partition('-')
        if int(low) <= port <= int(high or low):
            return True
    return False


# A caller that crafts its own PDUs (impacket's classes, raw socket):
# binds samr, authenticates as the mode says, then calls samr opnum 64
# (Connect5) and reports what came back.  Modes: spnego-anonymous (SPNEGO
# around NTLMSSP, whose AUTHENTICATE in auth3 names no account), bogus-auth
# (an auth type nobody knows), none.
_RAW_SAMR = r'''
import json, socket, struct, sys
from impacket import ntlm
from impacket.dcerpc.v5 import rpcrt, samr
from impacket.dcerpc.v5.rpcrt import (MSRPCHeader, MSRPCBind, CtxItem,
                                      SEC_TRAILER, MSRPCRequestHeader)
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech
from impacket.uuid import uuidtup_to_bin
ip, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((ip, port), 10)
s.settimeout(10)
def recv_pdu():
    buf = b''
    while len(buf) < 16 or len(buf) < struct.unpack('<H', buf[8:10])[0]:
        c = s.recv(65536)
        if not c:
            raise EOFError('closed')
        buf += c
    return buf
def trailer(auth_type):
    t = SEC_TRAILER()
    t['auth_type'] = auth_type
    t['auth_level'] = rpcrt.RPC_C_AUTHN_LEVEL_CONNECT
    t['auth_ctx_id'] = 79231
    return t
out = {}
try:
    bind = MSRPCBind()
    item = CtxItem()
    item['AbstractSyntax'] = samr.MSRPC_UUID_SAMR
    item['TransferSyntax'] = uuidtup_to_bin(
        ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0'))
    item['ContextID'] = 0
    item['TransItems'] = 1
    bind.addCtxItem(item)
    pkt = MSRPCHeader()
    pkt['type'] = rpcrt.MSRPC_BIND
    pkt['pduData'] = bind.getData()
    pkt['call_id'] = 1
    t1 = ntlm.getNTLMSSPType1('', '', signingRequired=False)
    if mode == 'spnego-anonymous':
        init = SPNEGO_NegTokenInit()
        init['MechTypes'] = [TypesMech[
            'NTLMSSP - Microsoft NTLM Security Support Provider']]
        init['MechToken'] = t1.getData()
        pkt['sec_trailer'] = trailer(rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
        pkt['auth_data'] = init.getData()
    elif mode == 'bogus-auth':
        pkt['sec_trailer'] = trailer(0x77)
        pkt['auth_data'] = b'\x01' * 16
    s.sendall(pkt.get_packet())
    ack = recv_pdu()
    out['bind_answer'] = ack[2]
    if mode == 'spnego-anonymous' and ack[2] == rpcrt.MSRPC_BINDACK:
        auth_len = struct.unpack('<H', ack[10:12])[0]
        resp = SPNEGO_NegTokenResp(ack[len(ack) - auth_len:])
        t3, _ = ntlm.getNTLMSSPType3(t1, resp['ResponseToken'], '', '', '')
        r3 = SPNEGO_NegTokenResp()
        r3['ResponseToken'] = t3.getData()
        a3 = MSRPCHeader()
        a3['type'] = rpcrt.MSRPC_AUTH3
        a3['pduData'] = b'    '
        a3['call_id'] = 1
        a3['sec_trailer'] = trailer(rpcrt.RPC_C_AUTHN_GSS_NEGOTIATE)
        a3['auth_data'] = r3.getData()
        s.sendall(a3.get_packet())
    if ack[2] == rpcrt.MSRPC_BINDACK:
        req = MSRPCRequestHeader()
        req['type'] = rpcrt.MSRPC_REQUEST
        req['call_id'] = 2
        req['ctx_id'] = 0
        req['op_num'] = 64
        req['pduData'] = b'\x00' * 32
        s.sendall(req.get_packet())
        ans = recv_pdu()
        out['call_answer'] = ans[2]
        if ans[2] == rpcrt.MSRPC_FAULT:
            out['fault'] = struct.unpack('<I', ans[24:28])[0]
    elif ack[2] == rpcrt.MSRPC_FAULT:
        out['fault'] = struct.unpack('<I', ack[24:28])[0]
except Exception as e:
    out['error'] = str(e)
print(json.dumps(out))
'''


# Samba's own Python client (source4 librpc) with a machine account's
# schannel, sealed: ServerAuthenticate3 over an unauthenticated netlogon
# connection first, as every member does, then DsRGetDCNameEx2.
_SCHANNEL = r'''
import sys
from samba import param, credentials
from samba.dcerpc import netlogon, misc
ip, conf, account, password, domain, transport = sys.argv[1:7]
lp = param.LoadParm()
lp.load(conf)
c = credentials.Credentials()
c.guess(lp)
c.set_username(account + '$')
c.set_password(password)
c.set_domain(domain)
c.set_workstation(account)
c.set_secure_channel_type(misc.SEC_CHAN_WKSTA)
try:
    b = 'ncacn_ip_tcp:%s[schannel,seal]' if transport == 'tcp' else \
        'ncacn_np:%s[schannel,seal]'
    conn = netlogon.netlogon(b % ip, lp, c)
    r = conn.netr_DsRGetDCNameEx2('\\\\' + ip, None, 0, domain, None, None,
                                  0)
    print('ok', r.dc_unc)
except Exception as e:
    print('error', e)
'''


# -- what the tests and dc_results.py ask -----------------------------------

def dc_profile():
    """The DC profile of smb.conf.example, as shipped: its commented
    [global] lines, key -> value."""
    with open(os.path.join(harness.ROOT, 'smb.conf.example')) as f:
        text = f.read()
    block = text[text.index('# Profile 3: Active Directory'):]
    opts = {}
    for line in block.splitlines():
        m = re.match(r'#\t([a-z_:. ]+?) = (.*)$', line)
        if m:
            opts[m.group(1)] = m.group(2)
    return opts


def dc_profile_kwargs(door=True):
    """DC() arguments for the DC profile; door False leaves the TCP door
    out (what a DC without it answers)."""
    profile = dc_profile()
    ipcguard = {k[len('ipcguard:'):]: v for k, v in profile.items()
                if k.startswith('ipcguard:')}
    if not door:
        ipcguard.pop('tcp door port')
    extra = ['%s = %s' % (k, v) for k, v in profile.items()
             if ':' not in k and k != 'vfs objects']
    return {'ipcguard': ipcguard, 'extra_global': extra}


def outcome(r):
    """What an rpcclient run got, in words that do not depend on the
    transport: refused (access denied, at the bind or the call) or
    answered (the call's own output)."""
    if 'NT_STATUS_ACCESS_DENIED' in r.out or 'WERR_ACCESS_DENIED' in r.out:
        return 'refused'
    if r.rc == 0 and 'NT_STATUS' not in r.out:
        return 'answered'
    return 'other: %s' % r.out.strip()[:200]


# What an anonymous caller gets with the DC profile, over SMB and over TCP
# alike: no user, group or policy data; netlogon, the domain's name and
# the endpoint mapper, which members and clients need before they log on.
# (lsaquery is left out: over TCP Samba's LSA refuses it to everyone.)
SAME_ANSWERS = [
    ('samr', 'enumdomusers', 'refused'),
    ('samr', 'querydispinfo', 'refused'),
    ('samr', 'enumdomgroups', 'refused'),
    ('samr', 'getdompwinfo', 'refused'),
    ('samr', 'queryuser 500', 'refused'),
    ('samr', 'samlookupnames domain Administrator', 'refused'),
    ('lsarpc', 'lookupnames Administrator', 'refused'),
    ('lsarpc', 'lookupsids S-1-5-32-544', 'refused'),
    ('drsuapi', 'dsgetdcinfo %s' % DOMAIN, 'refused'),
    ('netlogon', 'getdcname %s' % DOMAIN, 'answered'),
    ('netlogon', 'dsr_getdcname %s' % DOMAIN, 'answered'),
    ('dssetup', 'dsroledominfo', 'answered'),
    ('epmapper', 'epmlookup', 'answered'),
]



class DC(harness.Instance):
    """One provisioned Samba AD DC with the ipcguard module and gate, in
    its own network namespace, and a client namespace beside it.  Use as
    a context manager (or start()/close()).

    ipcguard: the `ipcguard:<k> = <v>` lines of the DC's [global]
    (default: null session pipes = lsarpc); gate: run ipcguardd at
    external_rpc_pipe:socket_dir; vfs: load the module (vfs objects =
    dfs_samba4 acl_xattr ipcguard, through the overlay); extra_global:
    more [global] lines, after ours.

    Attributes for tests: ip (the DC's veth address), client_ip,
    network (the /30), dc_ns, client_ns, conf (<dir>/smb.conf),
    client_conf, admin_password, dir, gate_proc, samba, timings."""

    def __init__(self, ipcguard=None, gate=True, extra_global=None,
                 vfs=True):
        self.n = next(_instances)
        pid = os.getpid()
        self.dc_ns = 'ipcg-dc-%d-%d' % (pid, self.n)
        self.client_ns = 'ipcg-cl-%d-%d' % (pid, self.n)
        self.network, self.ip, self.client_ip = subnet_for(pid, self.n)
        self.dir = tempfile.mkdtemp(prefix='ipcguard-dc-')
        os.chmod(self.dir, 0o755)
        # conftest's check for leftover processes looks for <dir>/smb.conf
        # on command lines: every process of the DC is started on it.
        harness.CREATED_DIRS.append(self.dir)
        self.conf = os.path.join(self.dir, 'smb.conf')
        self.base_conf = os.path.join(self.dir, 'ad', 'etc', 'smb.conf')
        self.client_conf = os.path.join(self.dir, 'client.conf')
        self.gate_dir = os.path.join(self.dir, 'gate')
        self.winbindd_dir = os.path.join(self.dir, 'winbindd')
        self.admin_password = ADMIN_PASSWORD
        self.ipcguard = dict(DEFAULT_IPCGUARD if ipcguard is None
                             else ipcguard)
        self.use_gate = gate
        self.vfs = vfs
        self.extra_global = list(extra_global or [])
        self.procs = []
        self.gate_proc = None
        self.samba = None
        self.namespaces = []
        self.machine_joined = False
        # Set by a test (or the fixture) that failed: keep the directory.
        self.failed = False
        self.timings = {}
        for sub in ('pid', 'ncalrpc', 'log', 'winbindd', 'ad', 'client',
                    'client/lock', 'client/state', 'client/cache',
                    'client/private', 'client/pid', 'client/ncalrpc'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)

    # -- topology ---------------------------------------------------------

    def _ns(self, ns, argv):
        return ['ip', 'netns', 'exec', ns] + list(argv)

    def in_dc(self, argv):
        """argv as run inside the DC's namespace."""
        return self._ns(self.dc_ns, argv)

    def in_client(self, argv):
        """argv as run inside the client namespace."""
        return self._ns(self.client_ns, argv)

    def private_run(self):
        """The command prefix that gives what follows a /run of its own
        (an empty tmpfs, in a mount namespace of its own) with our
        winbindd socket directory at /run/samba/winbindd.

        libwbclient, in wbinfo and in every Samba process that asks
        winbindd (smbd mapping SIDs to ids), knows one place only, the
        compiled-in WINBINDD_SOCKET_DIR (it reads
        SELFTEST_WINBINDD_SOCKET_DIR only under nss_wrapper), and
        "winbindd socket directory" moves only winbindd's end.  So the
        DC's processes and wbinfo see our directory there, and none of
        them sees the host's /run/samba or /run/dbus (avahi)."""
        return ['unshare', '--mount', '--propagation', 'private', '--',
                'sh', '-c', 'mount -t tmpfs -o mode=0755 ipcguard-run /run'
                ' && mkdir -p "$2" && mount --bind "$1" "$2" && shift 2 &&'
                ' exec "$@"', 'sh', self.winbindd_dir, WBCLIENT_SOCKET_DIR]

    def client_mounts(self):
        """The command prefix that shows a client our hosts file as
        /etc/hosts, in a mount namespace of its own: the DC's DNS name is
        known there and nowhere else."""
        return ['unshare', '--mount', '--propagation', 'private', '--',
                'sh', '-c', 'mount --bind "$1" /etc/hosts && shift && '
                'exec "$@"', 'sh', os.path.join(self.dir, 'client', 'hosts')]

    def make_topology(self):
        for ns in (self.dc_ns, self.client_ns):
            _run(['ip', 'netns', 'add', ns])
            self.namespaces.append(ns)
        # Both ends are created directly inside their namespaces: the
        # host's namespace never sees them, so their names cannot clash.
        _run(['ip', 'link', 'add', 'ipcg-dc', 'netns', self.dc_ns,
              'type', 'veth', 'peer', 'name', 'ipcg-cl',
              'netns', self.client_ns])
        for ns, dev, addr in ((self.dc_ns, 'ipcg-dc', self.ip),
                              (self.client_ns, 'ipcg-cl', self.client_ip)):
            _run(['ip', '-n', ns, 'addr', 'add', addr + '/30', 'dev', dev])
            _run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
            _run(['ip', '-n', ns, 'link', 'set', dev, 'up'])

    # -- provisioning and configuration ----------------------------------

    def provision(self):
        d = self.dir
        # Where the provisioned configuration records our directories.
        options = self.place_options()
        # samba-tool starts from the configuration it is given: without
        # -s that is /etc/samba/smb.conf, whose settings and shares
        # ([homes], [printers], ...) would end up in ours.
        seed = os.path.join(d, 'ad', 'seed.conf')
        open(seed, 'w').close()
        argv = ['samba-tool', 'domain', 'provision', '--server-role=dc',
                '--dns-backend=NONE', '--use-rfc2307',
                '--realm=%s' % REALM, '--domain=%s' % DOMAIN,
                '--host-name=%s' % DC_HOSTNAME, '--host-ip=%s' % self.ip,
                '--adminpass=%s' % self.admin_password,
                '--targetdir=%s/ad' % d, '-s', seed]
        argv += ['--option=%s' % o for o in options]
        t0 = time.time()
        r = _run(self.in_dc(argv), timeout=_scaled(600), check=False)
        self.timings['provision'] = time.time() - t0
        with open(os.path.join(d, 'log', 'provision.log'), 'w') as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise RuntimeError('provision failed (rc=%d): %s%s' % (
                r.returncode, r.stdout, r.stderr))
        self.write_conf()
        self.write_client_conf()

    def place_options(self):
        """Where this DC listens and keeps its files."""
        d = self.dir
        return [
            'interfaces = lo %s/30' % self.ip,
            'bind interfaces only = yes',
            'pid directory = %s/pid' % d,
            'ncalrpc dir = %s/ncalrpc' % d,
            'winbindd socket directory = %s' % self.winbindd_dir,
            'ntp signd socket directory = %s/ad/ntp_signd' % d,
            'log file = %s/log/%%m.log' % d,
        ]

    def runtime_options(self):
        """[global] lines of ours, after the provisioned ones (a later
        line wins).  samba-tool keeps only some of the --option values it
        is given, so everything that matters at run time is here."""
        lines = self.place_options() + [
            'max log size = 0',
            # auth_audit:3: who each bind and session authenticated as,
            # with its transport and addresses.
            'log level = 1 ipcguard:5 auth_audit:3',
            'disable netbios = yes',
            'smb ports = 445',
            # No DNS server, no DNS updates, no NetBIOS, no NTP signing:
            # nothing the tests use, and nothing that looks outside.
            'server services = s3fs rpc ldap cldap kdc drepl winbindd kcc',
            'multicast dns register = no',
            # No TLS keys to generate at the first start.
            'tls enabled = no',
            'load printers = no',
            'printing = bsd',
            'printcap name = /dev/null',
            'disable spoolss = yes',
            'usershare max shares = 0',
            'vfs objects = dfs_samba4 acl_xattr%s' % (
                ' ipcguard' if self.vfs else ''),
        ]
        if self.use_gate:
            lines.append('external_rpc_pipe:socket_dir = %s' %
                         self.gate_dir)
        if harness.TIMEOUT_SCALE != 1:
            lines.append('ipcguard:gate probe timeout = %d' %
                         int(2000 * harness.TIMEOUT_SCALE * 2))
        for k, v in self.ipcguard.items():
            lines.append('ipcguard:%s = %s' % (k, v))
        return lines + self.extra_global

    def write_conf(self):
        """<dir>/smb.conf: the provisioned configuration with our lines
        at the end of its [global] section."""
        with open(self.base_conf) as f:
            base = f.read().splitlines()
        ours = ['\t' + line for line in self.runtime_options()]
        lines = []
        in_global = False
        placed = False
        for line in base:
            m = re.match(r'\s*\[([^]]+)\]', line)
            if m:
                if in_global and not placed:
                    lines += ours + ['']
                    placed = True
                in_global = m.group(1).strip().lower() in ('global',
                                                           'globals')
            lines.append(line)
        if not placed:
            if not in_global:
                lines.append('[global]')
            lines += ours
        # Whole or not at all, as Server.write_conf.
        tmp = self.conf + '.new'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.rename(tmp, self.conf)

    def write_client_conf(self):
        c = os.path.join(self.dir, 'client')
        lines = [
            '[global]',
            'netbios name = %s' % CLIENT_NETBIOS,
            'workgroup = %s' % DOMAIN,
            'realm = %s' % REALM,
            'security = ads',
            'client min protocol = SMB2_02',
            'client use kerberos = off',
            'disable netbios = yes',
            'name resolve order = host',
            'lock directory = %s/lock' % c,
            'state directory = %s/state' % c,
            'cache directory = %s/cache' % c,
            'private dir = %s/private' % c,
            'pid directory = %s/pid' % c,
            'ncalrpc dir = %s/ncalrpc' % c,
            'winbindd socket directory = %s/winbindd' % c,
            'log level = 1',
        ]
        with open(self.client_conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        # The DC's DNS name, which a join looks up after its CLDAP ping
        # (there is no DNS server); see client_mounts().
        with open(os.path.join(c, 'hosts'), 'w') as f:
            f.write('127.0.0.1\tlocalhost\n%s\t%s.%s %s\n' % (
                self.ip, DC_HOSTNAME, REALM.lower(), DC_HOSTNAME))
        # Should any client tool try Kerberos after all, it finds our KDC
        # and no other.
        with open(os.path.join(c, 'krb5.conf'), 'w') as f:
            f.write('[libdefaults]\n\tdefault_realm = %s\n'
                    '\tdns_lookup_realm = false\n\tdns_lookup_kdc = false\n'
                    '[realms]\n\t%s = {\n\t\tkdc = %s\n\t}\n' %
                    (REALM, REALM, self.ip))

    # -- processes --------------------------------------------------------

    def _dc_env(self):
        env = dict(os.environ)
        env['KRB5_CONFIG'] = os.path.join(self.dir, 'ad', 'private',
                                          'krb5.conf')
        return env

    def start(self):
        t0 = time.time()
        try:
            self.make_topology()
            self.provision()
            t1 = time.time()
            if self.use_gate:
                self.start_gate()
            self.start_samba()
            self.timings['start'] = time.time() - t1
        except BaseException:
            self.failed = True
            self.stop()
            raise
        self.timings['total start'] = time.time() - t0
        return self

    def start_gate(self, wait=True):
        ctl = os.path.join(self.gate_dir, 'ipcguardd.sock')
        if os.path.exists(ctl):
            os.unlink(ctl)
        wrapper = os.environ.get('IPCGUARD_GATE_WRAPPER', '')
        wrapper = wrapper.replace('%d', os.path.join(self.dir, 'log')).split()
        self.gate_proc = self._spawn(self.in_dc(
            self.private_run() + wrapper +
            [harness.GATE, '--foreground', '--no-process-group',
             '--debug-stdout', '-s', self.conf]),
            'ipcguardd.log',
            env=harness.sanitizer_env() if harness.SANITIZED_GATE else None)
        if not wait:
            return self.gate_proc
        return harness.wait_gate(self.gate_proc, ctl, bool(wrapper),
                                 lambda: self.read('ipcguardd.log'))

    def stop_gate(self):
        if self.gate_proc is not None:
            self._kill(self.gate_proc)
            self.procs.remove(self.gate_proc)
            self.gate_proc = None

    def start_samba(self):
        # ip netns exec execs (same pid) in a mount namespace of its own;
        # private_run()'s unshare makes one more inside it (our /run),
        # module_overlay()'s a third (build/ipcguard.so over MODULESDIR),
        # each execs the next, the last execs samba: the pid we hold is
        # samba's.  smbd and winbindd, which samba starts, inherit all.
        overlay = harness.module_overlay(self.dir) if self.vfs else []
        self.samba = self._spawn(self.in_dc(
            self.private_run() + overlay +
            ['samba', '--foreground', '--no-process-group', '-M',
             'standard', '-s', self.conf]),
            'samba.stdout', env=self._dc_env())
        # Samba itself listens (with a TCP door in front, a connection
        # from outside to 135 is the gate's, even before Samba is up) ...
        deadline = time.time() + _scaled(120)
        while True:
            have = {(a, p, proc.split('[')[0]) for a, p, proc in
                    self.listening()}
            if {(self.ip, 445, 'smbd'), (self.ip, 135, 'rpc')} <= have:
                break
            if self.samba.poll() is not None:
                raise RuntimeError('samba exited (rc=%s): %s' % (
                    self.samba.returncode, self.logs()[-20000:]))
            if time.time() > deadline:
                raise RuntimeError('samba never listened on %s:445 and '
                                   '135: %s' % (self.ip, sorted(have)))
            time.sleep(0.2)
        # ... and both ports answer from the client namespace.
        r = _run(self.in_client(
            [sys.executable, '-c', _PROBE, self.ip, str(_scaled(30)), '445',
             '135']), timeout=_scaled(60), check=False)
        if r.returncode != 0:
            raise RuntimeError('ports %s never answered on %s from %s' % (
                r.stdout.strip(), self.ip, self.client_ns))
        # winbindd answers a little after smbd listens.
        deadline = time.time() + _scaled(60)
        while True:
            r = self.wbinfo('-p')
            if r.rc == 0:
                break
            if time.time() > deadline:
                raise RuntimeError('winbindd never answered: %r' % r)
            time.sleep(0.2)
        return self.samba

    @staticmethod
    def _kill(p):
        harness.Server._kill(p)

    def _our_pids(self):
        """Pids of every live process in our namespaces or started on
        our smb.conf (the DC's process groups are gone by then; smbd,
        winbindd and samba-dcerpcd start sessions of their own)."""
        inodes = set(filter(None, (_netns_inode(ns)
                                   for ns in self.namespaces)))
        confs = [self.conf.encode()]
        me = os.getpid()
        pids = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit() or int(entry) == me:
                continue
            pid = int(entry)
            ours = _proc_netns_inode(pid) in inodes
            if not ours:
                try:
                    with open('/proc/%d/cmdline' % pid, 'rb') as f:
                        cmd = f.read().replace(b'\0', b' ')
                except OSError:
                    continue
                ours = any(c in cmd for c in confs)
            if ours and not _is_zombie(pid):
                pids.append(pid)
        return pids

    def stop(self):
        problems = []
        for p in reversed(self.procs):
            try:
                self._kill(p)
            except Exception as e:          # go on with the rest
                problems.append('kill %d: %s' % (p.pid, e))
        self.procs = []
        self.gate_proc = None
        self.samba = None
        if harness.SANITIZED_GATE and os.path.exists(self.dir):
            self.collect_sanitizer_output()
        left = harness.stop_pids(self._our_pids)
        if left:
            problems.append('could not stop %s' % left)
        for ns in reversed(self.namespaces):
            r = _run(['ip', 'netns', 'del', ns], check=False)
            if r.returncode != 0:
                problems.append('ip netns del %s: %s' % (ns, r.stderr))
        self.namespaces = []
        if problems:
            self.failed = True
            raise RuntimeError('; '.join(problems))

    def close(self, failed=False):
        """Stop; remove the directory unless this or a test failed."""
        try:
            self.stop()
        finally:
            if not (failed or self.failed or
                    os.environ.get('IPCGUARD_KEEP')):
                shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def samba_version():
        return subprocess.run(['samba', '-V'], capture_output=True,
                              text=True).stdout.strip().replace(
                                  'Version ', '')

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close(failed=exc[0] is not None)
        return False

    # -- clients ----------------------------------------------------------

    def _client_env(self):
        env = dict(CLIENT_ENV)
        env['KRB5_CONFIG'] = os.path.join(self.dir, 'client', 'krb5.conf')
        return env

    def _auth(self, who):
        if who == 'anonymous':
            return ['-U%', '-N']
        if who == 'admin':
            return ['-U%s\\Administrator%%%s' % (DOMAIN,
                                                 self.admin_password)]
        if who == 'machine':
            self.join_machine()
            return ['-P']
        raise ValueError(who)

    def binding(self, transport='smb', flags=None):
        """rpcclient's binding string for the DC's veth address.  (A
        port in it, ncacn_ip_tcp:ip[port,...], is ignored by rpcclient
        4.17, which always asks the endpoint mapper on 135: see
        samr_over_tcp() for a caller that goes straight to a port.)"""
        if transport == 'smb':
            b = 'ncacn_np:%s' % self.ip
        elif transport == 'tcp':
            b = 'ncacn_ip_tcp:%s' % self.ip
        else:
            raise ValueError(transport)
        return b + ('[%s]' % ','.join(flags) if flags else '')

    # The binding flags rpcclient gets unless a caller names its own.
    # Over ncacn_ip_tcp rpcclient binds with no authentication at all
    # unless the binding asks for sign or seal: "admin" without them is
    # an anonymous caller (the DC's auth_audit log shows no Auth line).
    # Schannel over ncacn_ip_tcp crashes rpcclient 4.17 (SIGSEGV: its
    # schannel path wants an SMB connection), so the machine account
    # uses NTLMSSP there and schannel over SMB.
    DEFAULT_FLAGS = {
        ('anonymous', 'smb'): [], ('anonymous', 'tcp'): [],
        ('admin', 'smb'): [], ('admin', 'tcp'): ['seal'],
        ('machine', 'smb'): ['schannel', 'seal'],
        ('machine', 'tcp'): ['seal'],
    }

    def rpcclient(self, who, cmd, transport='smb', flags=None, timeout=60,
                  extra=None):
        """rpcclient from the client namespace to the DC's veth address.
        who: anonymous, admin (IPCG\\Administrator) or machine (the
        joined client's account, rpcclient -P; joins on first use).
        transport: smb (ncacn_np over SMB) or tcp (ncacn_ip_tcp, through
        the DC's endpoint mapper on port 135).  flags: binding options
        (sign, seal, schannel, connect, ...), DEFAULT_FLAGS if None."""
        if flags is None:
            flags = self.DEFAULT_FLAGS[(who, transport)]
        argv = ['rpcclient', '-s', self.client_conf] + self._auth(who)
        argv += list(extra or [])
        argv += ['-c', cmd, self.binding(transport, flags)]
        return self._client(argv, timeout)

    def samr_over_tcp(self, who, port, authn=None, timeout=60):
        """What rpcclient cannot do: SAMR over ncacn_ip_tcp straight to
        `port` (see tcp_endpoint()), without the endpoint mapper, as a
        caller that knows the port would.  impacket, in the client
        namespace; who: anonymous (no account) or admin.  authn: none
        (no authentication), winnt (NTLMSSP) or negotiate (SPNEGO), at
        packet privacy; by default none for anonymous, winnt for admin.
        Connect, enumerate domains, open the account domain, enumerate
        its users.  Returns a dict: ok, users, or error (impacket's
        message, e.g. rpc_s_access_denied)."""
        if who == 'anonymous':
            cred = ['', '', '']
        elif who == 'admin':
            cred = ['Administrator', self.admin_password, DOMAIN]
        else:
            raise ValueError(who)
        if authn is None:
            authn = 'none' if who == 'anonymous' else 'winnt'
        r = self._client([sys.executable, '-c', _SAMR_OVER_TCP, self.ip,
                          str(port)] + cred + [authn], timeout)
        try:
            return json.loads(r.out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError('samr over tcp: %r' % r)

    def schannel(self, account, password, transport, timeout=60):
        """A machine account's sealed schannel to netlogon from the client
        namespace, with Samba's own client (see _SCHANNEL): over tcp
        through the endpoint mapper, or over smb.  'ok \\\\DC' or
        'error ...'."""
        return self._client(['/usr/bin/python3', '-c', _SCHANNEL, self.ip,
                             self.client_conf, account, password, DOMAIN,
                             transport], timeout)

    def raw_samr_over_tcp(self, port, mode, timeout=60):
        """A crafted bind, authentication and samr call straight to
        `port` from the client namespace (see _RAW_SAMR): a dict with
        bind_answer, call_answer (PDU types), fault (status) or error."""
        r = self._client([sys.executable, '-c', _RAW_SAMR, self.ip,
                          str(port), mode], timeout)
        try:
            return json.loads(r.out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError('raw samr over tcp: %r' % r)

    def smbclient(self, who, share, cmd='ls', timeout=60, extra=None):
        argv = ['smbclient', '-s', self.client_conf] + self._auth(who)
        argv += list(extra or [])
        argv += ['//%s/%s' % (self.ip, share), '-c', cmd]
        return self._client(argv, timeout)

    def net(self, args, timeout=120):
        return self._client(['net', '-s', self.client_conf] + list(args),
                            timeout)

    def _client(self, argv, timeout):
        return Result(subprocess.run(
            self.in_client(self.client_mounts() + argv),
            capture_output=True, text=True, errors='replace',
            timeout=timeout, env=self._client_env()))

    def samr_hammer(self, ports):
        """_SAMR_HAMMER in the client namespace against ports, running
        (a Popen) until stop_hammer()."""
        self.hammer_stop = os.path.join(self.dir, 'client', 'hammer-stop')
        if os.path.exists(self.hammer_stop):
            os.unlink(self.hammer_stop)
        return subprocess.Popen(
            self.in_client(self.client_mounts() + [
                sys.executable, '-c', _SAMR_HAMMER, self.ip,
                self.hammer_stop] + [str(p) for p in ports]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self._client_env())

    def held_samr(self, port):
        """_HELD_SAMR in the client namespace: (Popen, start file, go
        file); read its lines with proc.stdout.readline()."""
        start = os.path.join(self.dir, 'client', 'held-start')
        go = os.path.join(self.dir, 'client', 'held-go')
        for f in (start, go):
            if os.path.exists(f):
                os.unlink(f)
        proc = subprocess.Popen(
            self.in_client(self.client_mounts() + [
                sys.executable, '-c', _HELD_SAMR, self.ip, str(port),
                start, go]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=self._client_env())
        return proc, start, go

    def stop_hammer(self, proc, timeout=60):
        """The hammer's lines: its leaks, then its summary."""
        open(self.hammer_stop, 'w').close()
        out, _ = proc.communicate(timeout=timeout)
        return [json.loads(line) for line in out.splitlines()
                if line.startswith('{')]

    def restart_samba(self):
        """Stop samba and every process it started (the gate stays), then
        start it again, as systemctl restart samba-ad-dc would."""
        gate = self.gate_proc.pid if self.gate_proc is not None else None
        dc = _netns_inode(self.dc_ns)

        def samba_pids():
            return [pid for pid in self._our_pids()
                    if pid != gate and _proc_netns_inode(pid) == dc and
                    not self._descends_from(pid, gate)]
        self._kill(self.samba)
        self.procs.remove(self.samba)
        left = harness.stop_pids(samba_pids)
        if left:
            raise RuntimeError('samba left %s running' % left)
        return self.start_samba()

    @staticmethod
    def _descends_from(pid, ancestor):
        while ancestor is not None and pid > 1:
            if pid == ancestor:
                return True
            try:
                with open('/proc/%d/stat' % pid) as f:
                    pid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        return False

    def join_machine(self):
        """Join the client namespace's Samba identity (CLIENT_NETBIOS) to
        the domain with `net ads join` as Administrator (NTLM over LDAP,
        then SAMR over SMB): the DC gets the computer account, the
        client's secrets.tdb its password, which rpcclient -P uses (and
        schannel).  Once per DC.

        `net rpc join` cannot: it pings the DC over CLDAP with the NetBIOS
        domain name, which Samba's CLDAP server does not answer ("failed
        to find DC for domain IPCG").  net ads join pings with the realm,
        then looks the DC's DNS name up: hence the hosts file."""
        if self.machine_joined:
            return
        r = self.net(['ads', 'join', '--no-dns-updates',
                      '-U', '%s\\Administrator%%%s' % (
                          DOMAIN, self.admin_password), '-S', self.ip])
        if r.rc != 0 or "Joined '%s'" % CLIENT_NETBIOS not in r.out:
            raise RuntimeError('net ads join failed: %r' % r)
        self.machine_joined = True

    def in_client_run(self, argv, timeout=60):
        """Any command in the client namespace."""
        return self._client(list(argv), timeout)

    # -- on the DC --------------------------------------------------------

    def in_dc_run(self, argv, timeout=60, input=None):
        """Any command in the DC's network namespace."""
        return Result(subprocess.run(
            self.in_dc(list(argv)), capture_output=True, text=True,
            errors='replace', timeout=timeout, env=CLIENT_ENV,
            input=input))

    def listening(self):
        """(address, port, process) of every TCP socket listening in
        the DC's namespace."""
        r = self.in_dc_run(['ss', '-ltnpH'])
        found = []
        for line in r.out.splitlines():
            f = line.split()
            if len(f) < 4:
                continue
            addr, port = f[3].rsplit(':', 1)
            m = re.search(r'users:\(\("([^"]+)"', line)
            found.append((addr.strip('[]').split('%')[0], int(port),
                          m.group(1) if m else ''))
        return found

    def pids_of(self, program):
        """Pids of the DC's processes running `program` (e.g. smbd,
        winbindd) on our smb.conf."""
        return sorted(pid for pid, args in harness.processes()
                      if os.path.basename(args[0]) == program.encode() and
                      any(self.conf.encode() in a for a in args))

    def tcp_endpoint(self, interface):
        """The ncacn_ip_tcp port of the DC's RPC server that serves
        `interface` (e.g. samr), as its endpoint mapper says when asked
        from inside the DC's namespace: connections made there are never
        redirected by a packet filter on prerouting (a TCP door)."""
        r = self.in_dc_run(['rpcclient', '-s', self.client_conf, '-U%',
                            '-N', '-c', 'epmlookup',
                            'ncacn_ip_tcp:%s' % self.ip])
        m = re.search(r'ncacn_ip_tcp:[^\[\s]*\[(\d+),[^\]]*\]: %s$' %
                      re.escape(interface), r.out, re.M)
        if not m:
            raise RuntimeError('no ncacn_ip_tcp endpoint for %s: %r' % (
                interface, r))
        return int(m.group(1))

    @staticmethod
    def retry(call, ok, timeout=10):
        """call() until ok(result) or the timeout; the last result."""
        deadline = time.time() + _scaled(timeout)
        while True:
            r = call()
            if ok(r) or time.time() > deadline:
                return r
            time.sleep(0.2)

    def wbinfo(self, *args, timeout=60):
        """wbinfo against the DC's winbindd, through the same private
        /run as the DC's own processes (see private_run())."""
        return Result(subprocess.run(
            self.in_dc(self.private_run() + ['wbinfo'] + list(args)),
            capture_output=True, text=True, errors='replace',
            timeout=timeout, env=CLIENT_ENV))

    def smbcontrol(self, dest, *args):
        return Result(subprocess.run(
            self.in_dc(['smbcontrol', '-s', self.conf, dest] + list(args)),
            capture_output=True, text=True, errors='replace', timeout=30,
            env=CLIENT_ENV))

    def samba_tool(self, *args, timeout=120, modules=False):
        """samba-tool on the DC's own database (no network).  modules:
        as the DC's own processes see MODULESDIR and /run (the freshly
        built module, our winbindd), for commands that load the shares'
        VFS modules (samba-tool ntacl)."""
        prefix = self.private_run() + harness.module_overlay(self.dir) \
            if modules and self.vfs else []
        return Result(subprocess.run(
            self.in_dc(prefix + ['samba-tool'] + list(args) +
                       ['-s', self.conf]),
            capture_output=True, text=True, errors='replace',
            timeout=timeout, env=dict(CLIENT_ENV)))

    def samba_tool_from_client(self, *args, timeout=120):
        """samba-tool in the client namespace, against the DC over the
        network (its client smb.conf, hosts file and krb5.conf)."""
        return self._client(['samba-tool'] + list(args) +
                            ['-s', self.client_conf], timeout)

    def tool(self, *args, timeout=60):
        """The ipcguard admin tool on the DC's smb.conf, in the DC's
        namespace."""
        tool = '/usr/sbin/ipcguard' if harness.INSTALLED else \
            os.path.join(harness.BUILD, 'ipcguard')
        return Result(subprocess.run(
            self.in_dc(self.private_run() + [tool, '-s', self.conf] +
                       list(args)),
            capture_output=True, text=True, errors='replace',
            timeout=timeout, env=CLIENT_ENV))

    # -- logs -------------------------------------------------------------

    def logs(self):
        out = ''
        for name in sorted(os.listdir(os.path.join(self.dir, 'log'))):
            if name != 'provision.log':
                out += self.read(name)
        return out
