"""Fixtures for the kernel suite (root, real namespaces). busybox_rootfs comes from tests/conftest.py."""
from __future__ import annotations

import os

import pytest

from podrun.kernel import procs

procs.set_subreaper()  # containers are reparented to the test process, as to the daemon

@pytest.fixture(scope="session")
def pause_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    from podrun.runtime.pause import ensure_pause
    return ensure_pause(str(tmp_path_factory.mktemp("bin")))


@pytest.fixture
def leak_check(tmp_path):
    """Fails the test if a mount is left under tmp_path or a process it started is left running
    (processes that were there before, like the session's daemon, are not the test's)."""
    import psutil
    from podrun.kernel import mounts
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    fds = set(os.listdir("/proc/self/fd"))
    yield
    assert set(os.listdir("/proc/self/fd")) - fds == set(), "file descriptors left open"
    assert mounts.mountpoints_under(str(tmp_path)) == []
    left = [p for p in me.children(recursive=True)
            if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"processes left behind: {left}"
