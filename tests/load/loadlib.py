"""Shared pieces of the load driver (load.py) and the fault script
(faults.py): the client operations, how an outcome is classified, resource
sampling of the gate, and docs/results.md writing.

Every client is an impacket SMB connection to a harness.Server.  A client
connects IPC$ once per login (as real clients keep it); one "operation" is
one pipe open over it: open the pipe, DCE/RPC bind, one cheap call when the
bind is granted, close.

Client kinds (the policy used is `null session pipes = lsarpc` plus
`everyone includes anonymous = yes`):

  anon-allowed   anonymous, \\lsarpc, LsarOpenPolicy2 + LsarClose: must work
  anon-refused   anonymous, \\srvsvc or \\samr: the gate must answer the bind
                 with an access-denied fault; a granted bind is a BREACH
  auth           ADMIN_USER (RestrictRemoteSAM), \\srvsvc (NetrServerGetInfo) or \\samr
                 (SamrConnect + SamrCloseHandle): must work
"""

import os
import platform
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import harness  # noqa: E402
from impacket.dcerpc.v5 import lsad, samr, srvs, transport  # noqa: E402
from impacket.smbconnection import SMBConnection  # noqa: E402

RESULTS = os.path.join(ROOT, 'docs', 'results.md')

# Outcomes of one operation.
OK = 'ok'              # bind granted and the call answered
REFUSED = 'refused'    # bind answered with the access-denied fault
BREACH = 'BREACH'      # a refused kind got a granted bind
# anything else: 'error:<short reason>'

KINDS = ('anon-allowed', 'anon-refused', 'auth')
LOAD_POLICY = {'null session pipes': 'lsarpc',
               'everyone includes anonymous': 'yes'}


