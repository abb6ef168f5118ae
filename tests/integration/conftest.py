"""Every test must leave no Samba process of its own behind."""

import os

import pytest


@pytest.fixture(autouse=True)
def no_leftover_processes():
    yield
    left = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ')
        except OSError:
            continue
        if b'/ipcguard-it-' in cmd and b'smb.conf' in cmd:
            left.append(cmd.decode(errors='replace'))
    assert not left, 'processes left running: %s' % left
