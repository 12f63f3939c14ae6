"""Test harness: every session has its own roots (never /run/podrun, /var/lib/podrun,
/var/log/podrun), its own daemon, and a leak check after each test that uses it.

Fixtures:
  roots            podrun.paths.Roots under a fresh temporary directory
  busybox_image    the busybox image built into this session's store (from the cached .deb)
  busybox_rootfs   its root filesystem directory
  nginx_image      the nginx image (Debian's nginx over busybox) built into the same store
  daemon           a real `podrun daemon` on the session roots (stopped at the end, by its pid)
  podrun           run the CLI: podrun("get", "pods") -> CompletedProcess (text)
"""
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

from podrun.paths import Roots

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples")


def pytest_sessionstart(session) -> None:
    """The suite needs root (namespaces, mounts, veths): say so once instead of skipping."""
    if os.geteuid() != 0:
        pytest.exit("podrun's tests need root: run scripts/test as root", returncode=2)


def _mounts_under(path: str) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="podrun-test-")
    yield d
    for mp in sorted(_mounts_under(d), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def roots(session_dir) -> Roots:
    r = Roots(os.path.join(session_dir, "run"), os.path.join(session_dir, "lib"), os.path.join(session_dir, "log"))
    for d in (r.run, r.lib, r.log):
        os.makedirs(d, mode=0o700, exist_ok=True)
    return r


@pytest.fixture(scope="session")
def busybox_image(roots):
    from podrun.images.build import build_busybox
    from podrun.images.store import ImageStore
    store = ImageStore(roots.images_dir)
    build_busybox(store, os.environ.get("PODRUN_CACHE", "/var/cache/podrun/debs"))
    return store.resolve("busybox")


@pytest.fixture(scope="session")
def nginx_image(roots):
    from podrun.images.build import build_nginx
    from podrun.images.store import ImageStore
    store = ImageStore(roots.images_dir)
    build_nginx(store, os.environ.get("PODRUN_CACHE", "/var/cache/podrun/debs"))
    return store.resolve("nginx")


@pytest.fixture(scope="session")
def busybox_rootfs(busybox_image) -> str:
    return busybox_image.rootfs


# This session's own bridge and subnet (never the real podrun0): a name the leak check knows
# (prt*) and a /24 picked from the pid so parallel sessions do not collide.
SESSION_BRIDGE = f"prt{os.getpid() % 100000:05d}"
SESSION_SUBNET = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}.0/24"


# ... its own HTTPS API port (never 6443): every daemon a test starts inherits it, and a second
# daemon finding it taken serves its unix socket only ...
def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SESSION_API_PORT = _free_port()
os.environ["PODRUN_API_PORT"] = str(SESSION_API_PORT)


# ... and its own cgroup parent in every hierarchy (never the real /podrun).
SESSION_CGROUP_PARENT = f"podrun-test-{os.getpid()}"


def session_cgroup_dirs() -> list[str]:
    """The session parent's directory in each hierarchy where it exists."""
    import glob
    return sorted(set(glob.glob(f"/sys/fs/cgroup/{SESSION_CGROUP_PARENT}")
                      + glob.glob(f"/sys/fs/cgroup/*/{SESSION_CGROUP_PARENT}")))


def pod_cgroups_left() -> list[str]:
    return [os.path.join(d, name) for base in session_cgroup_dirs()
            for d, subdirs, _ in os.walk(base) for name in subdirs if name.startswith("pod")]


def _remove_session_cgroups() -> None:
    for base in session_cgroup_dirs():
        for d, _, _ in sorted(os.walk(base), key=lambda t: -len(t[0])):
            try:
                os.rmdir(d)
            except OSError:
                pass


def _env(roots: Roots) -> dict:
    env = dict(os.environ, **roots.env())
    env["PODRUN_BRIDGE"], env["PODRUN_SUBNET"] = SESSION_BRIDGE, SESSION_SUBNET
    env["PODRUN_CGROUP_PARENT"] = SESSION_CGROUP_PARENT
    env["PODRUN_NO_AUTOSTART"] = "1"      # the session owns its daemon; a dead one is not replaced
    env.pop("PODRUN_ROOT", None)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="session")
def daemon(roots, busybox_image, nginx_image):   # examples/ use image: nginx
    log = open(roots.daemon_log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], env=_env(roots),
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(roots.socket):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("daemon did not start: " + open(roots.daemon_log).read()[-2000:])
        time.sleep(0.02)
    yield proc
    subprocess.run([sys.executable, "-m", "podrun", "delete", "pods", "--all", "--force", "--grace-period=0"],
                   env=_env(roots), capture_output=True, timeout=60)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    _remove_session_cgroups()
    assert session_cgroup_dirs() == [], "the session's cgroups could not be removed"


class Podrun:
    def __init__(self, roots: Roots):
        self.roots = roots
        self.env = _env(roots)

    def __call__(self, *args: str, input: str | None = None, check: bool = False, timeout: float = 120
                 ) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, "-m", "podrun", *args], env=self.env, input=input,
                           capture_output=True, text=True, timeout=timeout, stdin=None if input else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"podrun {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    def pod(self, name: str, namespace: str = "default") -> dict:
        return json.loads(self("get", "pod", name, "-n", namespace, "-o", "json", check=True).stdout)

    def apply_text(self, text: str) -> subprocess.CompletedProcess:
        return self("apply", "-f", "-", input=text)

    def wait_for(self, name: str, pred, timeout: float = 60, namespace: str = "default") -> dict:
        """Poll the pod until pred(pod) is true; fail with the last status seen."""
        deadline = time.monotonic() + timeout
        pod = None
        while time.monotonic() < deadline:
            pod = self.pod(name, namespace)
            if pred(pod):
                return pod
            time.sleep(0.2)
        raise AssertionError(f"pod {name} never reached the condition; last status: "
                             f"{json.dumps(pod and pod.get('status'), indent=1)}")


@pytest.fixture
def podrun(daemon, roots):
    p = Podrun(roots)
    yield p
    # Each test leaves nothing behind: delete what it made, then check processes and mounts.
    p("delete", "pods", "--all", "--force", "--grace-period=0", "-n", "default")
    for ns in os.listdir(roots.pods_dir) if os.path.isdir(roots.pods_dir) else []:
        nsname = ns.partition("_")[0]
        p("delete", "pods", "--all", "--force", "--grace-period=0", "-n", nsname)
    leftovers = [c for c in psutil.Process(daemon.pid).children(recursive=True)
                 if c.status() != psutil.STATUS_ZOMBIE]
    mounts = [m for r in (roots.lib, roots.run) for m in _mounts_under(r)]
    for c in leftovers:  # end only what this session started, by pid
        try:
            c.kill()
        except psutil.NoSuchProcess:
            pass
    assert not leftovers, f"processes left behind: {[(c.pid, c.cmdline()) for c in leftovers]}"
    assert not mounts, f"mounts left behind: {mounts}"
    assert pod_cgroups_left() == [], f"pod cgroups left behind: {pod_cgroups_left()}"
    assert not os.listdir(roots.pods_dir) if os.path.isdir(roots.pods_dir) else True
