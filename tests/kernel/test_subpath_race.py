"""The subPath swap race (CVE-2017-1002101, CVE-2021-30465): a process of the pod swaps a
directory `d` with a symlink `l -> /` in an emptyDir with renameat2(RENAME_EXCHANGE) in a tight
loop while containers mount `subPath: d`. No container may ever see the host's root, and
nothing may be written on the host through such a mount.

The swapper is a static C program built here with gcc and run on the emptyDir directory (the
same directory a sidecar of the pod would see). A launch either mounts `d` (the directory) or
fails closed (the kernel refused to follow the symlink); both are fine, the host is not.
The second test races the target side: a mount target's parent inside a shared volume.

Measured before the fd-based mounts: 4-13 of 100 containers saw the host's / (every run), and a
target directory was made on the host in 2 of 5 runs; after: none in any run.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess

import pytest

from podrun.errors import ContainerCreateError
from podrun.runtime.volumes import prepare_volumes, teardown_volumes

from podenv import PodEnv, pod
from swapper import build_swapper

pytestmark = [pytest.mark.usefixtures("leak_check")]

LAUNCHES = 100     # containers mounting subPath d, BATCH at a time
BATCH = 10


@pytest.fixture(scope="module")
def swapper(tmp_path_factory) -> str:
    return build_swapper(str(tmp_path_factory.mktemp("swapper")))


def test_swapping_subpath_for_a_symlink_to_root_never_mounts_the_host(
        tmp_path, pause_binary, busybox_rootfs, swapper):
    marker = tmp_path / f"host-marker-{secrets.token_hex(4)}"   # only the host's / leads here
    marker.write_text("host\n")
    probe = f"podrun-race-probe-{secrets.token_hex(4)}"          # a write that must not reach /
    p = pod(volumes=[{"name": "scratch", "emptyDir": {}}])
    dirs = prepare_volumes(p, lambda n: str(tmp_path / "volumes" / n))
    vol = dirs["scratch"]
    os.mkdir(os.path.join(vol, "d"))
    os.symlink("/", os.path.join(vol, "l"))
    script = (f"if [ -e /mnt{marker} ]; then echo HOST; else echo VOLUME; fi;"
              f"touch /mnt/{probe} 2>/dev/null; true")
    container = {"command": ["sh", "-c", script],
                 "volumeMounts": [{"name": "scratch", "mountPath": "/mnt", "subPath": "d"}]}
    outcomes: list[str] = []
    proc = subprocess.Popen([swapper, vol], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"

        async def one(env: PodEnv, i: int) -> str:
            try:
                code, out, err = await env.run(dict(container, name=f"c{i}"), dirs)
            except ContainerCreateError:
                return "refused"
            assert code == 0, err
            return out.strip()

        async def main():
            async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, p) as env:
                for start in range(0, LAUNCHES, BATCH):
                    outcomes.extend(await asyncio.gather(*(one(env, i) for i in range(start, start + BATCH))))
        asyncio.run(main())
    finally:
        proc.send_signal(signal.SIGTERM)
        swaps = int(proc.communicate(timeout=10)[0] or 0)
        host_writes = os.path.lexists(f"/{probe}")
        if host_writes:
            os.unlink(f"/{probe}")
        teardown_volumes(p, dirs)
    counts = {k: outcomes.count(k) for k in ("HOST", "VOLUME", "refused")}
    print(f"swaps={swaps} outcomes={counts}")
    assert swaps > LAUNCHES
    assert counts["HOST"] == 0, f"{counts['HOST']} of {LAUNCHES} containers saw the host's /"
    assert not host_writes, "a container wrote into the host's /"
    assert counts["VOLUME"] + counts["refused"] == LAUNCHES
    assert counts["VOLUME"] > 0  # the mount itself still works while the race goes on


def test_swapping_a_mount_targets_parent_for_a_symlink_never_makes_or_mounts_outside_the_root(
        tmp_path, pause_binary, busybox_rootfs, swapper):
    """The target side: volume `shared` is mounted on /data and `other` on /data/d/x while the
    pod swaps /data/d with a symlink to a host directory. The target is made and mounted inside
    the container's root, never in that host directory."""
    escape = tmp_path / "escape"          # where a followed symlink would lead, on the host
    escape.mkdir()
    shared, other = tmp_path / "shared", tmp_path / "other"
    (shared / "d").mkdir(parents=True)
    other.mkdir()
    (other / "marker").write_text("other\n")
    os.symlink(str(escape), shared / "l")
    container = {"command": ["sh", "-c", "cat /data/d/x/marker 2>/dev/null; true"],
                 "volumeMounts": [{"name": "shared", "mountPath": "/data"},
                                  {"name": "other", "mountPath": "/data/d/x"}]}
    outcomes: list[str] = []
    proc = subprocess.Popen([swapper, str(shared)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"

        async def one(env: PodEnv, i: int) -> str:
            try:
                code, out, err = await env.run(dict(container, name=f"t{i}"),
                                               {"shared": str(shared), "other": str(other)})
            except ContainerCreateError:
                return "refused"
            assert code == 0, err
            return out.strip() or "empty"

        async def main():
            async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
                for start in range(0, LAUNCHES, BATCH):
                    outcomes.extend(await asyncio.gather(*(one(env, i) for i in range(start, start + BATCH))))
        asyncio.run(main())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    counts = {k: outcomes.count(k) for k in set(outcomes)}
    print(f"outcomes={counts} made on the host={os.listdir(escape)}")
    assert os.listdir(escape) == [], "a mount target was made outside the container's root"
    assert set(outcomes) <= {"other", "empty", "refused"} and counts.get("other", 0) > 0
