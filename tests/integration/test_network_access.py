"""Issue 14: Windows' other "Network access:" options, with Windows'
defaults, against real clients: RID cycling through LSA, SAMR account
enumeration, share enumeration.  Each refusal is shown next to the same
client succeeding with the option the other way, and authenticated users
keep everything."""

import re
import subprocess

from impacket.dcerpc.v5 import lsad, lsat, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException

import harness
from harness import Server
from test_gate import smb_session
from test_tool import tool

# A server that opens LSA, SAMR and srvsvc to anonymous callers,
# and Samba's LSA grants its policy handle to Everyone only.
OPEN = {'null session pipes': 'lsarpc samr srvsvc',
        'everyone includes anonymous': 'yes'}
DENIED = 'NT_STATUS_ACCESS_DENIED'


def lsa(s, who):
    conn = smb_session(s, who)
    t = transport.SMBTransport('127.0.0.1', s.port, filename='\\lsarpc',
                               smb_connection=conn)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(lsat.MSRPC_UUID_LSAT)
    handle = lsad.hLsarOpenPolicy2(
        dce, lsad.POLICY_LOOKUP_NAMES |
        lsad.POLICY_VIEW_LOCAL_INFORMATION)['PolicyHandle']
    return dce, handle


def domain_sid(dce, handle):
    r = lsad.hLsarQueryInformationPolicy(
        dce, handle,
        lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation)
    return r['PolicyInformation']['PolicyAccountDomainInfo'][
        'DomainSid'].formatCanonical()


def rid_cycle(s, who, first=500, last=1100):
    """What lookupsid.py does: translate a range of RIDs of the server's
    domain.  Returns the names found, or 'refused'."""
    dce, handle = lsa(s, who)
    sid = domain_sid(dce, handle)
    names = set()
    for start in range(first, last + 1, 100):
        sids = ['%s-%d' % (sid, rid)
                for rid in range(start, min(start + 100, last + 1))]
        try:
            r = lsat.hLsarLookupSids(dce, handle, sids,
                                     lsat.LSAP_LOOKUP_LEVEL.LsapLookupWksta)
        except DCERPCException as e:
            if 'rpc_s_access_denied' in str(e):
                return 'refused'
            if 'STATUS_SOME_NOT_MAPPED' not in str(e) and \
                    'STATUS_NONE_MAPPED' not in str(e):
                raise
            r = e.get_packet()
        for n in r['TranslatedNames']['Names']:
            if n['Name']:
                names.add(n['Name'])
    return names


def lookup_name(s, who, name):
    dce, handle = lsa(s, who)
    try:
        r = lsat.hLsarLookupNames(dce, handle, [name])
    except DCERPCException as e:
        if 'rpc_s_access_denied' in str(e):
            return 'refused'
        raise
    return r['TranslatedSids']['Sids'][0]['RelativeId']


def test_rid_cycling_is_refused_by_default():
    with Server(ipcguard=OPEN) as s:
        assert rid_cycle(s, 'anonymous') == 'refused'
        assert lookup_name(s, 'anonymous', harness.TEST_USER) == 'refused'
        s.wait_log(r"refused call lsarpc opnum 15 \(lsa_LookupSids\) on "
                   r"pipe 'lsarpc' to anonymous session.*rule "
                   r"lsa-anonymous-name-lookup")
        r = s.rpcclient('anonymous', 'lookupnames %s' % harness.TEST_USER)
        assert DENIED in r.out, r
        # Anonymous still gets what the option does not name.
        r = s.rpcclient('anonymous', 'lsaquery')
        assert 'Domain Name: IPCGTEST' in r.out, r
        # Authenticated users translate both ways.
        assert harness.TEST_USER in rid_cycle(s, 'user')
        assert lookup_name(s, 'user', harness.TEST_USER) >= 1000


def test_names_only_lets_names_through_and_keeps_rid_cycling_out():
    opts = dict(OPEN, **{'allow anonymous sid name translation':
                         'names only'})
    with Server(ipcguard=opts) as s:
        assert lookup_name(s, 'anonymous', harness.TEST_USER) >= 1000
        assert rid_cycle(s, 'anonymous') == 'refused'
        r = s.rpcclient('anonymous', 'lookupnames %s' % harness.TEST_USER)
        assert r.rc == 0 and 'S-1-5-21-' in r.out, r


