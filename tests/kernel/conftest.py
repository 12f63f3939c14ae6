"""Fixtures for the kernel suite (root, real namespaces).

`busybox_rootfs` below wraps the one in tests/conftest.py (temporary fallback). The `podrun.api.expansion` stub below is
installed only while the real module does not exist yet.
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
import types

import pytest

if importlib.util.find_spec("podrun.api.expansion") is None:  # stub until api/expansion.py lands
    def _expand(s: str, mapping: dict) -> str:
        def sub(m: re.Match) -> str:
            if m.group(0) == "$$":
                return "$"
            return mapping.get(m.group(1), m.group(0))
        return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, s)
    _stub = types.ModuleType("podrun.api.expansion")
    _stub.expand = _expand  # type: ignore[attr-defined]
    sys.modules["podrun.api.expansion"] = _stub

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


@pytest.fixture(scope="session")
def busybox_rootfs(request: pytest.FixtureRequest) -> str:
    """TEMPORARY: the lead's tests/conftest.py fixture, falling back to the development rootfs
    while podrun.images_build / runtime/images.py (which it needs) do not exist yet. Delete
    this fixture once they land."""
    try:
        return request.getfixturevalue("busybox_image").rootfs
    except ImportError:
        return "/tmp/bbroot"
