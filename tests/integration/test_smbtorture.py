"""Transparency: Samba's own RPC test suites (smbtorture, from
samba-testsuite) give an authenticated client the same result for every
test through the gate as against plain Samba, measured in the same run.

The suites pipeline calls, bind and alter contexts on one association,
share handles between pipes and fragment large calls: what the gate's
call matching (every answer paired with exactly its call) and context
tracking must pass on untouched."""

import os
import re
import subprocess

import pytest

import harness
from harness import Server

# Suites that run against a standalone server; each a few seconds.
SUITES = ['rpc.srvsvc', 'rpc.bind', 'rpc.altercontext', 'rpc.handles',
          'rpc.lsa', 'rpc.lsa.lookupsids', 'rpc.lsa.lookupnames',
          'rpc.winreg', 'rpc.wkssvc', 'rpc.spoolss', 'rpc.epmapper',
          'rpc.dfs', 'rpc.eventlog', 'rpc.svcctl', 'rpc.mdssvc',
          'rpc.initshutdown']
OUTCOME = re.compile(r'^(success|failure|error|skip|xfail): (.+?)(?: \[|$)')


def torture(s, who, suite, target='ncacn_np:127.0.0.1'):
    user, password = {
        'admin': (harness.ADMIN_USER, harness.ADMIN_PASSWORD),
        'user': (harness.TEST_USER, harness.TEST_PASSWORD)}[who]
    r = subprocess.run(
        ['smbtorture', target, '-U%s%%%s' % (user, password),
         '--option=smbports=%d' % s.port, suite],
        capture_output=True, text=True, errors='replace', timeout=600,
        env=harness.CLIENT_ENV)
    out = {}
    for line in r.stdout.splitlines():
        m = OUTCOME.match(line)
        if m:
            out['%s: %s' % (suite, m.group(2))] = m.group(1)
    return out


def results(who, gated, ipcguard):
    with Server(ipcguard=ipcguard, vfs=gated, gate=gated) as s:
        out = {}
        for suite in SUITES:
            out.update(torture(s, who, suite))
        if gated:
            # Each suite went through the gate.
            s.wait_log(r"ipcguardd: allowed pipe 'spoolss' to "
                       r"authenticated session")
        return out


@pytest.mark.parametrize('who,ipcguard', [
    ('admin', {'null session pipes': 'lsarpc'}),
    # Without RestrictRemoteSAM and the remote registry's restriction,
    # which are policy, not protocol: the gate refuses with a fault what
    # Samba would refuse with an error code.
    ('user', {'null session pipes': 'lsarpc', 'restrict remote sam':
              'none', 'remote registry access': 'none'}),
])
def test_rpc_suites_give_the_same_results_through_the_gate(who, ipcguard):
    plain = results(who, False, ipcguard)
    gated = results(who, True, ipcguard)
    assert sum(v == 'success' for v in plain.values()) > 30, plain
    differ = {name: (plain.get(name), gated.get(name))
              for name in set(plain) | set(gated)
              if plain.get(name) != gated.get(name)}
    assert not differ, differ


def session_results(gated):
    """smb2.session (re-authentication of sessions holding opens, binding
    channels, ...) on a writable share, with the module loaded or not."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}, vfs=gated,
                gate=gated, shares={'rw': {'read only': 'no'}}) as s:
        os.chmod(os.path.join(s.dir, 'shares', 'rw'), 0o777)
        return torture(s, 'user', 'smb2.session', '//127.0.0.1/rw')


def test_smb2_session_suite_gives_the_same_results_with_the_module():
    plain = session_results(False)
    gated = session_results(True)
    assert sum(v == 'success' for v in plain.values()) > 30, plain
    differ = {name: (plain.get(name), gated.get(name))
              for name in set(plain) | set(gated)
              if plain.get(name) != gated.get(name)}
    assert not differ, differ