def raise_fd_limit():
    """smbd forks one child per client and the gate holds two fds per
    live pipe: raise our limit (inherited by what the harness starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# smbd listens with a backlog of 50 (SMBD_LISTEN_BACKLOG); when more TCP
# handshakes than that wait for accept(), Linux drops them and the client
# sees a timeout or a reset, on plain Samba as much as with ipcguard.  Real
# clients do not all reconnect in the same instant: each driver process
# lets LOGIN_SLOT_COUNT logins run at once (4 processes: 32 < 50).
LOGIN_SLOT_COUNT = 8
LOGIN_SLOTS = threading.BoundedSemaphore(LOGIN_SLOT_COUNT)

# impacket waits this long for each SMB answer.  200 clients and 200 smbd
# children on 2 cores queue session setups for tens of seconds (see the
# login latencies in docs/results.md); a wait is not an error.
SMB_TIMEOUT = 180


def connect(port, who, timeout=SMB_TIMEOUT):
    conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port,
                         timeout=timeout)
    if who == 'anonymous':
        conn.login('', '')
    elif who == 'admin':
        conn.login(harness.ADMIN_USER, harness.ADMIN_PASSWORD)
    else:
        conn.login(harness.TEST_USER, harness.TEST_PASSWORD)
    return conn


def _call_lsarpc(dce):
    # Needs Everyone in the anonymous token (everyone includes anonymous);
    # the handle goes with the pipe.
    r = lsad.hLsarOpenPolicy2(dce, lsad.POLICY_VIEW_LOCAL_INFORMATION)
    if r['ErrorCode'] != 0:
        raise RuntimeError('LsarOpenPolicy2: %#x' % r['ErrorCode'])


def _call_srvsvc(dce):
    r = srvs.hNetrServerGetInfo(dce, 101)
    if not r['InfoStruct']['ServerInfo101']['sv101_name']:
        raise RuntimeError('empty server name')


def _call_samr(dce):
    r = samr.hSamrConnect(dce)
    if r['ErrorCode'] != 0:
        raise RuntimeError('SamrConnect: %#x' % r['ErrorCode'])


PIPES = {
    'lsarpc': (lsad.MSRPC_UUID_LSAD, _call_lsarpc),
    'srvsvc': (srvs.MSRPC_UUID_SRVS, _call_srvsvc),
    'samr': (samr.MSRPC_UUID_SAMR, _call_samr),
}


def short_error(e):
    text = '%s: %s' % (type(e).__name__, e)
    m = re.search(r'(rpc_s_[a-z_]+|NT_STATUS_[A-Z_]+|STATUS_[A-Z_]+|'
                  r'Broken pipe|Connection reset|timed out|'
                  r'Connection refused)', text)
    return 'error:' + (m.group(1) if m else text[:60].replace('\n', ' '))


class _IpcTransport(transport.SMBTransport):
    """SMBTransport over an IPC$ tree that stays connected, as real
    clients keep it: open and close the pipe only."""

    def __init__(self, conn, tid, port, pipe):
        super().__init__('127.0.0.1', port, filename='\\' + pipe,
                         smb_connection=conn)
        self._conn, self._tid = conn, tid

    def connect(self):
        self._SMBTransport__tid = self._tid
        self._SMBTransport__handle = self._conn.openFile(
            self._tid, self._SMBTransport__filename)
        self._SMBTransport__socket = self._conn.getSMBServer().get_socket()
        return 1

    def disconnect(self):
        self._conn.closeFile(self._tid, self._SMBTransport__handle)


def pipe_op(conn, tid, port, pipe):
    """One open + bind (+ call) + close.  Returns (outcome, usable):
    usable is False when the SMB connection should be dropped."""
    uuid, call = PIPES[pipe]
    dce = _IpcTransport(conn, tid, port, pipe).get_dce_rpc()
    try:
        dce.connect()
    except Exception as e:          # open refused/failed
        return short_error(e), not _dead(e)
    try:
        try:
            dce.bind(uuid)
        except Exception as e:
            if 'rpc_s_access_denied' in str(e):
                return REFUSED, True
            return short_error(e), not _dead(e)
        try:
            call(dce)
        except Exception as e:
            return 'granted-' + short_error(e), not _dead(e)
        return OK, True
    finally:
        try:
            dce.disconnect()
        except Exception:
            pass


def _dead(e):
    """Did this exception leave the SMB connection unusable?"""
    s = str(e)
    return isinstance(e, (OSError, EOFError)) or any(
        k in s for k in ('Broken pipe', 'Connection reset', 'timed out',
                         'NETWORK_NAME_DELETED', 'USER_SESSION_DELETED',
                         'CONNECTION_DISCONNECTED', 'Errno'))


def classify(kind, outcome):
    """Map an outcome to 'good' (what the policy says), 'breach' or
    'bad' for a gated server with LOAD_POLICY."""
    if kind == 'anon-refused':
        if outcome == REFUSED:
            return 'good'
        if outcome == OK or outcome.startswith('granted-'):
            return 'breach'
        return 'bad'
    return 'good' if outcome == OK else 'bad'


def who_of(kind):
    # Authenticated clients are administrators: RestrictRemoteSAM's
    # default (Windows') lets only them connect to SAMR.
    return 'anonymous' if kind.startswith('anon') else 'admin'


def pipe_for(kind, n):
    if kind == 'anon-allowed':
        return 'lsarpc'
    return ('srvsvc', 'samr')[n % 2]


class Client:
    """One client: an SMB connection reused for many pipe opens, with
    connect/login churn every `churn` operations."""

    def __init__(self, port, kind, churn, pipe_of=None):
        self.port = port
        self.kind = kind
        self.churn = churn
        self.pipe_of = pipe_of or (lambda n: pipe_for(kind, n))
        self.conn = None
        self.n = 0
        self.since_login = 0

    def login(self):
        self.close()
        with LOGIN_SLOTS:
            self.conn = connect(self.port, who_of(self.kind))
            self.tid = self.conn.connectTree('IPC$')
        self.since_login = 0

    def stagger(self):
        """Spread this client's re-logins over the churn period, so the
        clients started together do not reconnect together."""
        if self.churn:
            self.since_login = random.randrange(self.churn)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def op(self):
        """One pipe open, logging in first when needed.  Returns (pipe,
        outcome, t0, t1, login_seconds or None); t in time.monotonic(),
        t0..t1 covers the pipe open only, unless the login failed."""
        pipe = self.pipe_of(self.n)
        self.n += 1
        login_s = None
        if self.conn is None or (self.churn and
                                 self.since_login >= self.churn):
            t = time.monotonic()
            try:
                self.login()
            except Exception as e:
                self.conn = None
                return (pipe, 'login-' + short_error(e), t,
                        time.monotonic(), None)
            login_s = time.monotonic() - t
        t0 = time.monotonic()
        outcome, usable = pipe_op(self.conn, self.tid, self.port, pipe)
        t1 = time.monotonic()
        self.since_login += 1
        if not usable:
            self.close()
        return pipe, outcome, t0, t1, login_s


def stop_on_sigterm():
    """SIGTERM unwinds like an exception, so every server the script
    started is stopped by pid on the way out."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))


