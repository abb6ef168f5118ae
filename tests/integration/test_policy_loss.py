"""Issue 11, item 5: no silent loss of policy.  A rule database that held
rules and then disappears keeps its last valid rules in force and is
reported by check, status and the log; an explicit rule database that does
not exist is an error; the tool survives every misconfiguration its man
page lists; the database and its copies are root's only."""

import os
import re
import shutil
import stat
import subprocess
import time

import pytest
from impacket.dcerpc.v5 import rprn

import harness
from harness import Server
from test_gate import got_through
from test_rules import (add_rule, bind, hardening, printer_bug, reload_all,
                        rule_db, status, wait_status)
from test_tool import TOOL, tool


def kept_copy(s):
    return os.path.join(s.dir, 'state', 'ipcguard-last-valid-rules.ldb')


def wait_file(path, timeout=10):
    deadline = time.time() + timeout
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(path), path


def test_moved_rule_database_keeps_its_rules_in_force():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        add_rule(s, 'no-private', 'action=deny', 'share=private',
                 'session=authenticated')
        reload_all(s)
        wait_status(s, r'^rules=2$')
        assert s.smbclient('user', 'private', 'pwd').rc != 0
        assert s.smbclient('user', 'public', 'pwd').rc == 0
        wait_file(kept_copy(s))

        os.rename(rule_db(s), rule_db(s) + '.moved')
        reload_all(s)
        s.wait_log(r'ipcguardd: rule database %s does not exist; keeping '
                   r'the 2 rules of its last valid copy' %
                   re.escape(rule_db(s)))
        # Both deny rules still hold against real clients: the gate's
        # (spoolss opnum 65) and the module's (share private).
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        dce.disconnect()
        r = s.smbclient('user', 'private', 'pwd')
        assert r.rc != 0, r
        assert s.smbclient('user', 'public', 'pwd').rc == 0
        s.wait_log(r'ipcguard: rule database .* does not exist; keeping '
                   r'the 2 rules')
        rc, out = tool(s, 'check')
        assert rc == 1, out
        assert 'ERROR: rule database %s does not exist; keeping the 2 ' \
            'rules of its last valid copy %s in force' % (
                rule_db(s), kept_copy(s)) in out, out
        assert 'Loaded policy is valid' not in out
        out = status(s)
        assert 'rules=2' in out, out
        assert re.search(r'^problem=rule database .* does not exist; '
                         r'keeping the 2 rules', out, re.M), out
        # A gate started now keeps them too.
        s.stop_gate()
        s.start_gate()
        out = status(s)
        assert 'rules=2' in out and 'problem=rule database' in out, out
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        dce.disconnect()
        # A new database now would replace both rules with one.
        rc, out = tool(s, 'rule', 'add', 'x', 'action=deny', 'pipe=winreg')
        assert rc == 1 and 'restore it first' in out, out
        assert not os.path.exists(rule_db(s))

        # Restored: no problem left.
        os.rename(rule_db(s) + '.moved', rule_db(s))
        reload_all(s)
        s.wait_log(r'ipcguardd: reloading the configuration')
        rc, out = tool(s, 'check')
        assert rc == 0, out
        wait_status(s, r'^rules=2$')
        assert 'problem=' not in status(s)


def test_rule_database_that_held_no_rules_may_vanish():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        add_rule(s, 'tmp', 'action=deny', 'pipe=winreg')
        rc, out = tool(s, 'rule', 'delete', 'tmp')
        assert rc == 0, out
        reload_all(s)
        wait_file(kept_copy(s))
        os.unlink(rule_db(s))
        reload_all(s)
        s.wait_log(r'ipcguardd: reloading the configuration')
        rc, out = tool(s, 'check')
        assert rc == 0, out
        assert 'problem=' not in status(s)


