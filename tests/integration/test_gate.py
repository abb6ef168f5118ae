"""Issue 3: ipcguardd between Debian's smbd and samba-dcerpcd."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from impacket.dcerpc.v5 import transport, srvs, lsat
from impacket import smb
from impacket.smbconnection import SMBConnection

import harness
from harness import Server

PIPE_COMMANDS = {
    'samr': 'enumdomains',
    'lsarpc': 'lsaquery',
    'netlogon': 'logonctrl',
    'spoolss': 'enumprinters',
    'wkssvc': 'wkssvc_wkstagetinfo',
    'srvsvc': 'srvinfo',
    'winreg': 'winreg_enumkey HKLM',
    'epmapper': 'epmlookup',
}
HALF_A = ['samr', 'lsarpc', 'netlogon', 'spoolss']
HALF_B = ['wkssvc', 'srvsvc', 'winreg', 'epmapper']


def got_through(r, pipe):
    return ('Could not initialise' not in r.out and
            'Cannot connect' not in r.out and
            'NT_STATUS_CONNECTION' not in r.out)


def gate_refused(r, pipe):
    return ('Could not initialise %s. Error was NT_STATUS_ACCESS_DENIED' %
            pipe) in r.out


@pytest.mark.parametrize('proto', ['NT1', 'SMB3'])
@pytest.mark.parametrize('listed', [HALF_A, HALF_B],
                         ids=['listA', 'listB'])
def test_each_pipe_listed_and_unlisted(proto, listed):
    opts = {'null session pipes': ' '.join(listed),
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts,
                role='classic primary domain controller') as s:
        for pipe, cmd in PIPE_COMMANDS.items():
            anon = s.rpcclient('anonymous', cmd, proto=proto)
            if pipe in listed:
                assert got_through(anon, pipe), (pipe, anon)
            else:
                assert gate_refused(anon, pipe), (pipe, anon)
                s.wait_log(r"refused pipe '%s' to anonymous session "
                           r"\(user '', client 127\.0\.0\.1, sids S-1-5-7"
                           r".*rule null-session-pipes" % pipe)
            user = s.rpcclient('user', cmd, proto=proto)
            assert got_through(user, pipe), (pipe, user)


def smb_session(s, who, proto='SMB3'):
    """An impacket session as anonymous, guest (an unknown user, mapped
    to guest), admin or the test user, over SMB3 or SMB1 (NT1)."""
    dialect = smb.SMB_DIALECT if proto == 'NT1' else None
    conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=s.port,
                         timeout=20, preferredDialect=dialect)
    if who == 'anonymous':
        conn.login('', '')
    elif who == 'guest':
        conn.login('nosuchuser', 'whatever')
    elif who == 'admin':
        conn.login(harness.ADMIN_USER, harness.ADMIN_PASSWORD)
    else:
        conn.login(harness.TEST_USER, harness.TEST_PASSWORD)
    return conn


def bind_pipe(s, who, pipe, uuid):
    """A pipe opened and bound to uuid by who's own session."""
    conn = smb_session(s, who)
    t = transport.SMBTransport('127.0.0.1', s.port, filename=pipe,
                               smb_connection=conn)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(uuid)
    return dce


def test_pipe_names_in_any_case():
    opts = {'null session pipes': 'LsaRpc'}
    with Server(ipcguard=opts) as s:
        for name in ('\\lsarpc', '\\LSARPC', '\\lSaRpC'):
            dce = bind_pipe(s, 'anonymous', name, lsat.MSRPC_UUID_LSAT)
            dce.disconnect()
        for name in ('\\srvsvc', '\\SRVSVC', '\\SrvSvc'):
            with pytest.raises(Exception) as e:
                bind_pipe(s, 'anonymous', name, srvs.MSRPC_UUID_SRVS)
            assert 'rpc_s_access_denied' in str(e.value), e.value
        dce = bind_pipe(s, 'user', '\\SrVsVc', srvs.MSRPC_UUID_SRVS)
        r = srvs.hNetrServerGetInfo(dce, 101)
        assert r['InfoStruct']['ServerInfo101']['sv101_name'] == 'IPCGTEST\x00'


