"""Policy changes reach running smbd and ipcguardd through smbcontrol and
registry configuration, without restarts (groundwork for issue 4)."""

import os
import re
import subprocess
import time

import pytest
from impacket.dcerpc.v5 import lsad, srvs, transport
from impacket.smbconnection import SMBConnection

import harness
from harness import Server
from test_gate import bind_pipe, got_through, gate_refused


def _reload_all(s):
    r = s.smbcontrol('all', 'reload-config')
    assert r.rc == 0, r


def test_smbcontrol_finds_the_gate_by_name():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        r = s.smbcontrol('ipcguardd', 'ping')
        assert r.rc == 0 and 'PONG' in r.out, r


def test_reload_changes_the_next_anonymous_call():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        s.set_ipcguard(null_session_pipes='lsarpc srvsvc')
        _reload_all(s)
        s.wait_log(r'ipcguardd: reloading the configuration')
        deadline = time.time() + 10
        while True:
            r = s.rpcclient('anonymous', 'srvinfo')
            if got_through(r, 'srvsvc') or time.time() > deadline:
                break
            time.sleep(0.2)
        assert got_through(r, 'srvsvc'), r


def test_tightening_reload_ends_a_live_refused_pipe():
    with Server(ipcguard={'null session pipes': 'lsarpc srvsvc'}) as s:
        conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=s.port)
        conn.login('', '')
        t = transport.SMBTransport('127.0.0.1', s.port, filename='\\srvsvc',
                                   smb_connection=conn)
        dce = t.get_dce_rpc()
        dce.connect()
        dce.bind(srvs.MSRPC_UUID_SRVS)
        srvs.hNetrServerGetInfo(dce, 101)
        s.set_ipcguard(null_session_pipes='lsarpc')
        _reload_all(s)
        s.wait_log(r"ended pipe 'srvsvc' of anonymous session .* after "
                   r"reload: rule null-session-pipes")
        with pytest.raises(Exception):
            srvs.hNetrServerGetInfo(dce, 101)


def anonymous_lsa(s):
    return bind_pipe(s, 'anonymous', '\\lsarpc', lsad.MSRPC_UUID_LSAD)


def test_reload_that_takes_everyone_away_ends_a_pipe_holding_it():
    """Issue 24: the RPC server checks access with the token the gate
    composed at the open.  A reload that takes Everyone from anonymous
    ends the pipes whose token still has it; the allowed path (a new
    pipe, composed without Everyone, and authenticated pipes) goes on."""
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        held = anonymous_lsa(s)
        lsad.hLsarOpenPolicy2(held)
        user = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in user.out, user
        s.set_ipcguard(everyone_includes_anonymous='no')
        s.reload_gate()
        s.wait_log(r"ended pipe 'lsarpc' of anonymous session .* after "
                   r"reload: the RPC server holds its token with Everyone, "
                   r"which the policy now takes from anonymous sessions")
        with pytest.raises(Exception):
            lsad.hLsarOpenPolicy2(held)
        # A new anonymous pipe is allowed, with Everyone taken away: the
        # LSA server refuses its policy handle (granted to Everyone).
        fresh = anonymous_lsa(s)
        with pytest.raises(lsad.DCERPCSessionError) as e:
            lsad.hLsarOpenPolicy2(fresh)
        assert 'STATUS_ACCESS_DENIED' in str(e.value), e.value
        user = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in user.out, user
        # Relaxing it again ends nothing: the fresh pipe's token only
        # lacks what the policy would now give.
        s.set_ipcguard(everyone_includes_anonymous='yes')
        s.reload_gate()
        with pytest.raises(lsad.DCERPCSessionError):
            lsad.hLsarOpenPolicy2(fresh)


def test_invalid_reload_keeps_the_last_valid_policy_in_the_gate():
    # Without the module: the gate alone keeps its last valid policy.  (The
    # module re-reads the policy in each new smbd child and refuses
    # anonymous connects while it is invalid.)
    with Server(ipcguard={'null session pipes': 'lsarpc srvsvc'},
                vfs=False) as s:
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        s.set_ipcguard(restrict_null_session_access='sometimes')
        _reload_all(s)
        s.wait_log(r'ipcguardd: reload rejected, keeping the previous '
                   r'policy in force')
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert gate_refused(s.rpcclient('anonymous', 'enumdomains'), 'samr')


def test_invalid_policy_at_start_refuses_anonymous_pipes():
    opts = {'null session pipes': 'lsarpc srvsvc',
            'guest is anonymous': 'perhaps'}
    with Server(ipcguard=opts, vfs=False) as s:
        # Without the module in the way, the gate alone must refuse.
        r = s.rpcclient('anonymous', 'srvinfo')
        assert gate_refused(r, 'srvsvc'), r
        s.wait_log(r'ipcguardd: no valid policy')
        assert got_through(s.rpcclient('user', 'srvinfo'), 'srvsvc')


