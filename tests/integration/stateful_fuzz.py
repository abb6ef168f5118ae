"""Stateful differential fuzzer of the gate (issue 24), with the real RPC
server as its oracle.

Random sequences of binds, alter contexts and requests (whole or in
fragments, with reused and fresh call ids and context ids, several PDUs
in one write or one PDU over several) go through smbd and the gate to
Debian's samba-dcerpcd, as an authenticated user on \\srvsvc, with two
rules in force: srvsvc's NetShareEnumAll (opnum 15) is refused, and so is
binding wkssvc on \\srvsvc.  samba-dcerpcd's workers run at debug level
10, where the server's generated dispatch code prints every call it
executes (NDR_PRINT_FUNCTION_DEBUG).  After each sequence:

  * a call the server executed that the policy refuses (any
    srvsvc_NetShareEnumAll, any wkssvc_* call) is a violation;
  * the gate must still run.

Either failure writes the sequence as a replayable JSON file (the hex of
each write) and stops.  The allowed call (NetSrvGetInfo) must be seen
executed too, or the oracle is blind and the run fails.

    stateful_fuzz.py [--seconds N] [--seed S] [--out DIR]
    stateful_fuzz.py --replay FILE

tests/integration/test_stateful_fuzz.py runs it for a fixed budget in
make test; make fuzz-gate runs it longer."""

import argparse
import json
import os
import random
import re
import sys
import time
import uuid

from impacket import uuid as iuuid
from impacket.dcerpc.v5 import srvs, wkst
from impacket.smbconnection import SMBConnection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server  # noqa: E402
from test_contexts import (MSRPC_ALTERCTX, MSRPC_BIND, bind_pdu,  # noqa: E402
                           get_info_stub, item, request_pdu,
                           share_enum_stub)
from test_own_connections import WorkerLogs  # noqa: E402
from test_rules import add_rule, reload_all, wait_status  # noqa: E402

SRVSVC = srvs.MSRPC_UUID_SRVS
WKSSVC = wkst.MSRPC_UUID_WKST
UNKNOWN = iuuid.uuidtup_to_bin((str(uuid.UUID(int=0x1234)), '1.0'))
INTERFACES = {'srvsvc': SRVSVC, 'wkssvc': WKSSVC, 'unknown': UNKNOWN}

# What the server printing a call looks like, and which calls the policy
# refuses on \srvsvc.
EXECUTED = re.compile(r'^\s+(\w+): struct \1$', re.M)
REFUSED_CALLS = re.compile(r'^(srvsvc_NetShareEnumAll|wkssvc_\w+)$')
ALLOWED_CALL = 'srvsvc_NetSrvGetInfo'

SENTINEL_CTX = 9
SENTINEL_CALL = 0x7fff0000


def wksta_stub():
    r = wkst.NetrWkstaGetInfo()
    r['ServerName'] = '\x00'
    r['Level'] = 100
    return r.getData()


# (opnum, stub): the stub is the call's on srvsvc or wkssvc, sent on any
# context id, whatever it is bound to.
CALLS = [(21, get_info_stub()), (15, share_enum_stub()),
         (0, wksta_stub())]


def generate(rng):
    """One sequence: a list of writes (bytes), each one or more PDUs or a
    piece of one."""
    pdus = []
    call_ids = [1, 2, 3, rng.randint(4, 1000)]
    if rng.random() < 0.8:
        pdus.append(bind_pdu(rng.choice(call_ids),
                             [item(0, SRVSVC)], MSRPC_BIND))
    for _ in range(rng.randint(1, 8)):
        call_id = rng.choice(call_ids)
        what = rng.random()
        if what < 0.25:
            items = [item(rng.randint(0, 3),
                          INTERFACES[rng.choice(list(INTERFACES))])
                     for _ in range(rng.randint(1, 2))]
            ptype = MSRPC_ALTERCTX if rng.random() < 0.8 else MSRPC_BIND
            pdus.append(bind_pdu(call_id, items, ptype))
            continue
        ctx_id = rng.randint(0, 3)
        opnum, stub = rng.choice(CALLS)
        if what < 0.75:
            pdus.append(request_pdu(ctx_id, opnum, stub, call_id, 3))
            continue
        # In two fragments; now and then the second claims another call.
        cut = rng.randint(1, len(stub) - 1)
        pdus.append(request_pdu(ctx_id, opnum, stub[:cut], call_id, 1))
        if rng.random() < 0.1:
            call_id = rng.choice(call_ids)
        pdus.append(request_pdu(ctx_id, opnum, stub[cut:], call_id, 2))
    # Once the server has answered the sentinel, it has read every PDU
    # before it.
    pdus.append(bind_pdu(SENTINEL_CALL, [item(SENTINEL_CTX, SRVSVC)],
                         MSRPC_ALTERCTX))
    pdus.append(request_pdu(SENTINEL_CTX, 21, get_info_stub(),
                        SENTINEL_CALL + 1, 3))
    stream = b''.join(pdus)
    writes = []
    while stream:
        if rng.random() < 0.7:
            # Whole PDUs, one or more.
            n = 0
            for _ in range(rng.randint(1, 3)):
                if n >= len(stream):
                    break
                n += int.from_bytes(stream[n + 8:n + 10], 'little')
        else:
            n = rng.randint(1, min(len(stream), 200))
        writes.append(stream[:n])
        stream = stream[n:]
    return writes