def test_refused_client_gets_access_denied_whatever_it_sends_first():
    """A raw request without a bind, and an alter context, are answered
    with the access-denied fault too."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        conn = smb_session(s, 'anonymous')
        tid = conn.connectTree('IPC$')
        fid = conn.openFile(tid, '\\srvsvc')
        # A request PDU (ptype 0) for opnum 21 on context 0, never bound.
        from impacket.dcerpc.v5.rpcrt import MSRPCRequestHeader
        req = MSRPCRequestHeader()
        req['type'] = 0
        req['flags'] = 3
        req['call_id'] = 7
        req['ctx_id'] = 0
        req['op_num'] = 21
        req['pduData'] = b'\0' * 16
        conn.writeFile(tid, fid, req.getData())
        answer = conn.readFile(tid, fid, 0, 4280)
        assert answer[2] == 3, answer        # FAULT
        assert answer[12:16] == (7).to_bytes(4, 'little')
        assert int.from_bytes(answer[24:28], 'little') == 5, answer
        # An alter context (ptype 14) on the same pipe.
        alter = bytearray(req.getData())
        alter[2] = 14
        alter[12:16] = (8).to_bytes(4, 'little')
        conn.writeFile(tid, fid, bytes(alter))
        answer = conn.readFile(tid, fid, 0, 4280)
        assert answer[2] == 3 and answer[12:16] == (8).to_bytes(4, 'little')
        conn.close()


@pytest.mark.parametrize('eia', ['no', 'yes'])
def test_everyone_composition_changes_an_rpc_answer(eia):
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': eia}
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('anonymous', 'lsaquery')
        assert got_through(r, 'lsarpc'), r
        if eia == 'no':
            # The LSA policy handle is granted to Everyone: without it in
            # the token, lsa_OpenPolicy is refused by the RPC server.
            assert 'result was NT_STATUS_ACCESS_DENIED' in r.out, r
        else:
            assert 'Domain Name: IPCGTEST' in r.out, r
        # Authenticated tokens pass unchanged.
        r = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in r.out, r


def test_guest_token_follows_the_guest_choice():
    opts = {'null session pipes': 'lsarpc', 'guest is anonymous': 'no'}
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('guest', 'srvinfo')
        assert got_through(r, 'srvsvc'), r
    opts = {'null session pipes': 'lsarpc'}
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('guest', 'srvinfo')
        assert gate_refused(r, 'srvsvc'), r


def test_gate_killed_mid_session_then_restarted():
    opts = {'null session pipes': 'lsarpc srvsvc'}
    with Server(ipcguard=opts) as s:
        dce = bind_pipe(s, 'user', '\\srvsvc', srvs.MSRPC_UUID_SRVS)
        srvs.hNetrServerGetInfo(dce, 101)
        s.stop_gate()
        with pytest.raises(Exception):
            srvs.hNetrServerGetInfo(dce, 101)
        # New opens fail for everyone; anonymous IPC$ is refused outright.
        r = s.rpcclient('user', 'srvinfo')
        assert not got_through(r, 'srvsvc') or r.rc != 0, r
        r = s.rpcclient('anonymous', 'srvinfo')
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out, r
        s.wait_log(r"refused ipc 'IPC\$' to anonymous session .*rule "
                   r"pipe-gate: .*ipcguardd is not answering")
        s.start_gate()
        r = s.rpcclient('user', 'srvinfo')
        assert got_through(r, 'srvsvc') and 'IPCGTEST' in r.out, r
        r = s.rpcclient('anonymous', 'srvinfo')
        assert got_through(r, 'srvsvc'), r


def test_gate_not_running_fails_closed():
    opts = {'null session pipes': 'lsarpc'}
    with Server(ipcguard=opts, gate=True) as s:
        s.stop_gate()
        r = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name' not in r.out, r
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out, r


def test_pipes_not_routed_refuse_anonymous_ipc():
    opts = {'null session pipes': 'lsarpc', 'null session shares': 'public'}
    with Server(ipcguard=opts, gate=False) as s:
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out, r
        s.wait_log(r"rule pipe-gate: .*external_rpc_pipe:socket_dir is "
                   r"not set")
        # Authenticated users still reach samba-dcerpcd directly.
        r = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in r.out, r
    with Server(ipcguard=opts, gate=False) as s:
        s.extra_global.append('external_rpc_pipe:socket_dir = %s/ncalrpc'
                              % s.dir)
        s.write_conf()
        s.smbcontrol('smbd', 'reload-config')
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out, r
        s.wait_log(r"rule pipe-gate: .*is the ncalrpc dir")


def test_pipe_that_appears_after_the_gate_started():
    opts = {'null session pipes': 'lsarpc'}
    with Server(ipcguard=opts) as s:
        np_dir = os.path.join(s.dir, 'ncalrpc', 'np')
        os.makedirs(np_dir, exist_ok=True)
        path = os.path.join(np_dir, 'ipcgtestpipe')
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(8)
        srv.settimeout(20)
        received = []

        def serve():
            try:
                while True:
                    c, _ = srv.accept()
                    c.settimeout(5)
                    try:
                        received.append(c.recv(65536))
                    finally:
                        c.close()
            except OSError:
                pass

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        gate_sock = os.path.join(s.gate_dir, 'np', 'ipcgtestpipe')
        deadline = time.time() + 10
        while not os.path.exists(gate_sock) and time.time() < deadline:
            time.sleep(0.1)
        assert os.path.exists(gate_sock), 'gate never picked the pipe up'

        # Anonymous: refused by the gate, the server never sees it.
        with pytest.raises(Exception) as e:
            bind_pipe(s, 'anonymous', '\\ipcgtestpipe', srvs.MSRPC_UUID_SRVS)
        assert 'rpc_s_access_denied' in str(e.value), e.value
        assert received == []
        # Authenticated: forwarded with a named-pipe handshake.
        try:
            bind_pipe(s, 'user', '\\ipcgtestpipe', srvs.MSRPC_UUID_SRVS)
        except Exception:
            pass    # the fake server does not speak DCE/RPC
        deadline = time.time() + 10
        while not received and time.time() < deadline:
            time.sleep(0.1)
        assert received and received[0][4:8] == b'NPAM', received
        srv.close()


def test_rpc_start_on_demand_helpers_off():
    opts = {'null session pipes': 'lsarpc'}
    s = Server(ipcguard=opts,
               extra_global=['rpc start on demand helpers = no'])
    with s:
        s._spawn(['/usr/libexec/samba/samba-dcerpcd', '--foreground',
                  '--no-process-group', '--libexec-rpcds', '-s', s.conf],
                 'samba-dcerpcd.stdout')
        deadline = time.time() + 20
        r = None
        while time.time() < deadline:
            r = s.rpcclient('user', 'srvinfo')
            if 'IPCGTEST' in r.out:
                break
            time.sleep(0.5)
        assert 'IPCGTEST' in r.out, r
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        r = s.rpcclient('anonymous', 'lsaquery')
        assert got_through(r, 'lsarpc'), r


def _alive(pid):
    """Whether pid runs (a zombie waiting for init to reap it does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def _daemon_gate(s, *args):
    """ipcguardd -D on s's smb.conf: (the run, the daemon's pid or None)."""
    pidfile = os.path.join(s.dir, 'pid', 'ipcguardd.pid')
    r = subprocess.run([harness.GATE, '-D', '-s', s.conf] + list(args),
                       capture_output=True, text=True, timeout=60,
                       env=s.gate_environment())
    deadline = time.time() + 20 * harness.TIMEOUT_SCALE
    while r.returncode == 0 and time.time() < deadline:
        if os.path.exists(os.path.join(s.gate_dir, 'ipcguardd.sock')) and \
                os.path.exists(pidfile):
            with open(pidfile) as f:
                return r, int(f.read().split()[0])
        time.sleep(0.1)
    return r, None


def _stop_daemon(s, pid):
    """SIGTERM, as systemctl stop sends it: the gate goes, and its pid file
    with it."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 20 * harness.TIMEOUT_SCALE
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), 'the gate ignored SIGTERM'
    assert not os.path.exists(os.path.join(s.dir, 'pid', 'ipcguardd.pid'))


def test_the_gate_as_a_daemon_logs_where_samba_daemons_do():
    """Issue 30, item 4, and issue 27's pid file: ipcguardd -D writes to
    smb.conf's "log file" (and to -l's directory), as smbd does, not to
    Samba's default log directory; a second start says why it exits on
    the stderr it was started with; SIGTERM takes the pid file away."""
    log = 'gate-daemon.log'
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        s.stop_gate()
        with open(s.conf) as f:
            conf = f.read()
        with open(s.conf, 'w') as f:
            f.write(conf.replace('log file = %s/log/%%m.log' % s.dir,
                                 'log file = %s/log/%s' % (s.dir, log)))
        r, pid = _daemon_gate(s)
        assert pid is not None, r
        try:
            started = 'gating %s/np' % s.gate_dir
            assert started in s.read(log), s.read(log)
            second, _ = _daemon_gate(s)
            assert second.returncode == 1, second
            assert 'another ipcguardd (pid %d) is already running' % pid \
                in second.stderr, second
            # The running gate is untouched and gates.
            assert gate_refused(s.rpcclient('anonymous', 'srvinfo'),
                                'srvsvc')
        finally:
            _stop_daemon(s, pid)
        assert 'exiting on signal 15' in s.read(log)
        other = os.path.join(s.dir, 'log', 'other')
        os.makedirs(other)
        r, pid = _daemon_gate(s, '-l', other)
        assert pid is not None, r
        try:
            # log.<program>: log.ipcguardd-asan under the sanitizers.
            logs = [n for n in os.listdir(other) if n.startswith('log.')]
            assert len(logs) == 1, logs
            with open(os.path.join(other, logs[0])) as f:
                assert started in f.read()
        finally:
            _stop_daemon(s, pid)


def test_gate_tells_systemd_it_is_ready_only_once_pipes_are_gated():
    """The unit is Type=notify, as smbd's: smbd, samba-ad-dc and
    samba-dcerpcd (ordered after it) start once the gate says READY=1,
    which it says when every pipe it gates has its socket (and a TCP
    door its table: test_dc.py)."""
    notify_dir = tempfile.mkdtemp(prefix='ipcguard-notify-')
    path = os.path.join(notify_dir, 'notify')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30 * harness.TIMEOUT_SCALE)
    try:
        s = Server(ipcguard={'null session pipes': 'lsarpc'})
        s.gate_env = {'NOTIFY_SOCKET': path}
        with s:
            message = sock.recv(4096).decode()
            assert 'READY=1' in message, message
            np = os.path.join(s.gate_dir, 'np')
            assert os.path.exists(os.path.join(np, 'lsarpc')), \
                os.listdir(np)
            assert got_through(s.rpcclient('anonymous', 'lsaquery'),
                               'lsarpc')
    finally:
        sock.close()
        shutil.rmtree(notify_dir, ignore_errors=True)
