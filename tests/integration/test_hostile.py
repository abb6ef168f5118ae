"""Hostile bytes sent straight to the gate's sockets: each connection is
rejected with a log line, the gate keeps running and keeps serving."""

import os
import re
import shutil
import socket
import struct
import subprocess
import time

import harness
from harness import Server
from test_gate import got_through, gate_refused
from test_tool import tool


def _send(path, data, close_write=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    try:
        # The gate may close before we finish writing: that is its answer.
        if data:
            s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        reply = s.recv(4096)
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        reply = b''
    s.close()
    return reply


def test_malformed_handshakes_and_abrupt_closes():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        pipe = os.path.join(s.gate_dir, 'np', 'lsarpc')
        inputs = [
            b'',                                        # connect, close
            b'\x00',                                    # short length
            b'GET / HTTP/1.0\r\n\r\n',                  # not NPA at all
            struct.pack('>I', 1000) + b'NPAM',          # truncated
            struct.pack('>I', 0xffffffff) + b'NPAM',    # absurd length
            struct.pack('>I', 12) + b'NPAM' + struct.pack('<II', 7, 7),
            struct.pack('>I', 12) + b'NPAM' + struct.pack('<II', 99, 99),
            struct.pack('>I', 64) + b'NPAM' + os.urandom(60),
        ]
        for data in inputs:
            reply = _send(pipe, data)
            assert reply == b'', (data, reply)
        # Half-open: a client that connects and says nothing must not
        # block anyone else.
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(pipe)
        try:
            assert s.gate_proc.poll() is None, s.read('ipcguardd.log')
            r = s.rpcclient('user', 'lsaquery')
            assert 'Domain Name: IPCGTEST' in r.out, r
            assert gate_refused(s.rpcclient('anonymous', 'srvinfo'),
                                'srvsvc')
        finally:
            idle.close()
        s.wait_log(r'rejected a malformed named-pipe handshake')
        # The probe socket ignores what it is sent.
        _send(os.path.join(s.gate_dir, 'ipcguardd.sock'), os.urandom(512))
        time.sleep(0.2)
        assert s.gate_proc.poll() is None
        assert got_through(s.rpcclient('user', 'srvinfo'), 'srvsvc')


def _wait(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_socket_directory_removed_is_made_again():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        shutil.rmtree(s.gate_dir)
        s.wait_log(r'ipcguardd: .*/np disappeared; making it again')
        assert _wait(lambda: got_through(s.rpcclient('anonymous',
                                                     'lsaquery'), 'lsarpc'))
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert s.gate_proc.poll() is None


def _count(s, pattern):
    return len(re.findall(pattern, s.logs()))


def test_socket_directory_with_wrong_permissions_refuses_anonymous():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        np_dir = os.path.join(s.gate_dir, 'np')
        for n, (spoil, restore) in enumerate((
                (lambda: os.chmod(np_dir, 0o777),
                 lambda: os.chmod(np_dir, 0o700)),
                (lambda: os.chown(np_dir, 65534, 65534),
                 lambda: os.chown(np_dir, 0, 0))), start=1):
            spoil()
            assert _wait(lambda: _count(
                s, r'ipcguardd: .*/np is no longer a directory owned by '
                r'uid 0 with mode 0700') == n)
            r = s.rpcclient('anonymous', 'lsaquery')
            assert gate_refused(r, 'lsarpc'), r
            assert _count(s, r"refused pipe 'lsarpc' to anonymous session.*"
                          r"rule pipe-gate: the gate's socket directory") \
                == n
            rc, out = tool(s, 'status')
            assert 'socket_directory=unsafe' in out, out
            r = s.rpcclient('user', 'lsaquery')
            assert 'Domain Name' in r.out, r
            restore()
            assert _wait(lambda: _count(
                s, r'ipcguardd: .*/np is safe again') == n)
            assert _wait(lambda: got_through(
                s.rpcclient('anonymous', 'lsaquery'), 'lsarpc'))


def test_reload_with_an_unsafe_socket_directory_ends_anonymous_pipes():
    """The reload re-judgement asks the engine about the socket directory
    too (issue 12): a live anonymous pipe ends, a user's pipe stays."""
    import pytest
    from impacket.dcerpc.v5 import srvs
    from test_rules import bind

    with Server(ipcguard={'null session pipes': 'lsarpc srvsvc'}) as s:
        anon = bind(s, '\\srvsvc', srvs.MSRPC_UUID_SRVS, who='anonymous')
        user = bind(s, '\\srvsvc', srvs.MSRPC_UUID_SRVS, who='user')
        srvs.hNetrServerGetInfo(anon, 101)
        np_dir = os.path.join(s.gate_dir, 'np')
        os.chmod(np_dir, 0o777)
        try:
            s.wait_log(r'ipcguardd: .*/np is no longer a directory owned by')
            assert s.smbcontrol('ipcguardd', 'reload-config').rc == 0
            s.wait_log(r"ended pipe 'srvsvc' of anonymous session .* after "
                       r"reload: rule pipe-gate: the gate's socket "
                       r"directory")
            with pytest.raises(Exception):
                srvs.hNetrServerGetInfo(anon, 101)
            srvs.hNetrServerGetInfo(user, 101)
        finally:
            os.chmod(np_dir, 0o700)


def _second_gate(conf):
    env = harness.sanitizer_env() if harness.SANITIZED_GATE else None
    return subprocess.run([harness.GATE, '--foreground', '--no-process-group',
                           '--debug-stdout', '-s', conf],
                          capture_output=True, text=True, timeout=60,
                          env=env)


def test_a_second_gate_leaves_the_first_alone():
    """Issue 11, item 4: a second ipcguardd, on the same smb.conf or on
    another one with the same gate directory, says why and exits without
    touching the running gate's sockets."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        sockets = {}
        for name in ('ipcguardd.sock', 'np/lsarpc', 'np/srvsvc'):
            sockets[name] = os.stat(os.path.join(s.gate_dir, name)).st_ino
        r = _second_gate(s.conf)
        assert r.returncode == 1, r
        assert re.search(r'another ipcguardd \(pid %d\) is already running'
                         % s.gate_proc.pid, r.stdout + r.stderr), r
        # Another smb.conf (own pid directory), the same gate directory.
        other = os.path.join(s.dir, 'other.conf')
        os.makedirs(os.path.join(s.dir, 'pid2'))
        with open(s.conf) as f, open(other, 'w') as g:
            g.write(f.read().replace('pid directory = %s/pid' % s.dir,
                                     'pid directory = %s/pid2' % s.dir))
        r = _second_gate(other)
        assert r.returncode == 1, r
        assert 'another ipcguardd already answers in %s' % s.gate_dir in \
            r.stdout + r.stderr, r
        for name, ino in sockets.items():
            assert os.stat(os.path.join(s.gate_dir, name)).st_ino == ino
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert got_through(s.rpcclient('user', 'srvinfo'), 'srvsvc')


def test_sockets_taken_over_are_bound_again():
    """Someone else binds the gate's sockets: the gate notices within a
    second or two, binds them again and serves as before."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        squatters = []
        for name in ('np/lsarpc', 'np/srvsvc', 'ipcguardd.sock'):
            path = os.path.join(s.gate_dir, name)
            os.unlink(path)
            sq = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sq.bind(path)
            sq.listen(1)
            squatters.append(sq)
        try:
            for name in ('lsarpc', 'srvsvc'):
                s.wait_log(r'ipcguardd: \S+/np/%s is no longer this '
                           r"gate's socket; binding it again" % name)
            s.wait_log(r"ipcguardd: \S+/ipcguardd.sock is no longer this "
                       r"gate's socket; binding it again")
            assert got_through(s.rpcclient('anonymous', 'lsaquery'),
                               'lsarpc')
            assert gate_refused(s.rpcclient('anonymous', 'srvinfo'),
                                'srvsvc')
            rc, out = tool(s, 'status')
            assert rc == 0 and 'pid=%d' % s.gate_proc.pid in out, out
        finally:
            for sq in squatters:
                sq.close()
