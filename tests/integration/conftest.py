"""Every test must leave no process of its Samba instances behind, and a
test that passed leaves none of their directories either (a failed one
keeps them for its logs; IPCGUARD_KEEP=1 keeps all)."""

import os
import shutil

import pytest

import harness


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.ipcguard_failed = True


@pytest.fixture(autouse=True)
def no_leftover_processes(request):
    first = len(harness.CREATED_DIRS)
    yield
    mine = harness.CREATED_DIRS[first:]
    left = harness.processes_of(harness.CREATED_DIRS)
    assert not left, 'processes left running: %s' % left
    if getattr(request.node, 'ipcguard_failed', False) or \
            os.environ.get('IPCGUARD_KEEP'):
        return
    for d in mine:
        shutil.rmtree(d, ignore_errors=True)
