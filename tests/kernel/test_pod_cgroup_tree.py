"""The pod's cgroup tree for real, on this machine's hierarchy and on a private cgroup2 mount:
the pause and each container in their own leaf under pod<uid>, limits written, all removed."""
from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

from podrun.kernel import cgroups, procs
from podrun.runtime import plan as P
from podrun.runtime.launcher import launch
from podrun.runtime.podcgroups import PodCgroups
from podrun.runtime.sandbox import start_sandbox, stop_sandbox

from podenv import pod

pytestmark = [pytest.mark.usefixtures("leak_check")]


def _proc_cgroups(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(","):
                out[c] = path
    return out


async def _pod_with_one_container(tmp_path, pause_binary, rootfs, node: PodCgroups, spec: dict):
    """Start a sandbox and one container in node's tree; returns what the test checks."""
    p = pod("cg", containers=[spec])
    p["metadata"]["uid"] = f"u{os.getpid()}"
    info = await start_sandbox(p, str(tmp_path / "pod"), pause_binary, cgroups=node)
    try:
        inst = str(tmp_path / "ctr")
        P.prepare_instance_dir(inst)
        from types import SimpleNamespace
        image = SimpleNamespace(rootfs=rootfs, config={"Cmd": ["sh"]})
        launch_plan = P.container_plan(p, spec, info, image, inst, {})
        ctr = node.container(info.extra["cgroup"], "c0ffee", spec)
        launch_plan.cgroup_procs = ctr.procs_files()
        launched = await launch(launch_plan)
        seen = {"pause": _proc_cgroups(info.pause_pid), "ctr": _proc_cgroups(launched.pid),
                "pod_path": info.extra["cgroup"], "ctr_cgroup": ctr}
        if node.layout.has("memory"):
            seen["limit"] = open(os.path.join(node.layout.mounts["memory"], ctr.path,
                                              "memory.max" if node.layout.version == 2
                                              else "memory.limit_in_bytes")).read().strip()
        procs.send_signal(launched.ref, 9)
        await procs.wait_exit(launched.pid)
        for fd in (launched.stdout_fd, launched.stderr_fd):
            if fd is not None:
                os.close(fd)
        await ctr.destroy()
    finally:
        await stop_sandbox(info, cgroups=node)
    return seen


def test_pod_tree_on_this_machines_hierarchy(tmp_path, pause_binary, busybox_rootfs):
    layout = cgroups.detect()
    node = PodCgroups(layout, parent=f"podrun-kt-{os.getpid()}", pod_pids_limit=100)
    spec = {"name": "c", "image": "busybox", "command": ["sleep", "30"],
            "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}}
    try:
        seen = asyncio.run(_pod_with_one_container(tmp_path, pause_binary, busybox_rootfs, node, spec))
    finally:
        asyncio.run(_remove_tree(layout, node.parent))
    key = "memory" if layout.version == 1 else ""
    pod_path = "/" + seen["pod_path"]
    assert pod_path == f"/{node.parent}/pod{'u%d' % os.getpid()}"    # Guaranteed: right under the parent
    assert seen["pause"][key] == pod_path + "/pause"
    assert seen["ctr"][key] == pod_path + "/c0ffee"
    assert seen["limit"] == str(64 * 2**20)
    for mount in set(layout.mounts.values()):
        assert not os.path.exists(os.path.join(mount, seen["pod_path"]))


async def _remove_tree(layout, parent: str) -> None:
    await cgroups.Cgroup(layout, parent).destroy()


def test_pod_tree_on_a_private_cgroup2_mount(tmp_path, pause_binary, busybox_rootfs):
    """The v2 code path: cgroup2 mounted privately (only the controllers this machine gives
    cgroup2, maybe none: then no limits are written and the pids default is skipped)."""
    mnt = tmp_path / "cgroup2"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "cgroup2", "none", str(mnt)], check=True)
    try:
        layout = cgroups.detect(str(mnt))
        assert layout.version == 2
        node = PodCgroups(layout, parent=f"podrun-kt2-{os.getpid()}", pod_pids_limit=100)
        spec = {"name": "c", "image": "busybox", "command": ["sleep", "30"]}
        try:
            seen = asyncio.run(_pod_with_one_container(tmp_path, pause_binary, busybox_rootfs, node, spec))
        finally:
            asyncio.run(_remove_tree(layout, node.parent))
        pod_path = "/" + seen["pod_path"]
        assert pod_path == f"/{node.parent}/besteffort/pod{'u%d' % os.getpid()}"
        assert seen["pause"][""] == pod_path + "/pause"
        assert seen["ctr"][""] == pod_path + "/c0ffee"
        assert not os.path.exists(os.path.join(str(mnt), seen["pod_path"]))
        assert not os.path.exists(os.path.join(str(mnt), node.parent))
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
