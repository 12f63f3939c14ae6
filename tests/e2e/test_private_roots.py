"""podrun's roots are closed to other users (issue 12, CVE-2021-41091 in Docker): an
unprivileged local user cannot reach a setuid file of a loaded image or of a container's
writable layer, nor another pod's emptyDir; the 0700 modes come back at every daemon start.

The roots live under a 0755 directory, as /var/lib, /run and /var/log do, and are first made by
`podrun image load` before any daemon runs (the way the reviewer found /var/lib/podrun 0755).
The daemon is this module's own (hostNetwork pods only: no bridge, no address), stopped by its
pid at the end; its cgroup parent is removed.
"""
from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

from archives import docker_archive, image_config, tar_layer
from helpers import as_yaml, cstatus, pod, running, sh

from podrun.paths import Roots

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOBODY = 65534
CGROUP_PARENT = f"podrun-test-{os.getpid()}-private"
IMAGE = "example.com/suid:v1"

def as_nobody(*paths: str) -> list[str]:
    """stat(2) each path as nobody in a forked child: "reached" or the errno."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            seen = []
            for p in paths:
                try:
                    os.stat(p)
                    seen.append("reached")
                except OSError as exc:
                    seen.append(str(exc.errno))
            os.write(w, " ".join(seen).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out.split()


def _suid_layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"#!/bin/sh\nid\n"
        ti = tarfile.TarInfo("bin/suid-tool")
        ti.mode, ti.size, ti.uid, ti.gid = 0o4755, len(data), 0, 0
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _env(r: Roots) -> dict:
    env = dict(os.environ, **r.env())
    env.pop("PODRUN_ROOT", None)
    env.update(PODRUN_NO_AUTOSTART="1", PODRUN_CGROUP_PARENT=CGROUP_PARENT, PYTHONPATH=REPO,
               PODRUN_BRIDGE=f"prp{os.getpid() % 100000:05d}", PODRUN_SUBNET="10.199.253.0/24")
    return env


def _run(r: Roots, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "podrun", *args], env=_env(r), capture_output=True, text=True,
                          input=input, timeout=60, stdin=None if input else subprocess.DEVNULL)


def _start_daemon(r: Roots) -> subprocess.Popen:
    log = open(os.path.join(os.path.dirname(r.run), "daemon.log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], env=_env(r), stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 20
    while not os.path.exists(r.socket):
        assert proc.poll() is None and time.monotonic() < deadline, "daemon did not start"
        time.sleep(0.02)
    return proc


def _stop_daemon(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class World:
    def __init__(self, top: str, roots: Roots):
        self.top, self.roots, self.daemon = top, roots, None

    def wait(self, name: str, pred, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = _run(self.roots, "get", "pod", name, "-o", "json")
            if out.returncode == 0 and pred(json.loads(out.stdout)):
                return json.loads(out.stdout)
            time.sleep(0.2)
        raise AssertionError(f"pod {name} never got there: {out.stdout or out.stderr}")


@pytest.fixture(scope="module")
def world(busybox_rootfs):
    top = tempfile.mkdtemp(prefix="podrun-private-")
    os.chmod(top, 0o755)   # like /var/lib: anyone may traverse it
    r = Roots(os.path.join(top, "run"), os.path.join(top, "lib"), os.path.join(top, "log"))
    w = World(top, r)
    try:
        archive = os.path.join(top, "suid.tar")
        layers = [tar_layer([], busybox_rootfs), _suid_layer()]
        docker_archive(archive, layers, tags=(IMAGE,), config=image_config(layers, {"Cmd": ["sh"]}))
        loaded = _run(r, "image", "load", "-i", archive)
        assert loaded.returncode == 0, loaded.stderr
        w.daemon = _start_daemon(r)
        yield w
    finally:
        if w.daemon is not None:
            _run(r, "delete", "pods", "--all", "--force", "--grace-period=0")
            _stop_daemon(w.daemon)
        for base in [f"/sys/fs/cgroup/{CGROUP_PARENT}"] + [os.path.join("/sys/fs/cgroup", h, CGROUP_PARENT)
                                                          for h in os.listdir("/sys/fs/cgroup")]:
            for d, _, _ in sorted(os.walk(base), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        out = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout
        for m in sorted((m for m in out.split() if m.startswith(top)), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(top, ignore_errors=True)


def test_a_setuid_file_of_a_loaded_image_is_out_of_reach(world):
    (suid,) = [os.path.join(d, "suid-tool") for d, _, files in os.walk(world.roots.images_dir)
               if "suid-tool" in files and d.endswith("/bin")]
    assert os.stat(suid).st_mode & (stat.S_ISUID | 0o777) == stat.S_ISUID | 0o755
    assert as_nobody(world.top, suid) == ["reached", str(errno.EACCES)]


def test_every_root_is_0700_after_daemon_start(world):
    modes = {p: oct(os.stat(p).st_mode & 0o7777) for p in world.roots.private_dirs()}
    assert set(modes.values()) == {"0o700"}, modes


def test_writable_layers_and_emptydirs_are_out_of_reach(world):
    r = world.roots
    script = ("cp /bin/busybox /tmp/suid-sh && chmod 4755 /tmp/suid-sh && echo s3cret > /scratch/secret && "
              "stat -c %a /scratch && touch /tmp/ready && sleep 3600")
    spec = pod("layers", sh("main", script, image=IMAGE, volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}]),
               hostNetwork=True, volumes=[{"name": "scratch", "emptyDir": {}}])
    applied = _run(r, "apply", "-f", "-", input=as_yaml(spec))
    assert applied.returncode == 0, applied.stderr
    p = world.wait("layers", running)
    uid = p["metadata"]["uid"]
    upper = os.path.join(r.instance_dir(uid, "main", cstatus(p, "main")["restartCount"]), "upper")
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(upper, "tmp/ready")):
        assert time.monotonic() < deadline, _run(r, "logs", "layers").stdout
        time.sleep(0.1)
    suid, volume = os.path.join(upper, "tmp/suid-sh"), r.volume_dir(uid, "scratch")
    assert os.stat(suid).st_mode & stat.S_ISUID and os.path.exists(os.path.join(volume, "secret"))
    assert _run(r, "logs", "layers").stdout == "777\n"   # the container still sees a 0777 emptyDir
    assert as_nobody(suid, volume, os.path.join(volume, "secret")) == [str(errno.EACCES)] * 3
    logs = os.path.join(r.log, "pods")
    assert as_nobody(logs) == [str(errno.EACCES)]
    _run(r, "delete", "pod", "layers", "--force", "--grace-period=0")


def test_modes_are_reapplied_at_every_daemon_start(world):
    r = world.roots
    for p in r.private_dirs():
        os.chmod(p, 0o755)
    _stop_daemon(world.daemon)
    world.daemon = None
    world.daemon = _start_daemon(r)
    modes = {p: oct(os.stat(p).st_mode & 0o7777) for p in r.private_dirs()}
    assert set(modes.values()) == {"0o700"}, modes
