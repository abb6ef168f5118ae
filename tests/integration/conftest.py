"""Every test must leave no process of its Samba instances behind."""

import pytest

import harness


@pytest.fixture(autouse=True)
def no_leftover_processes():
    yield
    left = harness.processes_of(harness.CREATED_DIRS)
    assert not left, 'processes left running: %s' % left
