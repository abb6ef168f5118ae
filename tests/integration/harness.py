"""Real-smbd test harness for ipcguard.

Starts Debian's smbd (and, where a test asks, the freshly built ipcguardd)
on 127.0.0.1 with private directories and a free port, drives it with the
real rpcclient and smbclient, and stops every process it started by pid
(each is started as the leader of its own process group, so helpers it
forks, samba-dcerpcd and its rpcd workers, go with it).
"""

import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, 'build')
TEST_USER = 'ipcgtuser'
TEST_PASSWORD = 'Ipcg-Test-Pw1'
# A member of BUILTIN\Administrators (S-1-5-32-544), through a unix group
# mapped to it: RestrictRemoteSAM's default lets only administrators use
# SAMR remotely.
ADMIN_USER = 'ipcgtadmin'
ADMIN_PASSWORD = 'Ipcg-Admin-Pw1'
ADMIN_GROUP = 'ipcgtadmins'
CLIENT_ENV = dict(os.environ, LC_ALL='C')
# Private directories of every Server this process created, so a check for
# leftover processes looks at ours only (another run may share the machine).
CREATED_DIRS = []


def processes():
    """(pid, argv as bytes) of every process whose command line can be
    read."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                yield int(entry), f.read().split(b'\0')
        except OSError:
            continue


def processes_of(dirs):
    """Command lines of the running processes started on the smb.conf of
    one of the instance directories `dirs`."""
    confs = [('%s/smb.conf' % d).encode() for d in dirs]
    found = []
    for _, args in processes():
        cmd = b' '.join(args)
        if any(conf in cmd for conf in confs):
            found.append(cmd.decode(errors='replace'))
    return found


def modules_dir():
    out = subprocess.run(['smbd', '-b'], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r'MODULESDIR:\s*(\S+)', out)
    return m.group(1)


def build_id():
    with open(os.path.join(BUILD, 'BUILD_ID')) as f:
        return f.read().strip()


def samba_package_version():
    """The installed samba package's Debian version."""
    return subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'samba'],
                          capture_output=True, text=True,
                          check=True).stdout.strip()


def samba_upstream_version():
    """4.17.12 from 2:4.17.12+dfsg-0+deb12u4."""
    v = samba_package_version().split(':', 1)[-1]
    return re.split(r'[+~-]', v)[0]


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


# IPCGUARD_INSTALLED=1: use what the Debian package installed, not build/.
INSTALLED = os.environ.get('IPCGUARD_INSTALLED') == '1'
# IPCGUARD_GATE: another gate binary, relative to the clone or absolute,
# e.g. build/ipcguardd-asan (the gate under AddressSanitizer and
# UndefinedBehaviorSanitizer; see sanitizer_env()).
GATE = os.path.join(ROOT, os.environ['IPCGUARD_GATE']) \
    if os.environ.get('IPCGUARD_GATE') else \
    '/usr/sbin/ipcguardd' if INSTALLED else os.path.join(BUILD, 'ipcguardd')
# Where a sanitized gate writes its reports, one file per pid:
# <dir>/asan.<pid> (ASan and LeakSanitizer), <dir>/ubsan.<pid> (UBSan).
SANITIZER_LOG_DIR = os.environ.get('IPCGUARD_SANITIZER_LOG_DIR',
                                   os.path.join(BUILD, 'asan'))
# Slow gates (valgrind) need more time for everything that goes through
# them: IPCGUARD_TIMEOUT_SCALE multiplies the harness's waits.
TIMEOUT_SCALE = float(os.environ.get('IPCGUARD_TIMEOUT_SCALE', '1'))
SANITIZED_GATE = 'asan' in os.path.basename(GATE)


