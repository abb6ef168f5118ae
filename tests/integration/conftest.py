"""Every test must leave no process of its Samba instances behind."""

import os

import pytest

import harness


@pytest.fixture(autouse=True)
def no_leftover_processes():
    yield
    ours = [('%s/smb.conf' % d).encode() for d in harness.CREATED_DIRS]
    left = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ')
        except OSError:
            continue
        if any(conf in cmd for conf in ours):
            left.append(cmd.decode(errors='replace'))
    assert not left, 'processes left running: %s' % left
