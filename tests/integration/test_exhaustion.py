"""Issue 11, item 3: one client must not take RPC away from everyone.

An anonymous client holding many pipes on IPC$ is bounded per session and
per address, with a log line saying so, while an authenticated user keeps
working and the gate stays idle; the gate raises the soft open file limit
systemd gives it; running out of descriptors turns callers away instead of
spinning, and recovers; refused pipes are closed after a while; the
module's probe of the gate cannot hold up a tree connect."""

import os
import re
import resource
import select
import signal
import socket
import subprocess
import time

import pytest
from impacket.dcerpc.v5 import lsad, transport

import harness
from harness import Server

HOG = os.path.join(harness.ROOT, 'tests', 'load', 'pipe_hog.py')
# Profile 2 of smb.conf.example.
PROFILE2 = {'null session pipes': 'lsarpc',
            'null session shares': 'public',
            'restrict null session access': 'yes',
            'everyone includes anonymous': 'yes',
            'guest is anonymous': 'yes'}
# What systemd gives a unit without LimitNOFILE: a soft limit of 1,024
# under a hard one of 524,288.  Raising a hard limit needs CAP_SYS_RESOURCE,
# which a test machine may lack: keep ours.
HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
HARD = 524288 if HARD == resource.RLIM_INFINITY else min(HARD, 524288)
SYSTEMD_DEFAULT = 'prlimit --nofile=1024:%d --' % HARD
TICKS = os.sysconf('SC_CLK_TCK')
# A gate under a tool (valgrind) is slower, and the tool keeps its own
# idea of the open file limit.
WRAPPED = bool(os.environ.get('IPCGUARD_GATE_WRAPPER'))
SCALE = harness.TIMEOUT_SCALE
IDLE = 0.1 * SCALE     # most of one CPU a gate doing nothing may use


