"""A container's own cgroups at /sys/fs/cgroup (issue 12): a cgroup namespace rooted at its
cgroup, its limits visible, the mount read-only; exec joins the same namespace. On this
machine's hierarchy (v1 on a hybrid host) and on a private cgroup2 mount (the v2 mount)."""
from __future__ import annotations

import asyncio
import os
import subprocess
from types import SimpleNamespace

import pytest

from podrun.kernel import cgroups, procs
from podrun.runtime import plan as P
from podrun.runtime.exec import exec_plan, run_exec
from podrun.runtime.launcher import launch
from podrun.runtime.podcgroups import PodCgroups
from podrun.runtime.sandbox import start_sandbox, stop_sandbox
from podrun.runtime.state import Identity

from podenv import pod

pytestmark = [pytest.mark.usefixtures("leak_check")]

EROFS = "Read-only file system"


async def _exec_in_container(tmp_path, pause_binary, rootfs, node: PodCgroups, spec: dict, script: str) -> dict:
    """Start a sandbox and a `sleep` container in node's tree, exec script in it; what it said,
    and the container's cgroup namespace as the host sees it."""
    p = pod("cgv", containers=[spec])
    p["metadata"]["uid"] = f"v{os.getpid()}"
    info = await start_sandbox(p, str(tmp_path / "pod"), pause_binary, cgroups=node)
    try:
        inst = str(tmp_path / "ctr")
        P.prepare_instance_dir(inst)
        image = SimpleNamespace(rootfs=rootfs, config={"Cmd": ["sh"]})
        launch_plan = P.join_cgroup(P.container_plan(p, spec, info, image, inst, {}),
                                    node.container(info.extra["cgroup"], "c0ffee", spec))
        launched = await launch(launch_plan)
        try:
            code, out = await run_exec(exec_plan(launched.ref, ["sh", "-c", script], launch_plan.env,
                                                 identity=Identity.of(launch_plan)), timeout=20)
            return {"code": code, "out": out.decode(), "pid": launched.pid,
                    "cgroupns": os.stat(f"/proc/{launched.pid}/ns/cgroup").st_ino}
        finally:
            procs.send_signal(launched.ref, 9)
            await procs.wait_exit(launched.pid)
            for fd in (launched.stdout_fd, launched.stderr_fd):
                if fd is not None:
                    os.close(fd)
    finally:
        await stop_sandbox(info, cgroups=node)


def _lines(out: str, prefix: str) -> list[str]:
    return [l[len(prefix):] for l in out.splitlines() if l.startswith(prefix)]


SLEEPER = {"name": "c", "image": "busybox", "command": ["sleep", "30"],
           "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}}


def test_v1_limits_visible_own_cgroup_at_root_and_read_only(tmp_path, pause_binary, busybox_rootfs):
    layout = cgroups.detect()
    if layout.version != 1:
        pytest.fail("this machine was expected to be a v1/v2 hybrid (see tests/kernel/test_cgroups.py)")
    node = PodCgroups(layout, parent=f"podrun-kv-{os.getpid()}", pod_pids_limit=100)
    script = ("echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); "
              "echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); "
              "sed 's/^/self=/' /proc/self/cgroup; "
              "for d in /sys/fs/cgroup/*; do echo ls=${d##*/}; done; "
              "echo procs=$(cat /sys/fs/cgroup/memory/cgroup.procs | wc -l); "
              "(echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>&1 | sed 's/^/err=/'; "
              "mkdir /sys/fs/cgroup/memory/x 2>&1 | sed 's/^/err=/'; "
              "touch /sys/fs/cgroup/x 2>&1 | sed 's/^/err=/'; "
              "grep ' /sys/fs/cgroup' /proc/self/mountinfo | sed 's/^/mnt=/'")
    try:
        seen = asyncio.run(_exec_in_container(tmp_path, pause_binary, busybox_rootfs, node, SLEEPER, script))
    finally:
        asyncio.run(cgroups.Cgroup(layout, node.parent).destroy())
    out = seen["out"]
    assert seen["code"] == 0, out
    assert _lines(out, "mem=") == [str(64 * 2**20)] and _lines(out, "quota=") == ["25000"], out
    own = {line.split(":", 2)[2] for line in _lines(out, "self=")}
    assert own == {"/"}, out     # every hierarchy, the exec's own cgroup namespace at its root
    hierarchies = {os.path.basename(layout.mounts[c]) for c in cgroups.V1_CONTROLLERS if layout.has(c)}
    assert hierarchies <= set(_lines(out, "ls=")), out
    assert int(_lines(out, "procs=")[0]) >= 2, out   # the sleep and the exec'd shell (and its pipes)
    errs = _lines(out, "err=")
    assert len(errs) == 3 and all(EROFS in e for e in errs), out
    mnts = _lines(out, "mnt=")
    assert mnts and all(" ro," in m.split(" - ")[0] + "," for m in mnts), out
    assert seen["cgroupns"] != os.stat("/proc/self/ns/cgroup").st_ino


def test_v2_view_on_a_private_cgroup2_mount(tmp_path, pause_binary, busybox_rootfs):
    mnt = tmp_path / "cgroup2"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "cgroup2", "none", str(mnt)], check=True)
    try:
        layout = cgroups.detect(str(mnt))
        node = PodCgroups(layout, parent=f"podrun-kv2-{os.getpid()}", pod_pids_limit=100)
        spec = {"name": "c", "image": "busybox", "command": ["sleep", "30"]}
        script = ("sed 's/^/self=/' /proc/self/cgroup; "
                  "echo procs=$(cat /sys/fs/cgroup/cgroup.procs | wc -l); "
                  "for d in /sys/fs/cgroup/*; do echo ls=${d##*/}; done; "
                  "mkdir /sys/fs/cgroup/x 2>&1 | sed 's/^/err=/'; "
                  "grep ' /sys/fs/cgroup ' /proc/self/mountinfo | sed 's/^/mnt=/'")
        try:
            seen = asyncio.run(_exec_in_container(tmp_path, pause_binary, busybox_rootfs, node, spec, script))
        finally:
            asyncio.run(cgroups.Cgroup(layout, node.parent).destroy())
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    out = seen["out"]
    assert seen["code"] == 0, out
    assert "0::/" in [l for l in _lines(out, "self=")], out
    assert "cgroup.procs" in _lines(out, "ls=") and "podrun-kv2-%d" % os.getpid() not in _lines(out, "ls="), out
    assert int(_lines(out, "procs=")[0]) >= 2, out
    assert len(_lines(out, "err=")) == 1 and EROFS in _lines(out, "err=")[0], out
    (m,) = _lines(out, "mnt=")
    assert " - cgroup2 " in m and " ro," in m.split(" - ")[0] + ",", out