# -- resources ---------------------------------------------------------------

def rss_kib(pid, field='RssAnon'):
    """Resident KiB of `pid`.  RssAnon by default: the heap and stacks the
    process holds, without the library pages a load touched once, which
    stay in the page cache and are shared."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid):
    try:
        return len(os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return None


def children(ppid):
    n = 0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(')', 1)[1].split()[1]) == ppid:
            n += 1
    return n


def percentile(sorted_values, p):
    if not sorted_values:
        return float('nan')
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * \
        (k - lo)


# -- gate facts ----------------------------------------------------------------

def gate_status(server):
    return subprocess.run([os.path.join(harness.BUILD, 'ipcguard'), '-s',
                           server.conf, 'status'], capture_output=True,
                          text=True, timeout=30, env=harness.CLIENT_ENV)


def gate_memory(server):
    """The bytes the gate holds in talloc (memory_bytes= of its status)."""
    for line in gate_status(server).stdout.splitlines():
        if line.startswith('memory_bytes='):
            return int(line.split('=', 1)[1])
    return None


def probe(server, kind, pipe):
    c = Client(server.port, kind, 0)
    try:
        return c.op()[1]
    finally:
        c.close()


# -- docs/results.md -------------------------------------------------------------

def machine():
    mem = 0
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                mem = int(line.split()[1]) / 1024 / 1024
    cpu = ''
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    samba = subprocess.run(['smbd', '-V'], capture_output=True,
                           text=True).stdout.strip()
    impacket = subprocess.run(
        ['dpkg-query', '-W', '-f=${Version}', 'python3-impacket'],
        capture_output=True, text=True).stdout.strip()
    return ('%s, nproc %d, %.1f GiB RAM, kernel %s, %s, python3-impacket '
            '%s' % (cpu, os.cpu_count(), mem, platform.release(), samba,
                    impacket))


def policy_text():
    return '; '.join('ipcguard:%s = %s' % kv for kv in LOAD_POLICY.items())


def write_section(name, title, script, full, started, paragraphs,
                  cmd=None):
    """Replace the section `name` of docs/results.md (created when
    missing), leaving the other sections as their own script wrote them.
    The section says which command, mode, machine and date produced it.
    full None: a script without modes; cmd: its command, if not one of
    tests/load/."""
    cmd = cmd or 'python3 tests/load/%s %s--write' % (
        script, '--full ' if full else '')
    mode = '' if full is None else ' (%s mode)' % (
        'FULL' if full else 'SHORT')
    body = '\n\n'.join(['## %s%s' % (title, mode),
                         'Written by `%s`, started %s.' % (cmd, started),
                         'Machine: %s.' % machine()] + list(paragraphs))
    begin, end = '<!-- %s:begin -->' % name, '<!-- %s:end -->' % name
    header = ('# Load, fault and domain controller results\n\n'
              'Written by scripts (`make load`, `make dc-results`); '
              'never edited by hand. Each section says the command, '
              'mode, machine and date that produced it.\n\n')
    try:
        with open(RESULTS) as f:
            text = f.read()
    except FileNotFoundError:
        text = header
    block = '%s\n%s\n%s' % (begin, body.rstrip('\n'), end)
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + \
            text[text.index(end) + len(end):]
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    with open(RESULTS, 'w') as f:
        f.write(text)
