"""The daemon's life: started on demand, killed, restarted — nothing leaks, pods come back."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psutil
import pytest

from helpers import as_yaml, cstatus, pod, running, sh

from podrun.paths import Roots


@pytest.fixture
def own_roots(busybox_image):
    """A root of its own with the session's busybox image linked in (tags + blobs)."""
    d = tempfile.mkdtemp(prefix="podrun-own-")
    r = Roots(os.path.join(d, "run"), os.path.join(d, "lib"), os.path.join(d, "log"))
    os.makedirs(r.lib)
    src = os.path.dirname(os.path.dirname(os.path.dirname(busybox_image.rootfs)))
    shutil.copytree(src, r.images_dir, symlinks=True)
    yield r
    # stop whatever daemon this test left, by the pid it recorded
    try:
        with open(r.daemon_json) as f:
            pid = json.load(f)["pid"]
        os.kill(pid, signal.SIGTERM)
        psutil.Process(pid).wait(30)
    except (OSError, ValueError, KeyError, psutil.Error):
        pass
    out = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout
    assert not [m for m in out.split() if m.startswith(d)], "mounts left behind"
    shutil.rmtree(d, ignore_errors=True)


def _run(r: Roots, *args, input=None):
    env = dict(os.environ, **r.env())
    env.pop("PODRUN_ROOT", None)
    return subprocess.run([sys.executable, "-m", "podrun", *args], env=env, capture_output=True, text=True,
                          input=input, timeout=60, stdin=None if input else subprocess.DEVNULL)


def _pod(r: Roots, name: str) -> dict:
    return json.loads(_run(r, "get", "pod", name, "-o", "json").stdout)


def _wait(r: Roots, name: str, pred, timeout=30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = _pod(r, name)
        if pred(p):
            return p
        time.sleep(0.2)
    raise AssertionError(json.dumps(p.get("status"), indent=1))


def _daemon_pid(r: Roots) -> int:
    with open(r.daemon_json) as f:
        return json.load(f)["pid"]


def test_the_cli_starts_the_daemon_on_demand(own_roots):
    assert not os.path.exists(own_roots.socket)
    out = _run(own_roots, "get", "pods")
    assert out.returncode == 0, out.stderr
    assert psutil.pid_exists(_daemon_pid(own_roots))
    assert oct(os.stat(own_roots.socket).st_mode & 0o777) == "0o600"


def test_a_killed_daemon_leaves_nothing_behind_and_pods_come_back(own_roots):
    r = own_roots
    _run(r, "apply", "-f", "-", input=as_yaml(pod("survivor", sh("main", "echo up; sleep 3600")),
                                                pod("finished", sh("main", "true"), restart="Never")))
    p = _wait(r, "survivor", running)
    _wait(r, "finished", lambda p: p["status"]["phase"] == "Succeeded")
    old = psutil.Process(_daemon_pid(r))
    children = old.children(recursive=True)
    assert children
    old.send_signal(signal.SIGKILL)
    old.wait(10)
    out = _run(r, "get", "pod", "survivor", "-o", "json")    # starts a new daemon, which reconciles
    assert out.returncode == 0, out.stderr
    for c in children:   # every process of the old daemon was ended by its recorded identity
        assert not c.is_running() or c.status() == psutil.STATUS_ZOMBIE
    p = _wait(r, "survivor", lambda p: running(p) and cstatus(p, "main")["restartCount"] == 1)
    last = cstatus(p, "main")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("ContainerStatusUnknown", 137)
    assert _pod(r, "finished")["status"]["phase"] == "Succeeded"
    assert _run(r, "delete", "pods", "--all").returncode == 0
    daemon = psutil.Process(_daemon_pid(r))
    assert [c for c in daemon.children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE] == []


def test_a_stopped_daemon_ends_its_pods_and_brings_them_back(own_roots):
    r = own_roots
    _run(r, "apply", "-f", "-", input=as_yaml(pod("comeback", sh("main", "sleep 3600"))))
    _wait(r, "comeback", running)
    d = psutil.Process(_daemon_pid(r))
    children = d.children(recursive=True)
    d.send_signal(signal.SIGTERM)
    d.wait(30)
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
    assert not os.path.exists(r.socket)
    p = _wait(r, "comeback", running)
    assert cstatus(p, "main")["restartCount"] == 1
    assert _run(r, "delete", "pod", "comeback", "--force", "--grace-period=0").returncode == 0