def test_registry_configuration_via_net_conf():
    """Policy set with net conf setparm is the one the module and the gate
    apply.  The test uses "include = registry", which reads the registry's
    [global] at that point of the file: "config backend = registry" would
    re-initialise the globals, lose this instance's private state
    directory and use the machine's own registry."""
    s = Server(ipcguard={}, gate=True,
               extra_global=['include = registry'])
    net = ['net', '-s', s.conf, 'conf']
    for name, value in (('ipcguard:null session pipes', 'lsarpc'),
                        ('ipcguard:everyone includes anonymous', 'yes')):
        subprocess.run(net + ['setparm', 'global', name, value],
                       check=True, capture_output=True)
    assert os.path.exists(os.path.join(s.dir, 'state', 'registry.tdb'))
    with s:
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in r.out, r
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        subprocess.run(net + ['setparm', 'global',
                              'ipcguard:null session pipes',
                              'lsarpc srvsvc'],
                       check=True, capture_output=True)
        _reload_all(s)
        s.wait_log(r'ipcguardd: reloading the configuration')
        time.sleep(0.5)
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')


def test_an_edit_of_smb_conf_reaches_the_gate_without_a_reload():
    """Issue 30, item 2: smbd's processes follow a changed smb.conf by
    themselves (at each new connection), and the gate follows within a
    second: the module and the gate never keep different policies until
    somebody reloads."""
    with Server(ipcguard={'null session pipes': 'lsarpc srvsvc'}) as s:
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        time.sleep(1.1)     # Samba compares modification times in seconds
        s.set_ipcguard(null_session_pipes='lsarpc')
        s.wait_log(r'ipcguardd: the configuration changed; reloading it')
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')
        assert got_through(s.rpcclient('user', 'srvinfo'), 'srvsvc')


def test_net_conf_setparm_reaches_the_gate_without_a_reload():
    """The same with the registry configuration (include = registry): a
    net conf setparm changes its sequence number, which the gate watches
    as smbd does."""
    s = Server(ipcguard={}, gate=True, extra_global=['include = registry'])
    net = ['net', '-s', s.conf, 'conf']
    subprocess.run(net + ['setparm', 'global', 'ipcguard:null session pipes',
                          'lsarpc srvsvc'], check=True, capture_output=True)
    with s:
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        subprocess.run(net + ['setparm', 'global',
                              'ipcguard:null session pipes', 'lsarpc'],
                       check=True, capture_output=True)
        s.wait_log(r'ipcguardd: the configuration changed; reloading it')
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')


def test_smbcontrol_debug_and_pool_usage_reach_the_gate():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        r = s.smbcontrol('ipcguardd', 'debug', '4')
        assert r.rc == 0, r
        r = s.smbcontrol('ipcguardd', 'debuglevel')
        assert r.rc == 0 and 'ipcguard:4' in r.out.replace(' ', ''), r
        r = s.smbcontrol('ipcguardd', 'pool-usage')
        assert r.rc == 0 and 'talloc' in r.out, r
        # The report is the gate's own pool: its top context is there.
        # (Samba prints talloc chunks named "char" with "%*s" and shows
        # whatever bytes loadparm's Globals.ctx holds; those bytes can be
        # anything, so nothing here depends on them.)
        assert re.search(r'^ *struct ipcguardd +contains ', r.out, re.M), r


def test_invalid_reload_keeps_the_last_valid_policy_in_smbd():
    opts = {'null session pipes': 'lsarpc srvsvc',
            'null session shares': 'public'}
    with Server(ipcguard=opts) as s:
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        s.set_ipcguard(null_session_shares='pub/lic')
        _reload_all(s)
        # New smbd children see the broken smb.conf and keep the last valid
        # policy: listed pipes and shares stay reachable, others refused.
        assert got_through(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert s.smbclient('anonymous', 'public', 'pwd').rc == 0
        assert 'NT_STATUS_UNSUCCESSFUL' in \
            s.smbclient('anonymous', 'private', 'pwd').out
        s.wait_log(r'ipcguard: keeping the last valid policy in force')
        # A restart with the broken policy is a start: fail closed.
        s.restart_smbd()
        r = s.smbclient('anonymous', 'public', 'pwd')
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out, r
        s.wait_log(r'ipcguard: no valid policy since smbd started')
        assert s.smbclient('user', 'public', 'pwd').rc == 0
