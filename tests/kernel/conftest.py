"""Fixtures for the kernel suite (root, real namespaces). busybox_rootfs comes from tests/conftest.py."""
from __future__ import annotations

import os

import pytest

if os.geteuid() == 0:
    from podrun.kernel import procs
    procs.set_subreaper()  # containers are reparented to the test process, as to the daemon

@pytest.fixture(scope="session")
def pause_binary(tmp_path_factory: pytest.TempPathFactory) -> str:
    from podrun.runtime.pause import ensure_pause
    return ensure_pause(str(tmp_path_factory.mktemp("bin")))


@pytest.fixture
def leak_check(tmp_path):
    """Fails the test if a mount is left under tmp_path or a child process is left running."""
    from podrun.kernel import mounts
    fds = set(os.listdir("/proc/self/fd"))
    yield
    assert set(os.listdir("/proc/self/fd")) - fds == set(), "file descriptors left open"
    assert mounts.mountpoints_under(str(tmp_path)) == []
    import psutil
    me = psutil.Process()
    left = [p for p in me.children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"processes left behind: {left}"
