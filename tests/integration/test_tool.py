"""The ipcguard tool: check, show, explain (agreeing with real clients) and
status (figures from the running gate)."""

import os
import re
import subprocess

import pytest

import harness
from harness import Server
from test_gate import got_through

TOOL = os.path.join(harness.BUILD, 'ipcguard')


def tool(s, *args):
    r = subprocess.run([TOOL, '-s', s.conf] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_check_accepts_a_good_policy():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        rc, out = tool(s, 'check')
        assert rc == 0, out
        assert 'Loaded policy is valid' in out


def test_check_reports_each_problem():
    opts = {'null session pipes': 'lsa*', 'guest is anonymous': 'maybe'}
    shares = {'public': {}, 'media': {'vfs objects': 'acl_xattr'}}
    with Server(ipcguard=opts, shares=shares) as s:
        s.stop_gate()
        rc, out = tool(s, 'check')
    assert rc == 1, out
    assert "ipcguard:null session pipes: pipe name \"lsa*\"" in out, out
    assert 'ipcguard:guest is anonymous = "maybe" is not a boolean' in out
    assert '[media] vfs objects = acl_xattr does not list ipcguard' in out
    assert '[public]' not in out
    assert 'ipcguardd is not answering' in out
    assert '4 problems' in out


def test_check_without_gate_routing():
    with Server(ipcguard={'null session pipes': 'lsarpc'}, gate=False) as s:
        rc, out = tool(s, 'check')
    assert rc == 1 and 'external_rpc_pipe:socket_dir is not set' in out


def test_show_marks_defaults():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        rc, out = tool(s, 'show')
    assert rc == 0
    assert re.search(r'ipcguard:null session pipes = lsarpc\n', out), out
    assert re.search(r'ipcguard:restrict null session access = yes\t# '
                     r'default', out), out


def _actual(s, who, kind, name):
    if kind == 'share':
        # The tree connect, not file access (the Everyone rule may still
        # refuse a listing on an allowed share).
        r = s.smbclient(who, name, 'pwd')
        return 'tree connect failed' not in r.out and r.rc == 0
    r = s.rpcclient(who, {'lsarpc': 'lsaquery', 'srvsvc': 'srvinfo'}[name])
    return got_through(r, name)


@pytest.mark.parametrize('opts', [
    {'null session pipes': 'lsarpc', 'null session shares': 'public',
     'everyone includes anonymous': 'yes'},
    {'null session shares': 'public', 'guest is anonymous': 'no'},
    {},
])
def test_explain_agrees_with_real_clients(opts):
    with Server(ipcguard=opts) as s:
        for who, caller in (('anonymous', 'anonymous'), ('guest', 'guest'),
                            ('user', harness.TEST_USER)):
            for kind, name in (('share', 'public'), ('share', 'private'),
                               ('pipe', 'lsarpc'), ('pipe', 'srvsvc')):
                rc, out = tool(s, 'explain', caller, kind, name)
                predicted = rc == 0
                assert predicted == out.startswith('ALLOW'), out
                actual = _actual(s, who, kind, name)
                assert predicted == actual, (who, kind, name, out)


def test_status_counts_per_pipe():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        s.rpcclient('anonymous', 'lsaquery')
        s.rpcclient('anonymous', 'srvinfo')
        s.rpcclient('anonymous', 'srvinfo')
        rc, out = tool(s, 'status')
        assert rc == 0, out
        assert 'policy=valid' in out
        assert re.search(r'^pipe=lsarpc allowed=1 refused=0$', out, re.M), out
        assert re.search(r'^pipe=srvsvc allowed=0 refused=2$', out, re.M), out
        s.stop_gate()
        rc, out = tool(s, 'status')
        assert rc == 1 and 'not answering' in out, out


def test_explain_takes_a_client_address():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc', 'from',
                       '2001:db8::7')
        assert rc == 0 and out.startswith('ALLOW'), out
        assert 'no rule of this policy depends on the client address' in out
        rc, out = tool(s, 'explain', 'anonymous', 'ipc', 'from', '192.0.2.7')
        assert rc == 0, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc', 'from',
                       'not-an-address')
        assert rc == 2 and 'is not an IPv4 or IPv6 address' in out, out


@pytest.mark.parametrize('program', ['ipcguard', 'ipcguardd'])
def test_version_names_the_samba_it_was_built_for(program):
    # An admin asks a build whether it fits the installed Samba.
    path = harness.GATE if program == 'ipcguardd' else TOOL
    r = subprocess.run([path, '--version'], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r
    assert re.fullmatch(
        r'%s \S+ \(build %s\) for Samba %s \(package samba %s\)\n' % (
            program, re.escape(harness.build_id()),
            re.escape(harness.samba_upstream_version()),
            re.escape(harness.samba_package_version())), r.stdout), r.stdout