def test_explicit_rule_database_that_does_not_exist_is_an_error():
    s = Server(ipcguard={'null session pipes': 'lsarpc'})
    path = os.path.join(s.dir, 'private', 'rules.ldb')
    s.set_ipcguard(rule_database=path)
    rc, out = tool(s, 'check')
    assert rc == 1, out
    assert 'ERROR: rule database %s (ipcguard:rule database) does not ' \
        'exist' % path in out, out
    with s:
        # Started on it: fails closed, authenticated callers keep working.
        assert 'policy=invalid' in status(s)
        r = s.rpcclient('anonymous', 'lsaquery')
        assert not got_through(r, 'lsarpc'), r
        s.wait_log(r'invalid policy: rule database %s \(ipcguard:rule '
                   r'database\) does not exist' % re.escape(path))
        assert got_through(s.rpcclient('user', 'srvinfo'), 'srvsvc')

        hardening(s, 'printer-bug')
        assert os.path.exists(path)
        reload_all(s)
        wait_status(s, r'^policy=valid$')
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')

        os.rename(path, path + '.moved')
        reload_all(s)
        s.wait_log(r'ipcguardd: reload rejected')
        out = status(s)
        assert 'policy=valid' in out and 'rules=1' in out, out
        assert re.search(r'^problem=reload rejected, the previous policy '
                         r'stays in force: rule database .* does not exist',
                         out, re.M), out
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        dce.disconnect()
        rc, out = tool(s, 'check')
        assert rc == 1 and 'does not exist' in out, out
        # The module keeps the last valid policy of this smbd, rules too.
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')
        s.wait_log(r'ipcguard: keeping the last valid policy in force')


def test_rule_database_and_copies_are_root_only_whatever_the_umask():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        old = os.umask(0)
        try:
            add_rule(s, 'no-winreg', 'action=deny', 'pipe=winreg',
                     'session=anonymous')
            reload_all(s)
            wait_status(s, r'^rules=1$')
            # The module records the policy at a tree connect.
            assert s.smbclient('user', 'public', 'pwd').rc == 0
        finally:
            os.umask(old)
        record = os.path.join(s.dir, 'state', 'ipcguard-last-valid-policy')
        for path in (rule_db(s), kept_copy(s), record):
            wait_file(path)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode == 0o600, '%s: %o' % (path, mode)


# The misconfigurations ipcguard(8) and vfs_ipcguard(8) list, each alone
# and all at once: the tool reports them and never dies of a signal.
MISCONFIGURATIONS = {
    'no-global-vfs': dict(vfs=False),
    'share-vfs-without-ipcguard': dict(
        shares={'public': {}, 'media': {'vfs objects': 'acl_xattr'}}),
    'share-vfs-empty': dict(vfs=False, shares={'media': {'vfs objects': ''}}),
    'bad-boolean': dict(ipcguard={'guest is anonymous': 'maybe'}),
    'bad-names': dict(ipcguard={'null session shares': 'pub/lic IPC$',
                                'null session pipes': '"lsarpc lsa*'}),
    'long-name': dict(ipcguard={'null session shares': 'x' * 300}),
    'no-socket-dir': dict(gate=False),
    'socket-dir-is-ncalrpc': dict(gate=False, extra_global=[
        'external_rpc_pipe:socket_dir = NCALRPC']),
    'socket-dir-relative': dict(gate=False, extra_global=[
        'external_rpc_pipe:socket_dir = relative/dir']),
    'garbage-rule-database': dict(rules='garbage'),
    'invalid-rule-record': dict(rules='invalid'),
    'missing-explicit-rule-database': dict(ipcguard={
        'rule database': '/nonexistent/ipcguard/rules.ldb'}),
    'daemon-samba-dcerpcd': dict(extra_global=[
        'rpc start on demand helpers = no']),
}