def test_translation_allowed_gives_the_windows_behaviour_off():
    """With the option on, the same client cycles RIDs: the refusal above
    is the option's doing."""
    opts = dict(OPEN, **{'allow anonymous sid name translation': 'yes'})
    with Server(ipcguard=opts) as s:
        names = rid_cycle(s, 'anonymous')
        assert names != 'refused' and harness.TEST_USER in names, names


SAM_ENUM = ['enumdomusers', 'enumdomgroups', 'enumalsgroups builtin',
            'querydispinfo', 'queryuser 500']


def test_restrict_anonymous_sam_by_default():
    # RestrictRemoteSAM off, to see RestrictAnonymousSAM alone.
    opts = dict(OPEN, **{'restrict remote sam': 'none'})
    with Server(ipcguard=opts) as s:
        for cmd in SAM_ENUM:
            r = s.rpcclient('anonymous', cmd)
            assert DENIED in r.out and harness.TEST_USER not in r.out, \
                (cmd, r)
        s.wait_log(r"refused call samr opnum 13 \(samr_EnumDomainUsers\) "
                   r".*rule restrict-anonymous-sam")
        # Finding the domain still works: connect, lookup, open, close.
        r = s.rpcclient('anonymous', 'lookupdomain IPCGTEST')
        assert 'S-1-5-21-' in r.out, r
        r = s.rpcclient('user', 'enumdomusers')
        assert harness.TEST_USER in r.out, r
        r = s.rpcclient('user', 'queryuser %s' % harness.TEST_USER)
        assert 'User Name' in r.out, r


def test_restrict_anonymous_sam_off():
    opts = dict(OPEN, **{'restrict anonymous sam': 'no',
                         'restrict remote sam': 'none'})
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('anonymous', 'enumdomusers')
        assert harness.TEST_USER in r.out, r


def test_restrict_remote_sam_by_default():
    """Windows Server 2016's default: only administrators connect to SAM
    remotely, whatever else the policy allows."""
    with Server(ipcguard=OPEN) as s:
        for who in ('anonymous', 'user'):
            r = s.rpcclient(who, 'enumdomusers')
            assert DENIED in r.out and harness.TEST_USER not in r.out, \
                (who, r)
        s.wait_log(r"refused call samr opnum \d+ \(samr_Connect\d?\) on "
                   r"pipe 'samr' to authenticated session \(user "
                   r"'IPCGTEST.%s'.*rule restrict-remote-sam: the caller is "
                   r"not granted remote access to SAM" % harness.TEST_USER)
        r = s.rpcclient('admin', 'enumdomusers')
        assert harness.TEST_USER in r.out, r
        r = s.rpcclient('admin', 'queryuser %s' % harness.TEST_USER)
        assert 'User Name' in r.out, r
        # Other pipes are not affected for the user.
        r = s.rpcclient('user', 'srvinfo')
        assert 'IPCGTEST' in r.out, r
        # explain: administrators and Samba's own callers are granted.
        rc, out = tool(s, 'explain', 'alice', 'pipe', 'samr', 'interface',
                       'samr', 'opnum', 'samr_Connect5', 'sids',
                       'S-1-5-21-1-2-3-1000')
        assert 'restrict-remote-sam' in out and 'DENY' in out, out
        for sid in ('S-1-5-32-544', 'S-1-5-18'):
            rc, out = tool(s, 'explain', 'alice', 'pipe', 'samr',
                           'interface', 'samr', 'opnum', 'samr_Connect5',
                           'sids', 'S-1-5-21-1-2-3-1000,%s' % sid)
            assert 'ALLOW' in out, out
    # An SDDL that grants every authenticated user.
    opts = dict(OPEN, **{'restrict remote sam': 'O:BAG:BAD:(A;;RC;;;AU)'})
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('user', 'enumdomusers')
        assert harness.TEST_USER in r.out, r
        r = s.rpcclient('anonymous', 'enumdomusers')
        assert DENIED in r.out, r
    # A descriptor Samba cannot parse: the policy is invalid (anonymous
    # refused everywhere), ipcguard check says why.
    opts = dict(OPEN, **{'restrict remote sam': 'O:BAG:BAD:(A;;RC;;;XX)'})
    with Server(ipcguard=opts) as s:
        rc, out = tool(s, 'check')
        assert rc != 0 and 'ipcguard:restrict remote sam' in out, out
        r = s.rpcclient('user', 'srvinfo')
        assert 'IPCGTEST' in r.out, r
        # An unreadable descriptor grants nobody SAM, administrators
        # included: it must not open SAM to everyone either.
        r = s.rpcclient('admin', 'enumdomusers')
        assert DENIED in r.out and harness.TEST_USER not in r.out, r


