"""JSON audit events: every refusal, allows on request, one JSON object a
line, through Samba's debug system under the ipcguard class."""

import json

from harness import Server


def events(s):
    out = []
    for line in s.logs().splitlines():
        line = line.strip()
        if line.startswith('{') and '"ipcguard"' in line:
            out.append(json.loads(line))
    return out


def test_refusals_are_audited_as_json():
    with Server(ipcguard={'null session pipes': 'lsarpc'}) as s:
        s.smbclient('anonymous', 'private')
        s.rpcclient('anonymous', 'srvinfo')
        s.rpcclient('user', 'srvinfo')
        s.wait_log(r'"object": "srvsvc"')
        ev = [e for e in events(s) if e['type'] == 'ipcguard']
        share = [e['ipcguard'] for e in ev
                 if e['ipcguard']['object'] == 'private']
        pipe = [e['ipcguard'] for e in ev
                if e['ipcguard']['object'] == 'srvsvc']
        assert share and pipe, ev
        assert share[0]['decision'] == 'deny'
        assert share[0]['rule'] == 'null-session-shares'
        assert share[0]['objectType'] == 'share'
        assert share[0]['sessionKind'] == 'anonymous'
        assert share[0]['remoteAddress'] == '127.0.0.1'
        assert share[0]['sids'].startswith('S-1-5-7,')
        assert pipe[0]['objectType'] == 'pipe'
        assert pipe[0]['rule'] == 'null-session-pipes'
        assert all('timestamp' in e for e in ev)
        # Allows are not audited unless asked for.
        assert not [e for e in ev if e['ipcguard']['decision'] == 'allow']


def test_allows_audited_when_asked():
    opts = {'null session pipes': 'lsarpc', 'audit allowed': 'yes'}
    with Server(ipcguard=opts) as s:
        s.rpcclient('user', 'srvinfo')
        s.wait_log(r'"decision": "allow"')
        allowed = [e['ipcguard'] for e in events(s)
                   if e['ipcguard']['decision'] == 'allow']
        assert any(a['object'] == 'srvsvc' and
                   a['sessionKind'] == 'authenticated' and
                   a['user'].endswith('ipcgtuser') for a in allowed), allowed