def play(s, writes, timeout=2.0 * harness.TIMEOUT_SCALE):
    """Send the writes on a new \\srvsvc pipe and read answers until the
    sentinel's, the end of the pipe, or the timeout.  Returns what ended
    it."""
    conn = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=s.port,
                         timeout=timeout)
    conn.login(harness.TEST_USER, harness.TEST_PASSWORD)
    tid = conn.connectTree('IPC$')
    fid = conn.openFile(tid, '\\srvsvc')
    try:
        for w in writes:
            conn.writeFile(tid, fid, w)
        deadline = time.time() + timeout
        while time.time() < deadline:
            answer = conn.readFile(tid, fid, 0, 65536)
            if len(answer) >= 16 and int.from_bytes(
                    answer[12:16], 'little') == SENTINEL_CALL + 1:
                return 'sentinel'
        return 'timeout'
    except Exception as e:  # the pipe ended, or the read timed out
        return 'ended: %s' % type(e).__name__
    finally:
        try:
            conn.getSMBServer().get_socket().close()
        except Exception:
            pass


def server():
    """A server with the fuzzer's rules, its RPC workers at level 10."""
    s = Server(ipcguard={'null session pipes': 'lsarpc'},
               gate_args=['-d', '10'])
    s.worker_logs = WorkerLogs(s)
    s.start()
    try:
        add_rule(s, 'no-share-enum-all', 'action=deny', 'pipe=srvsvc',
                 'interface=srvsvc', 'opnum=15')
        add_rule(s, 'no-wkssvc-on-srvsvc', 'action=deny', 'pipe=srvsvc',
                 'interface=wkssvc')
        reload_all(s)
        wait_status(s, r'^rules=2$')
    except BaseException:
        s.stop()
        raise
    return s


def executed(text):
    """The srvsvc and wkssvc calls the server printed (samba-dcerpcd's
    own registry calls at start-up are no client's)."""
    return [c for c in EXECUTED.findall(text)
            if c.startswith(('srvsvc_', 'wkssvc_'))]


def save(out_dir, name, writes, why):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    with open(path, 'w') as f:
        json.dump({'why': why, 'writes': [w.hex() for w in writes]}, f,
                  indent=1)
    return path


def run(seconds, seed, out_dir, log=print):
    """Fuzz for `seconds`; returns (sequences, calls the server ran) or
    raises AssertionError naming the replayable file."""
    rng = random.Random(seed)
    s = server()
    n = 0
    seen = {}
    try:
        deadline = time.time() + seconds
        while time.time() < deadline:
            writes = generate(rng)
            before = s.worker_logs.mark()
            ended = play(s, writes)
            n += 1
            # The server's log may trail its answer a little.
            time.sleep(0.05)
            calls = executed(s.worker_logs.since(before))
            for c in calls:
                seen[c] = seen.get(c, 0) + 1
            bad = [c for c in calls if REFUSED_CALLS.match(c)]
            why = None
            if bad:
                why = 'the server executed %s, which the policy refuses' % (
                    ', '.join(sorted(set(bad))))
            elif s.gate_proc.poll() is not None:
                why = 'the gate exited (%s)' % s.gate_proc.returncode
            if why:
                path = save(out_dir, 'violation-%d-%d.json' % (seed, n),
                            writes, why)
                raise AssertionError('%s; replay: %s --replay %s' % (
                    why, __file__, path))
            if n % 20 == 0:
                log('%d sequences, last %s' % (n, ended))
        if seen.get(ALLOWED_CALL, 0) == 0:
            raise AssertionError('the server never showed executing %s: '
                                 'the oracle sees nothing' % ALLOWED_CALL)
    finally:
        s.stop()
    return n, seen


def replay(path):
    with open(path) as f:
        case = json.load(f)
    writes = [bytes.fromhex(w) for w in case['writes']]
    s = server()
    try:
        before = s.worker_logs.mark()
        ended = play(s, writes)
        time.sleep(0.2)
        calls = executed(s.worker_logs.since(before))
        print('recorded: %s' % case['why'])
        print('now: %s; the server executed %s; gate %s' % (
            ended, calls, 'running' if s.gate_proc.poll() is None else
            'exited'))
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--out', default=os.path.join(harness.BUILD,
                                                  'fuzz-stateful'))
    ap.add_argument('--replay')
    args = ap.parse_args()
    if args.replay:
        replay(args.replay)
        return
    seed = args.seed if args.seed is not None else int(time.time())
    print('seed %d' % seed)
    n, seen = run(args.seconds, seed, args.out)
    print('%d sequences, no violation; the server executed %s' % (n, seen))


if __name__ == '__main__':
    main()