def test_restrict_anonymous_covers_shares_too():
    # Off (Windows' default): anonymous lists shares, over RPC and with
    # smbclient -L.
    with Server(ipcguard=OPEN) as s:
        r = s.rpcclient('anonymous', 'netshareenumall')
        assert 'netname: public' in r.out, r
        r = _list(s, 'anonymous')
        assert re.search(r'^\s+public\s+Disk', r.out, re.M), r
        r = _list(s, 'anonymous', 'NT1')
        assert re.search(r'^\s+public\s+Disk', r.out, re.M), r
    opts = dict(OPEN, **{'restrict anonymous': 'yes',
                         'restrict anonymous sam': 'no'})
    with Server(ipcguard=opts) as s:
        r = s.rpcclient('anonymous', 'netshareenumall')
        assert 'ACCESS_DENIED' in r.out and 'netname' not in r.out, r
        r = _list(s, 'anonymous')
        assert not re.search(r'^\s+public\s+Disk', r.out, re.M), r
        # RestrictAnonymous names SAM accounts too, whatever the SAM
        # option says.
        r = s.rpcclient('anonymous', 'enumdomusers')
        assert DENIED in r.out, r
        s.wait_log(r"refused call srvsvc opnum 15 \(srvsvc_NetShareEnumAll"
                   r"\).*rule restrict-anonymous")
        r = s.rpcclient('anonymous', 'srvinfo')
        assert 'IPCGTEST' in r.out, r
        r = _list(s, 'user')
        assert re.search(r'^\s+public\s+Disk', r.out, re.M), r
        # SMB1: RAP share enumeration never reaches the gate, so an
        # anonymous SMB1 session gets no IPC$ at all.
        r = _list(s, 'anonymous', 'NT1')
        assert not re.search(r'^\s+public\s+Disk', r.out, re.M), r
        s.wait_log(r"refused ipc 'IPC\$' to anonymous session.*rule "
                   r"restrict-anonymous: anonymous SMB1 sessions")
        r = _list(s, 'user', 'NT1')
        assert re.search(r'^\s+public\s+Disk', r.out, re.M), r
        r = s.rpcclient('user', 'netshareenumall')
        assert 'netname: public' in r.out, r


def _list(s, who, proto='SMB3'):
    """smbclient -L; over SMB1 it falls back to RAP (\\PIPE\\LANMAN),
    which smbd answers itself."""
    argv = ['smbclient', '-s', s.conf, '-p', str(s.port), '-L',
            '127.0.0.1', '-m', proto] + s._auth(who)
    return harness.Result(subprocess.run(argv, capture_output=True,
                                         text=True, timeout=60,
                                         env=harness.CLIENT_ENV))


def test_show_and_explain_name_the_options():
    with Server(ipcguard=OPEN) as s:
        rc, out = tool(s, 'show')
        assert rc == 0, out
        for line in ('allow anonymous sid name translation = no',
                     'restrict anonymous sam = yes',
                     'restrict anonymous = no',
                     'restrict remote sam = O:BAG:BAD:(A;;RC;;;BA)'):
            assert line in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'lsarpc',
                       'interface', 'lsarpc', 'opnum', 'lsa_LookupSids2')
        assert 'lsa-anonymous-name-lookup' in out and 'DENY' in out, out
        rc, out = tool(s, 'explain', 'anonymous', 'pipe', 'samr',
                       'interface', 'samr', 'opnum', '13')
        assert 'restrict-anonymous-sam' in out, out
        rc, out = tool(s, 'explain', 'alice', 'pipe', 'samr',
                       'interface', 'samr', 'opnum', '13')
        assert 'restrict-anonymous-sam' not in out, out
