"""Issue 6: rules from the ldb rule database, judged by the gate on every
pipe open, bind, alter context and request, and by the module on shares.
Real smbd, samba-dcerpcd and rpcclient; impacket where a specific opnum,
alter context, fragment size or sealing is needed."""

import json
import os
import re
import subprocess
import time

import ldb
import pytest
from impacket.dcerpc.v5 import lsad, lsat, nrpc, rprn, samr, transport
from impacket.dcerpc.v5.dtypes import NULL
from impacket import uuid
from impacket.dcerpc.v5.rpcrt import (DCERPCException, MSRPCRequestHeader,
                                      RPC_C_AUTHN_LEVEL_PKT_PRIVACY)

import harness
from harness import Server
from test_gate import got_through, gate_refused, smb_session
from test_tool import tool

HARDENING = os.path.join(harness.ROOT, 'examples', 'hardening-rules.sh')


def hardening(s, example):
    """The shipped examples, added the way the docs say."""
    env = dict(os.environ, IPCGUARD=os.path.join(harness.BUILD, 'ipcguard'))
    r = subprocess.run([HARDENING, example, '-s', s.conf], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def bind(s, pipe, uuid, who='user', frag=None, seal=False, bogus=0):
    conn = smb_session(s, who)
    t = transport.SMBTransport('127.0.0.1', s.port, filename=pipe,
                               smb_connection=conn)
    dce = t.get_dce_rpc()
    if seal:
        dce.set_credentials(harness.TEST_USER, harness.TEST_PASSWORD)
        dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    if frag is not None:
        dce.set_max_fragment_size(frag)
    dce.bind(uuid, bogus_binds=bogus)
    return dce


def refused(e):
    return 'rpc_s_access_denied' in str(e)


def printer_bug(dce):
    """Calls opnum 65 the way the coercion tools do; returns 'refused' when
    the gate answers with access denied, 'reached' when the spooler ran
    it (whatever it answered)."""
    handle = rprn.hRpcOpenPrinter(dce, '\\\\127.0.0.1\x00')['pHandle']
    try:
        rprn.hRpcRemoteFindFirstPrinterChangeNotificationEx(
            dce, handle, rprn.PRINTER_CHANGE_ADD_JOB,
            pszLocalMachine='\\\\127.0.0.1\x00')
    except DCERPCException as e:
        return 'refused' if refused(e) else 'reached'
    return 'reached'


def user_sid(s):
    out = subprocess.run(['pdbedit', '-s', s.conf, '-L', '-v',
                          harness.TEST_USER], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r'User SID:\s*(S-[0-9-]+)', out).group(1)


def reload_all(s):
    s.reload_gate()
    assert s.smbcontrol('smbd', 'reload-config').rc == 0


def add_rule(s, name, *fields):
    rc, out = tool(s, 'rule', 'add', name, *fields)
    assert rc == 0, out
    return out


def status(s):
    rc, out = tool(s, 'status')
    assert rc == 0, out
    return out


def wait_status(s, pattern, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = status(s)
        if re.search(pattern, out, re.M):
            return out
        time.sleep(0.1)
    raise AssertionError('status never matched %r: %s' % (pattern, out))


def rule_db(s):
    return os.path.join(s.dir, 'state', 'ipcguard-rules.ldb')


def test_printer_bug_blocked_by_one_rule_and_a_reload():
    """The README's walk-through: before the rule the spooler runs opnum
    65; after one rule add and a reload impacket's call is refused while
    rpcclient enumprinters keeps working; the log names the call."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'reached'
        dce.disconnect()
        out = hardening(s, 'printer-bug')
        assert 'reload-config' in out
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        # The same binding still runs everything else.
        rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        dce.disconnect()
        r = s.rpcclient('user', 'enumprinters')
        assert got_through(r, 'spoolss') and 'ACCESS_DENIED' not in r.out, r
        s.wait_log(r"refused call spoolss opnum 65 "
                   r"\(spoolss_RemoteFindFirstPrinterChangeNotifyEx\) on "
                   r"pipe 'spoolss' to authenticated session \(user "
                   r"'.*ipcgtuser'.*rule printer-bug")
        out = wait_status(s, r'^rule=printer-bug allowed=0 refused=1 ')
        assert 'rpc_refused=1' in out


def test_security_descriptor_exempts_the_callers_it_grants():
    """The printer-bug rule's SDDL says who may still call: BA does not
    hold the test user, its own SID does."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        sid = user_sid(s)
        add_rule(s, 'printer-bug-but-me', 'action=deny', 'pipe=spoolss',
                 'interface=spoolss', 'opnum=62,65',
                 'sddl=D:(A;;GA;;;%s)' % sid)
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'reached'


@pytest.mark.parametrize('sddl_who,allowed', [('BA', False), ('SID', True)])
def test_per_pipe_security_descriptor(sddl_who, allowed):
    """A deny rule with an SDDL refuses the pipe to every caller the
    descriptor does not grant, authenticated ones included."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        who = user_sid(s) if sddl_who == 'SID' else 'BA'
        add_rule(s, 'srvsvc-admins', 'action=deny', 'pipe=srvsvc',
                 'sddl=D:(A;;GA;;;%s)' % who)
        reload_all(s)
        wait_status(s, r'^rules=1$')
        r = s.rpcclient('user', 'srvinfo')
        if allowed:
            assert got_through(r, 'srvsvc') and 'IPCGTEST' in r.out, r
        else:
            assert gate_refused(r, 'srvsvc'), r
            s.wait_log(r"refused pipe 'srvsvc' to authenticated session.*"
                       r"rule srvsvc-admins")


def test_audit_only_logs_and_lets_through():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        rc, out = tool(s, 'rule', 'add', 'printer-bug-audit', 'action=deny',
                       'pipe=spoolss', 'interface=spoolss', 'opnum=62,65',
                       'audit-only=yes')
        assert rc == 0, out
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'reached'
        s.wait_log(r"rule printer-bug-audit \(audit only\) would refuse "
                   r"request "
                   r"on pipe 'spoolss' to authenticated session")
        wait_status(s, r'^rule=printer-bug-audit allowed=0 refused=0 '
                    r'audit_only_matches=[1-9]')
        assert 'rpc_refused=0' in status(s)


def test_alter_context_to_another_interface_is_refused():
    """Binding lsarpc works; an alter context to SAMR over the lsarpc pipe
    is refused with access denied; the first context keeps working."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'own-interfaces')
        # Before the reload the alter context reaches samba-dcerpcd,
        # which may accept it or reject the syntax, but does not fault.
        dce = bind(s, '\\lsarpc', lsat.MSRPC_UUID_LSAT)
        try:
            dce.alter_ctx(samr.MSRPC_UUID_SAMR)
        except DCERPCException as e:
            assert not refused(e), e
        reload_all(s)
        wait_status(s, r'^rules=16$')
        dce = bind(s, '\\lsarpc', lsat.MSRPC_UUID_LSAT)
        with pytest.raises(DCERPCException) as e:
            dce.alter_ctx(samr.MSRPC_UUID_SAMR)
        assert refused(e.value), e.value
        lsad.hLsarOpenPolicy2(dce, lsad.POLICY_LOOKUP_NAMES)
        s.wait_log(r"refused binding samr on pipe 'lsarpc' to "
                   r"authenticated session.*rule other-interfaces")
        # A plain bind straight to SAMR on lsarpc is refused as well.
        with pytest.raises(DCERPCException) as e:
            bind(s, '\\lsarpc', samr.MSRPC_UUID_SAMR)
        assert refused(e.value), e.value


def test_bind_with_several_contexts_is_judged_on_each():
    """impacket's bogus contexts are random interfaces: with them a bind
    for lsarpc is refused, without them it is accepted."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'own-interfaces')
        reload_all(s)
        wait_status(s, r'^rules=16$')
        with pytest.raises(DCERPCException) as e:
            bind(s, '\\lsarpc', lsat.MSRPC_UUID_LSAT, bogus=2)
        assert refused(e.value), e.value
        dce = bind(s, '\\lsarpc', lsat.MSRPC_UUID_LSAT)
        lsad.hLsarOpenPolicy2(dce, lsad.POLICY_LOOKUP_NAMES)


@pytest.mark.parametrize('frag', [16, 64])
def test_fragmented_requests_are_judged(frag):
    """Requests cut into fragments of a few bytes: the refused opnum gets
    one fault after its last fragment, allowed calls still work."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN, frag=frag)
        assert printer_bug(dce) == 'refused'
        r = rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        assert r['ErrorCode'] == 0
        assert printer_bug(dce) == 'refused'


def test_sealed_requests_are_judged_on_the_clear_header():
    """The gate never sees the session key: it judges a sealed request by
    its clear header.  The refused call consumed one of the client's
    sequence numbers the server never saw, so that binding is spent (see
    ipcguardd(8)); a new one works."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN, seal=True)
        r = rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        assert r['ErrorCode'] == 0
        assert printer_bug(dce) == 'refused'
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN, seal=True)
        r = rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        assert r['ErrorCode'] == 0
        s.wait_log(r"refused call spoolss opnum 65 .*rule printer-bug")


def test_fragments_that_change_their_opnum_end_the_pipe():
    """A first fragment of an allowed call followed by a last fragment
    claiming the refused opnum: the gate closes the pipe."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        for flags, opnum in ((1, 1), (2, 65)):   # FIRST, then LAST
            req = MSRPCRequestHeader()
            req['type'] = 0
            req['flags'] = flags
            req['call_id'] = 40
            req['ctx_id'] = 0
            req['op_num'] = opnum
            req['pduData'] = b'\0' * 32
            try:
                dce.get_rpc_transport().send(req.getData())
            except Exception:
                break
        s.wait_log(r"request fragments do not continue the call they "
                   r"belong to; closing")


def test_address_conditions_ipv4_and_ipv6():
    """An allow rule opens srvsvc to anonymous callers from 127.0.0.0/8
    only; a share rule refuses loopback IPv4 but not an IPv6 range."""
    shares = {'public': {}, 'private': {}}
    with Server(ipcguard={'null session pipes': 'lsarpc',
                          'everyone includes anonymous': 'yes'},
                shares=shares) as s:
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        add_rule(s, 'srvsvc-from-far', 'action=allow', 'pipe=srvsvc',
                 'session=anonymous', 'address=10.0.0.0/8')
        add_rule(s, 'private-v6', 'action=deny', 'share=private',
                 'address=fd00::/8')
        reload_all(s)
        wait_status(s, r'^rules=2$')
        assert gate_refused(s.rpcclient('anonymous', 'srvinfo'), 'srvsvc')
        assert s.smbclient('user', 'private').rc == 0
        tool(s, 'rule', 'delete', 'srvsvc-from-far')
        tool(s, 'rule', 'delete', 'private-v6')
        add_rule(s, 'srvsvc-from-here', 'action=allow', 'pipe=srvsvc',
                 'session=anonymous', 'address=127.0.0.0/8,::1')
        add_rule(s, 'private-loopback', 'action=deny', 'share=private',
                 'address=127.0.0.1/32')
        reload_all(s)
        wait_status(s, r'^rules=2$')
        r = s.rpcclient('anonymous', 'srvinfo')
        assert got_through(r, 'srvsvc') and 'IPCGTEST' in r.out, r
        r = s.smbclient('user', 'private')
        assert r.rc != 0, r
        s.wait_log(r"refused share 'private' to authenticated session.*"
                   r"rule private-loopback")
        assert s.smbclient('user', 'public').rc == 0


def test_invalid_rules_are_refused_when_written():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        cases = [
            (['action=maybe', 'pipe=spoolss'], "field action: \"maybe\""),
            (['action=deny'], 'a rule needs a share or a pipe field'),
            (['action=deny', 'pipe=spoolss', 'opnum=65'],
             'field opnum: needs an interface field'),
            (['action=deny', 'pipe=spoolss', 'interface=spoolss',
              'opnum=70000'], 'field opnum: "70000" is not an opnum'),
            (['action=deny', 'pipe=spoolss', 'interface=spoolss',
              'opnum=9-3'], 'ends before it starts'),
            (['action=deny', 'pipe=spoolss', 'interface=nosuchiface'],
             'field interface: "nosuchiface" is neither a UUID'),
            (['action=deny', 'pipe=spoolss',
              'interface=12345678-1234-abcd-ef00-0123456789ab/x'],
             'field interface'),
            (['action=deny', 'pipe=spoolss', 'sddl=D:(A;;GA;;;XX)'],
             'field sddl'),
            (['action=deny', 'pipe=spoolss', 'sddl=O:BA'],
             'field sddl: "O:BA" has no DACL'),
            (['action=deny', 'pipe=spoolss', 'address=10.0.0.1/8'],
             'field address: "10.0.0.1/8" has bits set'),
            (['action=deny', 'pipe=spoolss', 'address=300.1.1.1'],
             'field address: "300.1.1.1" is not an IPv4 or IPv6'),
            (['action=deny', 'pipe=spool/ss'], 'field pipe'),
            (['action=deny', 'pipe=spoolss', 'share=public'],
             'not both'),
            (['action=deny', 'pipe=spoolss', 'colour=red'],
             'field colour: is not a rule field'),
            (['action=deny', 'pipe=spoolss', 'session=admins'],
             'field session: "admins"'),
            (['action=deny', 'pipe=spoolss', 'order=-1'], 'field order'),
        ]
        for fields, message in cases:
            rc, out = tool(s, 'rule', 'add', 'bad', *fields)
            assert rc == 1 and message in out, (fields, out)
        rc, out = tool(s, 'rule', 'add', 'bad name', 'action=deny',
                       'pipe=x')
        assert rc == 1 and 'rule name "bad name"' in out, out
        assert not os.path.exists(rule_db(s)) or \
            tool(s, 'rule', 'list')[1].strip() == ''
        add_rule(s, 'ok', 'action=deny', 'pipe=spoolss')
        rc, out = tool(s, 'rule', 'add', 'ok', 'action=deny', 'pipe=samr')
        assert rc == 1 and "a rule named 'ok' already exists" in out, out
        rc, out = tool(s, 'rule', 'delete', 'nosuchrule')
        assert rc == 1 and "there is no rule 'nosuchrule'" in out, out


def write_raw_rule(s, name, **attrs):
    """A record written behind the tool's back, as ldbmodify would."""
    db = ldb.Ldb('tdb://' + rule_db(s))
    msg = ldb.Message(ldb.Dn(db, 'CN=%s,CN=ipcguard-rules' % name))
    msg['objectClass'] = 'ipcguardRule'
    msg['name'] = name
    for k, v in attrs.items():
        msg[k.replace('_', '-')] = v
    db.add(msg)


def test_invalid_rule_at_load_keeps_the_last_valid_policy():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        # smbd's module records the valid policy at a tree connect.
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')
        write_raw_rule(s, 'broken', action='deny', pipe='spoolss',
                       interface='spoolss', opnum='65-1')
        write_raw_rule(s, 'nul', action='deny', pipe='spoolss',
                       description=ldb.MessageElement(
                           [b'ok\x00evil'], ldb.FLAG_MOD_ADD, 'description'))
        rc, out = tool(s, 'check')
        assert rc == 1 and "rule 'broken', field opnum" in out, out
        assert "rule 'nul', field description: \"\\x01(NUL byte)\" " \
            "contains control characters" in out, out
        reload_all(s)
        s.wait_log(r"invalid policy: rule database .*rule 'broken', field "
                   r"opnum: the range \"65-1\" ends before it starts")
        s.wait_log(r"reload rejected, keeping the previous policy")
        # Still the one-rule policy: valid, printer bug refused,
        # anonymous LSA still allowed.
        out = status(s)
        assert 'policy=valid' in out and 'rules=1' in out, out
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        assert got_through(s.rpcclient('anonymous', 'lsaquery'), 'lsarpc')
        # A gate started on the broken database fails closed.
        s.stop_gate()
        s.start_gate()
        out = status(s)
        assert 'policy=invalid' in out, out
        r = s.rpcclient('anonymous', 'lsaquery')
        assert gate_refused(r, 'lsarpc'), r
        s.wait_log(r"refused pipe 'lsarpc' to anonymous session.*"
                   r"rule invalid-policy")
        # Valid rules still bind authenticated callers meanwhile.
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'


def test_module_keeps_the_last_valid_rules_across_smbd_children():
    """The module applies share rules; once the database turns invalid,
    new smbd children keep the copy of the last valid one."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        add_rule(s, 'no-private', 'action=deny', 'share=private',
                 'session=authenticated')
        reload_all(s)
        assert s.smbclient('user', 'private').rc != 0
        assert s.smbclient('user', 'public').rc == 0
        write_raw_rule(s, 'broken', action='deny', share='public',
                       address='1.2.3.4/1')
        r = s.smbclient('user', 'private')
        assert r.rc != 0, r
        assert s.smbclient('user', 'public').rc == 0
        s.wait_log(r"keeping the last valid policy in force")


def test_anonymous_lsa_name_translation_only():
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        hardening(s, 'anonymous-lsa-names')
        reload_all(s)
        wait_status(s, r'^rules=4$')
        r = s.rpcclient('anonymous', 'lookupnames %s' % harness.TEST_USER)
        assert re.search(r'%s S-1-5-21-[0-9-]+ \(User: 1\)' %
                         harness.TEST_USER, r.out), r
        # SIDs to names is RID cycling: refused (issue 14).
        sid = re.search(r'(S-1-5-21-[0-9-]+)', r.out).group(1)
        r = s.rpcclient('anonymous', 'lookupsids %s' % sid)
        assert 'ACCESS_DENIED' in r.out and harness.TEST_USER not in r.out, r
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'Domain Name' not in r.out and r.rc != 0, r
        s.wait_log(r"refused call lsarpc opnum 7 \(lsa_QueryInfoPolicy\) "
                   r".*rule anon-lsa-nothing-else")
        with pytest.raises(DCERPCException) as e:
            bind(s, '\\lsarpc', samr.MSRPC_UUID_SAMR, who='anonymous')
        assert refused(e.value), e.value
        # Authenticated callers are not touched by these rules.
        r = s.rpcclient('user', 'lsaquery')
        assert 'Domain Name' in r.out, r


def test_explain_and_status_cover_rules():
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        sid = user_sid(s)
        hardening(s, 'printer-bug')
        hardening(s, 'anonymous-lsa-names')
        rc, out = tool(s, 'explain', 'ipcgtuser', 'pipe', 'spoolss',
                       'interface', 'spoolss', 'opnum',
                       'RemoteFindFirstPrinterChangeNotifyEx', 'sids',
                       '%s,S-1-1-0,S-1-5-11' % sid)
        assert rc == 1 and 'rule printer-bug' in out, out
        assert 'opnum 65 (spoolss_RemoteFindFirstPrinterChangeNotifyEx)' \
            in out, out
        rc, out = tool(s, 'explain', 'ipcgtuser', 'pipe', 'spoolss',
                       'interface', 'spoolss', 'opnum', '65', 'sids',
                       '%s,S-1-5-32-544' % sid)
        assert rc == 0 and 'rule rpc-default' in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc',
                       'interface', 'lsarpc', 'opnum', 'LookupNames')
        assert rc == 0 and 'rule anon-lsa-translation' in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc',
                       'interface', 'lsarpc', 'opnum', '7')
        assert rc == 1 and 'rule anon-lsa-nothing-else' in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc',
                       'interface', 'samr')
        assert rc == 1 and 'rule anon-lsa-no-other-interface' in out, out
        rc, out = tool(s, 'show')
        assert '[printer-bug]' in out and 'opnum = 62,65' in out, out
        rc, out = tool(s, 'rule', 'list')
        assert re.search(r'^anon-lsa-bind\s+order 300\s+allow', out,
                         re.M), out
        rc, out = tool(s, 'rule', 'show', 'printer-bug')
        assert 'sddl = D:(A;;GA;;;BA)(A;;GA;;;SY)' in out, out
        reload_all(s)
        out = wait_status(s, r'^rules=5$')
        s.rpcclient('anonymous', 'lsaquery')
        wait_status(s, r'^rule=anon-lsa-nothing-else allowed=0 '
                    r'refused=[1-9]')


def test_check_warns_about_rules_that_refuse_samba_itself():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        add_rule(s, 'winreg-admins', 'action=deny', 'pipe=winreg',
                 'sddl=D:(A;;GA;;;BA)')
        rc, out = tool(s, 'check')
        assert rc == 0, out
        assert re.search(r'^WARNING: rule winreg-admins refuses SYSTEM', out,
                         re.M), out
        assert 'rule printer-bug refuses' not in out, out
        assert re.search(r'Loaded policy is valid \(2 rules in .*'
                         r'ipcguard-rules\.ldb\)', out), out


def test_garbage_rule_database_fails_closed():
    """A rule database that is not an ldb file at all: the tool says so,
    a reload keeps the previous policy, a new gate refuses anonymous."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        with open(rule_db(s), 'wb') as f:
            f.write(os.urandom(4096))
        rc, out = tool(s, 'check')
        assert rc == 1 and 'rule database %s: cannot open' % rule_db(s) \
            in out, out
        reload_all(s)
        s.wait_log(r"reload rejected, keeping the previous policy")
        assert 'policy=valid' in status(s)
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        s.stop_gate()
        s.start_gate()
        assert 'policy=invalid' in status(s)
        # smbd's module never recorded a valid policy in this run, so it
        # refuses anonymous IPC$ itself; either way nothing gets through.
        r = s.rpcclient('anonymous', 'lsaquery')
        assert not got_through(r, 'lsarpc') or gate_refused(r, 'lsarpc'), r
        assert 'NT_STATUS_UNSUCCESSFUL' in r.out or \
            gate_refused(r, 'lsarpc'), r
        s.wait_log(r"ipcguard: invalid policy: rule database .*: cannot "
                   r"open")


def test_rule_decisions_are_json_audit_events():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'printer-bug')
        rc, out = tool(s, 'rule', 'add', 'watch-enum', 'action=deny',
                       'pipe=spoolss', 'interface=spoolss',
                       'opnum=EnumPrinters', 'audit-only=yes')
        assert rc == 0, out
        reload_all(s)
        wait_status(s, r'^rules=2$')
        dce = bind(s, '\\spoolss', rprn.MSRPC_UUID_RPRN)
        assert printer_bug(dce) == 'refused'
        rprn.hRpcEnumPrinters(dce, rprn.PRINTER_ENUM_LOCAL)
        log = s.wait_log(r'"rule": "printer-bug".*"stage": "request"')
        events = [json.loads(line[line.index('{'):])
                  for line in log.splitlines()
                  if '"type": "ipcguard"' in line]
        refusal = [e['ipcguard'] for e in events
                   if e['ipcguard']['rule'] == 'printer-bug'][0]
        assert refusal['decision'] == 'deny'
        assert refusal['interface'] == 'spoolss'
        assert refusal['opnum'] == 65
        assert refusal['operation'] == \
            'spoolss_RemoteFindFirstPrinterChangeNotifyEx'
        audit = [e['ipcguard'] for e in events
                 if e['ipcguard'].get('auditOnlyRule') == 'watch-enum']
        assert audit and audit[0]['auditOnlyWould'] == 'deny', events
        assert audit[0]['decision'] == 'allow'


# Issue 11, item 6: a rule about an interface holds on every pipe that
# serves it.  Samba 4.17 gives \lsarpc and \lsass the same interfaces
# (lsarpc, dssetup), \ntsvcs and \plugplay likewise (ntsvcs), and serves
# lsarpc on \netlogon too in the classic DC roles.

NTSVCS = uuid.uuidtup_to_bin(('8d9f4e40-a03d-11ce-8f69-08003e30051b', '1.0'))
NETLOGON = uuid.uuidtup_to_bin(('12345678-1234-abcd-ef00-01234567cffb',
                                '1.0'))
DSSETUP = uuid.uuidtup_to_bin(('3919286a-b10c-11d0-9ba8-00c04fd92ef5',
                               '0.0'))


def lsa_call(dce, call):
    """'refused' when the gate faults the call with access denied,
    'reached' when the LSA server ran it, whatever it answered."""
    try:
        handle = lsad.hLsarOpenPolicy2(
            dce, lsad.POLICY_LOOKUP_NAMES |
            lsad.POLICY_VIEW_LOCAL_INFORMATION)['PolicyHandle']
    except DCERPCException as e:
        return 'refused' if refused(e) else 'reached'
    try:
        call(dce, handle)
    except DCERPCException as e:
        return 'refused' if refused(e) else 'reached'
    return 'reached'


def query_info(dce, handle):
    lsad.hLsarQueryInformationPolicy(      # opnum 7
        dce, handle,
        lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation)


def enum_accounts(dce, handle):
    lsad.hLsarEnumerateAccounts(dce, handle)     # opnum 11


def lookup_names(dce, handle):
    r = lsat.hLsarLookupNames(dce, handle, [harness.TEST_USER])
    assert r['TranslatedSids']['Sids'][0]['Use'] == 1, r


@pytest.mark.parametrize('pipe', ['\\lsarpc', '\\lsass'])
def test_deny_rule_about_lsa_holds_through_every_alias(pipe):
    """A rule written for \\lsarpc refuses the call through \\lsass as
    well; the calls it is not about keep working through both."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        dce = bind(s, pipe, lsat.MSRPC_UUID_LSAT)
        assert lsa_call(dce, query_info) == 'reached'
        add_rule(s, 'no-query-info', 'action=deny', 'pipe=lsarpc',
                 'interface=lsarpc', 'opnum=QueryInfoPolicy',
                 'session=authenticated')
        reload_all(s)
        wait_status(s, r'^rules=1$')
        dce = bind(s, pipe, lsat.MSRPC_UUID_LSAT)
        assert lsa_call(dce, query_info) == 'refused'
        assert lsa_call(dce, lookup_names) == 'reached'
        s.wait_log(r"refused call lsarpc opnum 7 \(lsa_QueryInfoPolicy\) "
                   r"on pipe '%s' .*rule no-query-info" % pipe[1:])


@pytest.mark.parametrize('pipe', ['\\lsarpc', '\\lsass'])
def test_anonymous_lsa_names_hold_through_every_alias(pipe):
    """The ready-made set through either name: anonymous callers translate
    names, get nothing else (policy information, accounts, SAMR or dssetup
    on the same pipe), and authenticated callers are not touched."""
    opts = {'null session pipes': 'lsarpc lsass',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        hardening(s, 'anonymous-lsa-names')
        reload_all(s)
        wait_status(s, r'^rules=4$')
        dce = bind(s, pipe, lsat.MSRPC_UUID_LSAT, who='anonymous')
        assert lsa_call(dce, lookup_names) == 'reached'
        assert lsa_call(dce, query_info) == 'refused'
        assert lsa_call(dce, enum_accounts) == 'refused'
        for other in (samr.MSRPC_UUID_SAMR, DSSETUP):
            with pytest.raises(DCERPCException) as e:
                bind(s, pipe, other, who='anonymous')
            assert refused(e.value), e.value
        s.wait_log(r"refused call lsarpc opnum 7 \(lsa_QueryInfoPolicy\) "
                   r"on pipe '%s' to anonymous session.*"
                   r"rule anon-lsa-nothing-else" % pipe[1:])
        dce = bind(s, pipe, lsat.MSRPC_UUID_LSAT)
        assert lsa_call(dce, query_info) == 'reached'


def test_anonymous_lsass_open_follows_the_pipe_list():
    """Null session pipes are exact names, as on Windows: listing lsarpc
    does not open \\lsass to anonymous callers."""
    opts = {'null session pipes': 'lsarpc',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        dce = bind(s, '\\lsarpc', lsat.MSRPC_UUID_LSAT, who='anonymous')
        assert lsa_call(dce, query_info) == 'reached'
        with pytest.raises(Exception) as e:
            bind(s, '\\lsass', lsat.MSRPC_UUID_LSAT, who='anonymous')
        assert 'ACCESS_DENIED' in str(e.value) or refused(e.value), e.value
        s.wait_log(r"refused pipe 'lsass' to anonymous session.*"
                   r"rule null-session-pipes")
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsass')
        assert rc == 1 and 'rule null-session-pipes' in out, out
        assert 'note: the anonymous pipe list names lsarpc, another name ' \
            'of \\lsass; the list holds exact names' in out, out


def test_lsa_rules_hold_on_netlogon_of_a_classic_dc():
    """On a classic DC \\netlogon carries lsarpc too: rules about LSA,
    written for \\lsarpc, hold there; netlogon's own interface is not
    touched."""
    opts = {'null session pipes': 'lsarpc netlogon',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts, role='classic primary domain controller') \
            as s:
        dce = bind(s, '\\netlogon', lsat.MSRPC_UUID_LSAT, who='anonymous')
        assert lsa_call(dce, query_info) == 'reached'
        hardening(s, 'anonymous-lsa-names')
        add_rule(s, 'no-query-info', 'action=deny', 'pipe=lsarpc',
                 'interface=lsarpc', 'opnum=QueryInfoPolicy',
                 'session=authenticated')
        reload_all(s)
        wait_status(s, r'^rules=5$')
        dce = bind(s, '\\netlogon', lsat.MSRPC_UUID_LSAT, who='anonymous')
        assert lsa_call(dce, lookup_names) == 'reached'
        assert lsa_call(dce, query_info) == 'refused'
        assert lsa_call(dce, enum_accounts) == 'refused'
        s.wait_log(r"refused call lsarpc opnum 7 \(lsa_QueryInfoPolicy\) "
                   r"on pipe 'netlogon' to anonymous session.*"
                   r"rule anon-lsa-nothing-else")
        dce = bind(s, '\\netlogon', lsat.MSRPC_UUID_LSAT)
        assert lsa_call(dce, query_info) == 'refused'
        assert lsa_call(dce, lookup_names) == 'reached'
        s.wait_log(r"refused call lsarpc opnum 7 \(lsa_QueryInfoPolicy\) "
                   r"on pipe 'netlogon' to authenticated session.*"
                   r"rule no-query-info")
        # Netlogon itself on \netlogon, anonymous as members set up their
        # secure channel: untouched.
        for who in ('anonymous', 'user'):
            dce = bind(s, '\\netlogon', NETLOGON, who=who)
            try:
                nrpc.hNetrServerReqChallenge(dce, NULL, 'IPCGTEST\x00',
                                             b'12345678')
            except DCERPCException as e:
                assert not refused(e), e


def test_own_interfaces_through_aliases():
    """own-interfaces lets each alias bind what its pipe carries (lsarpc
    on \\lsass, ntsvcs on \\plugplay) and nothing else."""
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        hardening(s, 'own-interfaces')
        reload_all(s)
        wait_status(s, r'^rules=16$')
        dce = bind(s, '\\lsass', lsat.MSRPC_UUID_LSAT)
        assert lsa_call(dce, lookup_names) == 'reached'
        bind(s, '\\lsass', DSSETUP)
        bind(s, '\\plugplay', NTSVCS)
        bind(s, '\\ntsvcs', NTSVCS)
        for pipe, other in (('\\lsass', samr.MSRPC_UUID_SAMR),
                            ('\\plugplay', samr.MSRPC_UUID_SAMR),
                            ('\\lsass', NTSVCS)):
            with pytest.raises(DCERPCException) as e:
                bind(s, pipe, other)
            assert refused(e.value), (pipe, e.value)


def test_explain_and_check_show_aliases():
    opts = {'null session pipes': 'lsarpc lsass netlogon',
            'everyone includes anonymous': 'yes'}
    with Server(ipcguard=opts) as s:
        hardening(s, 'anonymous-lsa-names')
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsass',
                       'interface', 'lsarpc', 'opnum', 'QueryInfoPolicy')
        assert rc == 1 and 'rule anon-lsa-nothing-else' in out, out
        assert 'note: rule anon-lsa-nothing-else names pipe lsarpc; ' \
            '\\lsass is another name of the same RPC endpoint' in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'netlogon',
                       'interface', 'lsarpc', 'opnum', 'LookupNames')
        assert rc == 0 and 'rule anon-lsa-translation' in out, out
        assert 'note: rule anon-lsa-translation names pipe lsarpc, one ' \
            'of the pipes of interface lsarpc; \\netlogon carries that ' \
            'interface too' in out, out
        rc, out = tool(s, 'check')
        assert 'does not hold for' not in out, out
        add_rule(s, 'lsa-on-netlogon', 'action=deny', 'pipe=netlogon',
                 'interface=lsarpc', 'opnum=7')
        rc, out = tool(s, 'check')
        assert re.search(r'^WARNING: rule lsa-on-netlogon does not hold '
                         r'for lsarpc on \\lsarpc, \\lsass: add one of '
                         r'those pipes', out, re.M), out