def _misconfigured(name):
    if name == 'everything':
        kw = {'ipcguard': {}, 'extra_global': [], 'shares': {
            'public': {}, 'media': {'vfs objects': 'acl_xattr'}}}
        for v in MISCONFIGURATIONS.values():
            kw['ipcguard'].update(v.get('ipcguard', {}))
            kw['extra_global'] += v.get('extra_global', [])
        kw['vfs'] = False
        kw['gate'] = False
        rules = 'garbage'
    else:
        kw = dict(MISCONFIGURATIONS[name])
        rules = kw.pop('rules', None)
    s = Server(**kw)
    text = open(s.conf).read().replace(
        'NCALRPC', os.path.join(s.dir, 'ncalrpc'))
    with open(s.conf, 'w') as f:
        f.write(text)
    if rules == 'garbage':
        with open(rule_db(s), 'wb') as f:
            f.write(b'\x00not an ldb file\xff' * 64)
    elif rules == 'invalid':
        rc, out = tool(s, 'rule', 'add', 'ok', 'action=deny', 'pipe=winreg')
        assert rc == 0, out
        import ldb
        db = ldb.Ldb('tdb://' + rule_db(s))
        msg = ldb.Message(ldb.Dn(db, 'CN=bad,CN=ipcguard-rules'))
        msg['objectClass'] = 'ipcguardRule'
        msg['name'] = 'bad'
        msg['action'] = 'deny'
        msg['opnum'] = '9-1'
        db.add(msg)
    return s


@pytest.mark.parametrize('name', sorted(MISCONFIGURATIONS) + ['everything'])
def test_tool_never_crashes_on_a_misconfiguration(name):
    s = _misconfigured(name)
    try:
        for args in (['check'], ['show'], ['status'], ['rule', 'list'],
                     ['explain', 'anonymous', 'pipe', 'lsarpc'],
                     ['explain', 'anonymous', 'ipc'],
                     ['explain', 'guest', 'share', 'media']):
            r = subprocess.run([TOOL, '-s', s.conf] + args,
                               capture_output=True, text=True, timeout=30)
            # Samba's fault handler turns a crash into a backtrace and
            # exit 1 ("Can not dump core"), so the text tells.
            assert r.returncode in (0, 1, 2), \
                (args, r.returncode, r.stdout + r.stderr)
            assert 'INTERNAL ERROR' not in r.stdout + r.stderr and \
                'PANIC' not in r.stdout + r.stderr, \
                (args, r.stdout + r.stderr)
            if args == ['check']:
                assert r.returncode == 1, r.stdout
                assert re.search(r'^ERROR: ', r.stdout, re.M), r.stdout
                assert re.search(r'^\d+ problems?$', r.stdout, re.M), \
                    r.stdout
                check = r.stdout
        if name in ('no-global-vfs', 'everything'):
            assert '[global] vfs objects does not list ipcguard' in check
            assert '[public] has no vfs objects' in check, check
        if name == 'share-vfs-empty':
            assert '[media] has no vfs objects' in check, check
        if name == 'daemon-samba-dcerpcd':
            assert 'rpc start on demand helpers = no: samba-dcerpcd runs ' \
                'as a daemon and also serves ncacn_ip_tcp' in check, check
    finally:
        shutil.rmtree(s.dir, ignore_errors=True)


def test_record_that_lost_its_object_class_is_an_error():
    """ldbmodify can take a rule's objectClass away; the rule must not
    drop out of the policy without a word."""
    import ldb
    s = Server(ipcguard={'null session pipes': 'lsarpc'})
    try:
        hardening(s, 'printer-bug')
        db = ldb.Ldb('tdb://' + rule_db(s))
        msg = ldb.Message(ldb.Dn(db, 'CN=printer-bug,CN=ipcguard-rules'))
        msg['objectClass'] = ldb.MessageElement([], ldb.FLAG_MOD_DELETE,
                                                'objectClass')
        db.modify(msg)
        del db
        rc, out = tool(s, 'check')
        assert rc == 1, out
        assert 'record CN=printer-bug,CN=ipcguard-rules is not a rule' in \
            out, out
        rc, out = tool(s, 'rule', 'list')
        assert rc == 1 and 'is not a rule' in out, out
    finally:
        shutil.rmtree(s.dir, ignore_errors=True)
