"""A client that opens many named pipes on IPC$ and holds them.

    pipe_hog.py PORT COUNT PIPE [SESSIONS] [anonymous|user]

Opens COUNT pipes named PIPE, spread over SESSIONS SMB sessions (default
1) of the given kind (default anonymous), without binding or closing any,
prints "OPENED <ok> FAILED <failed> IN <seconds>", then holds them until
killed or until its stdin closes.  The gate decides at each open; an open
the gate turns away still succeeds in smbd (the handshake reply was sent),
so what counts is what the gate reports, not what this script sees.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
from impacket.smbconnection import SMBConnection  # noqa: E402


def main():
    port, count, pipe = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sessions = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    who = sys.argv[5] if len(sys.argv) > 5 else 'anonymous'
    conns = []
    for _ in range(sessions):
        c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=port,
                          timeout=60)
        if who == 'anonymous':
            c.login('', '')
        else:
            c.login(harness.TEST_USER, harness.TEST_PASSWORD)
        conns.append((c, c.connectTree('IPC$')))
    ok = failed = 0
    start = time.time()
    for i in range(count):
        c, tid = conns[i % sessions]
        try:
            c.openFile(tid, '\\' + pipe)
            ok += 1
        except Exception as e:  # noqa: BLE001 - report and go on
            failed += 1
            if failed <= 3:
                print('ERROR %s' % e, flush=True)
    print('OPENED %d FAILED %d IN %.1f' % (ok, failed, time.time() - start),
          flush=True)
    sys.stdin.read()


if __name__ == '__main__':
    main()