def sanitizer_env():
    """The environment for the gate: for a gate built with
    -fsanitize=address,undefined, report to per-pid files under
    SANITIZER_LOG_DIR and stop at the first error with a non-zero exit.
    Options already in the environment win (they come later).  gcc 12's
    UBSan ignores log_path and reports on stderr, the gate's log: Server
    .stop() copies a gate log that holds a report into the same directory.

    LeakSanitizer runs only when the gate exits by itself (exit() on a
    start-up failure); the harness stops the gate with SIGTERM/SIGKILL,
    which ends it without exit handlers, so leaks at shutdown are checked
    by the valgrind run (make valgrind-gate), not here."""
    env = dict(os.environ)
    os.makedirs(SANITIZER_LOG_DIR, exist_ok=True)
    asan = ':'.join([
        'log_path=%s/asan' % SANITIZER_LOG_DIR,
        'halt_on_error=1',
        'exitcode=86',
        'detect_leaks=1',
        'detect_stack_use_after_return=1',
        'strict_string_checks=1',
        'check_initialization_order=1',
    ])
    ubsan = ':'.join([
        'log_path=%s/ubsan' % SANITIZER_LOG_DIR,
        'print_stacktrace=1',
        'halt_on_error=1',
    ])
    # ldb dlopen()s its modules with RTLD_DEEPBIND, which the sanitizer
    # runtime refuses ("incompatible with sanitizer runtime"); ldb's own
    # switch turns it off.  The gate of today loads no ldb module; one
    # that opens an ldb database will.
    env['LDB_MODULES_DISABLE_DEEPBIND'] = '1'
    env['ASAN_OPTIONS'] = asan + (':' + os.environ['ASAN_OPTIONS']
                                  if os.environ.get('ASAN_OPTIONS') else '')
    env['UBSAN_OPTIONS'] = ubsan + (':' + os.environ['UBSAN_OPTIONS']
                                    if os.environ.get('UBSAN_OPTIONS')
                                    else '')
    return env


def module_overlay(instance_dir, module=None):
    """The smbd command prefix that shows smbd the freshly built module.

    smbd 4.17 loads VFS modules only from MODULESDIR/vfs (an absolute path
    in "vfs objects" is refused), and the tests must never change what is
    installed on the machine.  So smbd runs in a private mount namespace in
    which an overlay puts build/ipcguard.so on top of MODULESDIR; the
    samba-dcerpcd it starts inherits the namespace.  With
    IPCGUARD_INSTALLED=1 smbd sees the installed module, as it is.
    MODULE: another ipcguard.so to show smbd instead of build/'s."""
    dst = modules_dir()
    module_path = module
    if INSTALLED and module_path is None:
        if not os.path.exists(os.path.join(dst, 'vfs', 'ipcguard.so')):
            raise RuntimeError('%s/vfs/ipcguard.so is not installed' % dst)
        return []
    # The whole MODULESDIR: vfs/ itself exists only with samba-vfs-modules.
    layer = os.path.join(instance_dir, 'modules')
    os.makedirs(os.path.join(layer, 'vfs'), exist_ok=True)
    module = os.path.join(layer, 'vfs', 'ipcguard.so')
    shutil.copyfile(module_path or os.path.join(BUILD, 'ipcguard.so'),
                    module)
    os.chmod(module, 0o644)
    # unshare execs sh, sh execs smbd: the pid the harness holds is smbd's.
    return ['unshare', '--mount', '--propagation', 'private', '--',
            'sh', '-c', 'mount -t overlay ipcguard-test -o lowerdir="$1" '
            '"$2" && shift 2 && exec "$@"', 'sh', layer + ':' + dst, dst]


def stop_pids(find, seconds=10):
    """Stop the processes find() names, by pid: SIGTERM, then SIGKILL for
    the last five seconds.  Returns the pids still there after `seconds`
    (none: an empty list)."""
    deadline = time.time() + seconds
    while True:
        pids = find()
        if not pids or time.time() > deadline:
            return pids
        sig = signal.SIGTERM if time.time() < deadline - 5 else \
            signal.SIGKILL
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


def wait_gate(proc, ctl, wrapped, log):
    """Until the gate `proc` has bound its control socket `ctl`; a gate
    under a wrapper (valgrind) gets longer.  Returns proc; raises with
    log() if it exits or never gets there."""
    deadline = time.time() + (60 if wrapped else 20) * TIMEOUT_SCALE
    while time.time() < deadline:
        if os.path.exists(ctl):
            return proc
        if proc.poll() is not None:
            raise RuntimeError('ipcguardd exited: %s' % log())
        time.sleep(0.05)
    raise RuntimeError('ipcguardd did not start')


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def ensure_admin_user():
    subprocess.run(['groupadd', '-f', ADMIN_GROUP], check=True)
    ensure_unix_user(ADMIN_USER)
    subprocess.run(['usermod', '-a', '-G', ADMIN_GROUP, ADMIN_USER],
                   check=True)