def status(s):
    """The gate's figures from its control socket, as a dict (first value
    of each key)."""
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(10)
        c.connect(os.path.join(s.gate_dir, 'ipcguardd.sock'))
        text = b''
        while True:
            b = c.recv(65536)
            if not b:
                break
            text += b
    out = {}
    for line in text.decode().splitlines():
        k, _, v = line.partition('=')
        out.setdefault(k, v)
    return out


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def gate_cpu_over(s, seconds):
    """Fraction of one CPU the gate used over `seconds`."""
    pid = s.gate_proc.pid
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def soft_nofile(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max open files'):
                return int(line.split()[3])
    raise AssertionError('no open file limit for %d' % pid)


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


class Hog:
    """pipe_hog.py in its own process: opens pipes and holds them until
    stopped."""

    def __init__(self, s, count, pipe='lsarpc', sessions=1,
                 who='anonymous', timeout=90):
        self.p = subprocess.Popen(
            ['/usr/bin/python3', HOG, str(s.port), str(count), pipe,
             str(sessions), who], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.out = ''
        deadline = time.time() + timeout
        while 'OPENED' not in self.out:
            left = deadline - time.time()
            if left <= 0 or self.p.poll() is not None:
                self.stop()
                raise AssertionError('hog did not finish opening: %r' %
                                     self.out)
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                line = self.p.stdout.readline()
                if not line:
                    continue
                self.out += line
        m = re.search(r'OPENED (\d+) FAILED (\d+) IN (\S+)', self.out)
        self.opened, self.failed = int(m.group(1)), int(m.group(2))
        self.seconds = float(m.group(3))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError('never happened: %s' % what)


def timed(fn, *args, **kw):
    start = time.time()
    r = fn(*args, **kw)
    return r, time.time() - start


def srvinfo_ok(r):
    return r.rc == 0 and 'NT_STATUS' not in r.out and 'IPCGTEST' in r.out


def test_anonymous_hog_is_bounded_and_users_keep_working(monkeypatch):
    """The report of the issue: under systemd's default limits one
    anonymous client opening about 1,000 pipes; now the gate raises its
    soft limit, holds that session to its bound and logs it once, stays
    idle, and authenticated users are served promptly throughout."""
    monkeypatch.setenv('IPCGUARD_GATE_WRAPPER', SYSTEMD_DEFAULT + ' ' +
                       os.environ.get('IPCGUARD_GATE_WRAPPER', ''))
    # srvsvc is refused to anonymous here, so each pipe costs the gate one
    # descriptor: before the bounds, ~1,000 of them ran it out and it spun.
    # Refused pipes are kept for the whole test, so the bound holds.
    opts = dict(PROFILE2, **{'refused pipe timeout': '120'})
    with Server(ipcguard=opts) as s:
        want = min(65536, HARD)
        if not WRAPPED:
            assert soft_nofile(s.gate_proc.pid) == want
            s.wait_log(r'open file limit %d \(was 1024, hard limit %d\)' %
                       (want, HARD))
        hog = Hog(s, 1000, pipe='srvsvc')
        try:
            assert hog.opened + hog.failed == 1000, hog.out
            st = status(s)
            # 32 (the default bound) held by the hog, none of the rest.
            assert int(st['connections_open']) <= 32, st
            assert int(st['pipe_limit_refused']) >= 968, st
            log = s.wait_log(
                r"refused pipe 'srvsvc' to anonymous session \(user '', "
                r"client 127\.0\.0\.1\): rule pipe-limit: the session "
                r"holds as many pipes as 'ipcguard:max pipes per "
                r"anonymous session' allows \(32 pipes open in the "
                r"session, 32 from the address\)")
            # Said once while the bound holds, not 968 times.
            assert len(re.findall(r'WARNING.*\n.*rule pipe-limit|'
                                  r'rule pipe-limit.*further refusals',
                                  log)) == 1, log[-3000:]
            cpu = gate_cpu_over(s, 3)
            assert cpu < IDLE, cpu
            for _ in range(3):
                r, took = timed(s.rpcclient, 'user', 'srvinfo', timeout=30)
                assert srvinfo_ok(r), r
                assert took < 10 * SCALE, took
            # Other anonymous sessions have bounds of their own.
            r = s.rpcclient('anonymous', 'lsaquery', timeout=30)
            assert r.rc == 0 and 'NT_STATUS' not in r.out, r
            r = s.rpcclient('anonymous', 'srvinfo', timeout=30)
            assert 'NT_STATUS_ACCESS_DENIED' in r.out, r
        finally:
            hog.stop()
        wait_for(lambda: status(s)['connections_open'] == '0', 20,
                 'the hog\'s pipes closed')


def test_bound_per_address_spares_authenticated_users():
    """Several anonymous sessions from one address together hit the
    per-address bound; authenticated sessions from the same address are
    counted apart and keep working."""
    opts = dict(PROFILE2)
    opts.update({'max pipes per anonymous session': '8',
                 'max anonymous pipes per address': '20',
                 'max pipes per session': '12'})
    with Server(ipcguard=opts) as s:
        hog = Hog(s, 32, sessions=4)
        try:
            st = status(s)
            assert st['connections_open'] == '20', st
            assert st['pipe_limit_refused'] == '12', st
            s.wait_log(r"rule pipe-limit: anonymous sessions from the "
                       r"client's address hold as many pipes as "
                       r"'ipcguard:max anonymous pipes per address' allows")
            # An authenticated hog on the same address: its own bound.
            user = Hog(s, 16, pipe='srvsvc', who='user')
            try:
                st = status(s)
                assert st['connections_open'] == '32', st
                s.wait_log(r"rule pipe-limit: the session holds as many "
                           r"pipes as 'ipcguard:max pipes per session' "
                           r"allows")
                r = s.rpcclient('user', 'srvinfo', timeout=30)
                assert srvinfo_ok(r), r
            finally:
                user.stop()
        finally:
            hog.stop()
        wait_for(lambda: status(s)['connections_open'] == '0', 20,
                 'the hogs\' pipes closed')
        # Bounds are on what is open, not on what was: free again.
        r = s.rpcclient('anonymous', 'lsaquery', timeout=30)
        assert r.rc == 0 and 'NT_STATUS' not in r.out, r


def test_refused_pipe_is_closed():
    """A refused pipe answers faults for 'refused pipe timeout' seconds,
    or a bounded number of them, and is then closed."""
    opts = dict(PROFILE2, **{'refused pipe timeout': '2'})
    with Server(ipcguard=opts) as s:
        hog = Hog(s, 5, pipe='srvsvc')
        try:
            st = status(s)
            assert st['connections_open'] == '5', st
            s.wait_log(r"refused pipe 'srvsvc' to anonymous session.*"
                       r"rule null-session-pipes")
            wait_for(lambda: status(s)['connections_open'] == '0', 6,
                     'refused pipes closed')
            s.wait_log(r"pipe 'srvsvc' of anonymous session .* ended: "
                       r"refused pipe timed out")
        finally:
            hog.stop()
    # A client that keeps binding on a refused pipe: closed after 16
    # faults, long before the timeout.
    opts = dict(PROFILE2, **{'refused pipe timeout': '60'})
    with Server(ipcguard=opts) as s:
        t = transport.SMBTransport('127.0.0.1', s.port, filename='\\srvsvc',
                                   username='', password='')
        dce = t.get_dce_rpc()
        dce.connect()
        faults = 0
        other = None
        for _ in range(20):
            try:
                dce.bind(lsad.MSRPC_UUID_LSAD)
            except Exception as e:  # noqa: BLE001
                if 'rpc_s_access_denied' in str(e):
                    faults += 1
                    continue
                other = e
                break
        assert faults == 16 and other is not None, (faults, other)
        s.wait_log(r"ended: too many calls on a refused pipe")
        try:
            dce.disconnect()
        except Exception:  # noqa: BLE001
            pass


def test_connection_without_handshake_is_closed():
    """Only smbd (root) can reach the gate's pipe sockets, and it sends the
    named-pipe handshake at once; a connection that sends nothing does not
    keep its descriptor for more than 10 seconds."""
    with Server(ipcguard=PROFILE2) as s:
        c = socket.socket(socket.AF_UNIX)
        c.connect(os.path.join(s.gate_dir, 'np', 'lsarpc'))
        try:
            wait_for(lambda: status(s)['connections_open'] == '1', 5,
                     'the gate accepted')
            start = time.time()
            c.settimeout(20 * SCALE)
            assert c.recv(1) == b''
            assert 8 < time.time() - start < 15 * SCALE
            assert status(s)['connections_open'] == '0'
            s.wait_log(r"ended: no named-pipe handshake in time")
        finally:
            c.close()


@pytest.mark.skipif(WRAPPED, reason='a tool under the gate keeps its own '
                    'descriptors and limits')
def test_out_of_descriptors_turns_away_without_spinning():
    """A gate that really runs out of descriptors (its limits lowered to
    a few more than it uses) turns new pipes away at once, without
    spinning and without leaving smbd waiting, logs it once, and works
    again when the hog leaves."""
    opts = dict(PROFILE2, **{'max pipes per anonymous session': '1000',
                             'max anonymous pipes per address': '1000'})
    with Server(ipcguard=opts) as s:
        # samba-dcerpcd runs (the gate starts it) with normal limits.
        r = s.rpcclient('user', 'srvinfo', timeout=30)
        assert srvinfo_ok(r), r
        pid = s.gate_proc.pid
        limit = open_fds(pid) + 20
        subprocess.run(['prlimit', '--pid', str(pid),
                        '--nofile=%d:%d' % (limit, limit)], check=True)
        hog = Hog(s, 60, timeout=45)
        try:
            # smbd was never left waiting: the hog got through all 60.
            assert hog.opened + hog.failed == 60, hog.out
            log = s.wait_log(r'out of file descriptors \(Too many open '
                             r'files\) with \d+ pipes open: turning new '
                             r'pipes away')
            assert int(status(s)['turned_away']) >= 1
            cpu = gate_cpu_over(s, 3)
            assert cpu < IDLE, cpu
            # More callers while out: turned away, still no spin.
            r, took = timed(s.rpcclient, 'user', 'srvinfo', timeout=30)
            assert took < 15 * SCALE, (took, r)
            assert gate_cpu_over(s, 2) < IDLE
            log = s.logs()
            assert len(re.findall(r'out of file descriptors', log)) == 1, \
                log[-3000:]
        finally:
            hog.stop()
        wait_for(lambda: int(status(s)['connections_open']) == 0, 20,
                 'the hog\'s pipes closed')
        time.sleep(1.2)
        r = s.rpcclient('user', 'srvinfo', timeout=30)
        assert srvinfo_ok(r), r
        s.wait_log(r'file descriptors available again')
        r = s.rpcclient('anonymous', 'lsaquery', timeout=30)
        assert r.rc == 0 and 'NT_STATUS' not in r.out, r


def test_probe_does_not_hang_tree_connects():
    """The module asks the gate at every anonymous IPC$ tree connect.  A
    gate that is stopped, or a listener whose queue is full, costs that
    tree connect at most the probe's timeout, and anonymous IPC$ is then
    refused; authenticated sessions do not wait at all."""
    with Server(ipcguard=PROFILE2) as s:
        # A stopped gate: connections queue, nobody answers.
        os.kill(s.gate_proc.pid, signal.SIGSTOP)
        try:
            r, took = timed(s.rpcclient, 'anonymous', 'lsaquery',
                            timeout=30)
            assert r.rc != 0, r
            assert took < 8 * SCALE, took
            s.wait_log(r"refused ipc 'IPC\$' to anonymous session.*rule "
                       r"pipe-gate: .*ipcguardd did not answer on its "
                       r"control socket within \d+ ms")
            r, took = timed(s.smbclient, 'user', 'public', 'ls', timeout=30)
            assert r.rc == 0 and 'hello.txt' in r.out, r
            assert took < 5 * SCALE, took
        finally:
            os.kill(s.gate_proc.pid, signal.SIGCONT)
        r = s.rpcclient('anonymous', 'lsaquery', timeout=30)
        assert r.rc == 0 and 'NT_STATUS' not in r.out, r

        # A listener that never accepts, its queue full: connect() itself
        # would block.
        s.stop_gate()
        ctl = os.path.join(s.gate_dir, 'ipcguardd.sock')
        os.unlink(ctl)
        fake = socket.socket(socket.AF_UNIX)
        fake.bind(ctl)
        fake.listen(0)
        fillers = []
        try:
            while True:
                c = socket.socket(socket.AF_UNIX)
                c.setblocking(False)
                try:
                    c.connect(ctl)
                except BlockingIOError:
                    c.close()
                    break
                fillers.append(c)
            r, took = timed(s.rpcclient, 'anonymous', 'lsaquery',
                            timeout=30)
            assert r.rc != 0, r
            assert took < 8 * SCALE, took
            s.wait_log(r"rule pipe-gate: .*ipcguardd is not answering at "
                       r".*its queue of connections is full")
        finally:
            for c in fillers:
                c.close()
            fake.close()


def test_a_client_that_never_reads_takes_nothing_from_others():
    """Issue 24, item 6: a client that writes call after call on one
    pipe and never reads an answer.  Its answers pile up until smbd
    disconnects the pipe (plain Samba does at the second write), the
    relay's back-pressure stops its direction, or the gate ends it at
    256 calls without an answer; whichever comes first, other clients
    are answered as before, the gate stays up, and its descriptors come
    back once the hog is gone."""
    from impacket.dcerpc.v5 import srvs
    from impacket.smbconnection import SMBConnection
    from test_contexts import bind_pdu, get_info_stub, item, request_pdu

    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        assert srvinfo_ok(s.rpcclient('user', 'srvinfo'))
        idle = open_fds(s.gate_proc.pid)
        hog = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=s.port,
                            timeout=5)
        hog.login(harness.TEST_USER, harness.TEST_PASSWORD)
        tid = hog.connectTree('IPC$')
        fid = hog.openFile(tid, '\\srvsvc')
        hog.writeFile(tid, fid, bind_pdu(1, [item(0, srvs.MSRPC_UUID_SRVS)]))
        stub = get_info_stub()
        written = 0
        start = time.time()
        try:
            for call_id in range(2, 20002):
                hog.writeFile(tid, fid, request_pdu(0, 21, stub, call_id))
                written += 1
                if time.time() - start > 30:
                    break
        except Exception:
            # smbd ends such a pipe (plain Samba at its second write,
            # through the gate a few hundred later), or a write blocks.
            pass
        # Others are answered as before, while the hog holds its pipe.
        r, seconds = timed(s.rpcclient, 'user', 'srvinfo')
        assert srvinfo_ok(r) and seconds < 10, (r, seconds)
        assert s.gate_proc.poll() is None
        try:
            hog.getSMBServer().get_socket().close()
        except Exception:
            pass
        wait_for(lambda: open_fds(s.gate_proc.pid) <= idle, 20,
                 'the gate back at %d descriptors (wrote %d calls)' % (
                     idle, written))
        assert srvinfo_ok(s.rpcclient('user', 'srvinfo'))