def ensure_unix_user(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(['useradd', '-M', '-s', '/usr/sbin/nologin', name],
                       check=True)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr

    def __repr__(self):
        return 'rc=%d out=%r' % (self.rc, self.out)


class Instance:
    """What a private Samba instance of the tests has, whatever its role
    (Server here, dc.DC): its directory (self.dir) with log/, the
    processes it started (self.procs), its ipcguard options
    (self.ipcguard, written by self.write_conf())."""

    # What sanitizers print: gcc 12's UBSan ignores UBSAN_OPTIONS'
    # log_path and always writes to stderr, which is the gate's log.
    SANITIZER_OUTPUT = re.compile(
        r'runtime error: |ERROR: [A-Za-z]*Sanitizer|SUMMARY: [A-Za-z]*'
        r'Sanitizer')

    def _spawn(self, argv, logname, env=None):
        logf = open(os.path.join(self.dir, 'log', logname), 'ab')
        argv = getattr(self, 'wrap', []) + argv
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        logf.close()
        self.procs.append(p)
        return p

    def read(self, name):
        try:
            with open(os.path.join(self.dir, 'log', name), errors='replace') as f:
                return f.read()
        except (FileNotFoundError, IsADirectoryError):
            return ''

    def set_ipcguard(self, **opts):
        for k, v in opts.items():
            key = k.replace('_', ' ')
            if v is None:
                self.ipcguard.pop(key, None)
            else:
                self.ipcguard[key] = v
        self.write_conf()

    def collect_sanitizer_output(self):
        """Copy a sanitized gate's stderr into SANITIZER_LOG_DIR when it
        holds a sanitizer report, so a report is never lost with this
        instance's directory."""
        text = self.read('ipcguardd.log')
        if self.SANITIZER_OUTPUT.search(text):
            os.makedirs(SANITIZER_LOG_DIR, exist_ok=True)
            name = 'stderr.%s' % os.path.basename(self.dir)
            with open(os.path.join(SANITIZER_LOG_DIR, name), 'w') as f:
                f.write(text)

    # What the gate logs when it is done with a reload, however it went.
    GATE_RELOADED = re.compile(r'ipcguardd: (policy loaded with|reload '
                               r'rejected|could not reload)')

    def reload_gate(self, timeout=10):
        """smbcontrol ipcguardd reload-config, and wait until the gate has
        done it: smbcontrol returns once the message is sent, and a
        reload that reads a rule database takes a while under a
        sanitizer on a busy machine."""
        before = len(self.GATE_RELOADED.findall(self.logs()))
        r = self.smbcontrol('ipcguardd', 'reload-config')
        assert r.rc == 0, r
        deadline = time.time() + timeout * TIMEOUT_SCALE
        while len(self.GATE_RELOADED.findall(self.logs())) <= before:
            if time.time() > deadline:
                raise AssertionError('ipcguardd did not finish a reload')
            time.sleep(0.05)

    def wait_log(self, pattern, timeout=10):
        deadline = time.time() + timeout * TIMEOUT_SCALE
        while time.time() < deadline:
            text = self.logs()
            if re.search(pattern, text):
                return text
            time.sleep(0.1)
        raise AssertionError('log never matched %r' % pattern)



class Server(Instance):
    """One private Samba instance; use as a context manager."""

    def __init__(self, ipcguard=None, gate=True, shares=None,
                 extra_global=None, vfs=True, role=None, module=None,
                 netns=False, gate_args=None):
        self.dir = tempfile.mkdtemp(prefix='ipcguard-it-')
        CREATED_DIRS.append(self.dir)
        os.chmod(self.dir, 0o755)
        # netns: smbd, the gate and every client in a network namespace
        # of this instance's own, with only its loopback, where smbd has
        # port 445: clients that connect again by themselves (smbclient
        # following a DFS referral) only know that port.
        self.netns = None
        self.wrap = []
        if netns:
            self.netns = 'ipcg-it-%d-%s' % (os.getpid(),
                                            os.path.basename(self.dir)[-8:])
            subprocess.run(['ip', 'netns', 'add', self.netns], check=True)
            subprocess.run(['ip', '-n', self.netns, 'link', 'set', 'lo',
                            'up'], check=True)
            self.wrap = ['ip', 'netns', 'exec', self.netns]
        self.port = 445 if netns else free_port()
        self.conf = os.path.join(self.dir, 'smb.conf')
        self.gate_dir = os.path.join(self.dir, 'gate')
        self.log = os.path.join(self.dir, 'log', 'smbd.log')
        self.gate_log = os.path.join(self.dir, 'log', 'ipcguardd.log')
        self.ipcguard = dict(ipcguard or {})
        self.use_gate = gate
        # More arguments for the gate, e.g. ['-d', '10']: samba-dcerpcd,
        # which the gate starts, and its workers log at the gate's level.
        self.gate_args = list(gate_args or [])
        # More environment for the gate (NOTIFY_SOCKET, ...).
        self.gate_env = {}
        self.vfs = vfs
        self.module = module
        self.role = role
        self.extra_global = list(extra_global or [])
        self.shares = shares if shares is not None else {
            'public': {}, 'private': {},
        }
        self.procs = []
        self.gate_proc = None
        for sub in ('pid', 'lock', 'state', 'cache', 'private', 'ncalrpc',
                    'log', 'shares'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for name in self.shares:
            path = os.path.join(self.dir, 'shares', name)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o755)
            with open(os.path.join(path, 'hello.txt'), 'w') as f:
                f.write('hello from %s\n' % name)
        self.write_conf()

    # -- configuration ----------------------------------------------------

    def write_conf(self):
        d = self.dir
        lines = [
            '[global]',
            'netbios name = IPCGTEST',
            'workgroup = IPCGTEST',
            'server role = %s' % (self.role or 'standalone server'),
            'smb ports = %d' % self.port,
            'interfaces = lo',
            'bind interfaces only = yes',
            'disable netbios = yes',
            'pid directory = %s/pid' % d,
            'lock directory = %s/lock' % d,
            'state directory = %s/state' % d,
            'cache directory = %s/cache' % d,
            'private dir = %s/private' % d,
            'ncalrpc dir = %s/ncalrpc' % d,
            'log file = %s/log/%%m.log' % d,
            'max log size = 0',
            'log level = 1 ipcguard:5',
            'passdb backend = tdbsam:%s/private/passdb.tdb' % d,
            'map to guest = bad user',
            'guest account = nobody',
            'load printers = no',
            'printing = bsd',
            'printcap name = /dev/null',
            'disable spoolss = no',
            'server min protocol = NT1',
            'client min protocol = NT1',
            'restrict anonymous = 0',
            'usershare max shares = 0',
            'dns proxy = no',
        ]
        if self.vfs:
            lines.append('vfs objects = ipcguard')
        if self.use_gate:
            lines.append('external_rpc_pipe:socket_dir = %s' % self.gate_dir)
        if TIMEOUT_SCALE != 1:
            # A gate under valgrind answers its control socket slowly:
            # the module and the tool wait longer for it (a test's own
            # value, written later, wins).
            lines.append('ipcguard:gate probe timeout = %d' %
                         int(2000 * TIMEOUT_SCALE * 2))
        for k, v in self.ipcguard.items():
            lines.append('ipcguard:%s = %s' % (k, v))
        lines += self.extra_global
        for name, opts in self.shares.items():
            lines.append('[%s]' % name)
            lines.append('path = %s/shares/%s' % (d, name))
            lines.append('guest ok = yes')
            lines.append('read only = yes')
            for k, v in opts.items():
                lines.append('%s = %s' % (k, v))
        # Whole or not at all: smbd children and the gate may read
        # smb.conf while a test rewrites it (faults.py flips the policy
        # every second), and a half-written file is another policy.
        tmp = self.conf + '.new'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        os.rename(tmp, self.conf)

    # -- processes --------------------------------------------------------

    def start(self):
        ensure_unix_user(TEST_USER)
        ensure_admin_user()
        for user, password in ((TEST_USER, TEST_PASSWORD),
                               (ADMIN_USER, ADMIN_PASSWORD)):
            subprocess.run(['smbpasswd', '-c', self.conf, '-s', '-a', user],
                           input='%s\n%s\n' % (password, password),
                           text=True, check=True, capture_output=True)
        subprocess.run(['net', '-s', self.conf, 'groupmap', 'add',
                        'sid=S-1-5-32-544', 'unixgroup=%s' % ADMIN_GROUP,
                        'type=builtin'], check=True, capture_output=True)
        try:
            if self.use_gate:
                self.start_gate()
            self.start_smbd()
        except BaseException:
            # A half-started instance leaves nothing running behind it.
            self.stop()
            raise
        return self

    def restart_smbd(self):
        self._kill(self.smbd)
        self.procs.remove(self.smbd)
        self.start_smbd()

    def start_smbd(self):
        self.smbd = self._spawn(module_overlay(self.dir, self.module) + [
            'smbd', '--foreground', '--no-process-group', '-s', self.conf],
            'smbd.stdout')
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.smbd_listens():
                return self
            if self.smbd.poll() is not None:
                raise RuntimeError('smbd exited: %s' % self.logs())
            time.sleep(0.1)
        raise RuntimeError('smbd did not listen on %d' % self.port)

    def smbd_listens(self):
        if self.netns is None:
            try:
                with socket.create_connection(('127.0.0.1', self.port), 1):
                    return True
            except OSError:
                return False
        return subprocess.run(
            self.wrap + ['/usr/bin/python3', '-c',
                         'import socket; socket.create_connection('
                         '("127.0.0.1", %d), 1)' % self.port],
            capture_output=True).returncode == 0

    def start_gate(self, wait=True):
        ctl = os.path.join(self.gate_dir, 'ipcguardd.sock')
        if os.path.exists(ctl):
            os.unlink(ctl)
        # IPCGUARD_GATE_WRAPPER runs the gate under a tool, e.g. valgrind;
        # "%d" in it becomes this instance's log directory.
        wrapper = os.environ.get('IPCGUARD_GATE_WRAPPER', '')
        wrapper = wrapper.replace('%d', os.path.join(self.dir, 'log')).split()
        # The gate starts samba-dcerpcd, whose RPC servers load the
        # shares' VFS modules when they connect to a share themselves
        # (srvsvc, netdfs, ...): it sees MODULESDIR as smbd does.
        overlay = module_overlay(self.dir, self.module) if self.vfs else []
        self.gate_proc = self._spawn(
            overlay + wrapper + [GATE, '--foreground',
             '--no-process-group', '--debug-stdout', '-s', self.conf] +
            self.gate_args,
            'ipcguardd.log', env=self.gate_environment())
        if not wait:
            return self.gate_proc
        return wait_gate(self.gate_proc, ctl, bool(wrapper),
                         lambda: self.read('ipcguardd.log'))

    def gate_environment(self):
        env = sanitizer_env() if SANITIZED_GATE else None
        if self.gate_env:
            env = dict(env or os.environ, **self.gate_env)
        return env

    def stop_gate(self):
        if self.gate_proc is not None:
            self._kill(self.gate_proc)
            self.gate_proc = None

    @staticmethod
    def _kill(p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        # Helpers forked into the group (samba-dcerpcd, rpcd_*) too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


    def helper_pids(self):
        """Processes started on our behalf that left our process groups:
        samba-dcerpcd (it starts a new session) and its rpcd_* workers,
        recognised by this instance's private smb.conf on their command
        line."""
        pids = []
        marker = ('--configfile=%s' % self.conf).encode()
        for pid, args in processes():
            if marker in args:
                pids.append(pid)
        return pids

    def stop(self):
        for p in reversed(self.procs):
            self._kill(p)
        self.procs = []
        if SANITIZED_GATE:
            self.collect_sanitizer_output()
        left = stop_pids(self.helper_pids)
        if left:
            raise RuntimeError('could not stop %s' % left)
        if self.netns is not None:
            subprocess.run(['ip', 'netns', 'delete', self.netns],
                           check=True)
            self.netns = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None and not os.environ.get('IPCGUARD_KEEP'):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    # -- clients ----------------------------------------------------------

    def _auth(self, who):
        if who == 'anonymous':
            return ['-U%', '-N']
        if who == 'guest':
            # A guest session has no key to sign with.
            return ['-Unosuchuser%whatever',
                    '--option=client ipc signing=auto',
                    '--option=client signing=auto']
        if who == 'admin':
            return ['-U%s%%%s' % (ADMIN_USER, ADMIN_PASSWORD)]
        return ['-U%s%%%s' % (TEST_USER, TEST_PASSWORD)]

    def rpcclient(self, who, cmd, proto=None, timeout=60):
        argv = ['rpcclient', '-s', self.conf, '-p', str(self.port)]
        argv += self._auth(who)
        if proto:
            argv += ['--option=client max protocol=%s' % proto,
                     '--option=client min protocol=%s' % proto]
        argv += ['-c', cmd, '127.0.0.1']
        return Result(subprocess.run(self.wrap + argv, capture_output=True,
                                     text=True, timeout=timeout,
                                     env=CLIENT_ENV))

    def smbclient(self, who, share, cmd='ls', proto=None, timeout=60):
        argv = ['smbclient', '-s', self.conf, '-p', str(self.port)]
        argv += self._auth(who)
        if proto:
            argv += ['-m', proto]
        argv += ['//127.0.0.1/%s' % share, '-c', cmd]
        return Result(subprocess.run(self.wrap + argv, capture_output=True,
                                     text=True, timeout=timeout,
                                     env=CLIENT_ENV))

    def smbcontrol(self, dest, *args):
        return Result(subprocess.run(
            ['smbcontrol', '-s', self.conf, dest] + list(args),
            capture_output=True, text=True, errors='replace', timeout=30,
            env=CLIENT_ENV))

    # -- logs -------------------------------------------------------------

    def logs(self):
        out = ''
        for name in sorted(os.listdir(os.path.join(self.dir, 'log'))):
            out += self.read(name)
        return out

def anon_granted(r):
    return r.rc == 0 and 'NT_STATUS' not in r.out
