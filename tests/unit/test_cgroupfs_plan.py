"""The cgroupfs view as a plan and as mount calls (runtime/plan.py `join_cgroup`,
kernel/cgroups.py `view_hierarchies`, `mount_view`), recorded with the fake syscalls."""
from __future__ import annotations

import os

from podrun.kernel import cgroupfs as cgroups
from podrun.kernel import syscalls as sc
from podrun.kernel.cgroups import Cgroup, Layout
from podrun.runtime import plan as P

V1 = Layout(1, "/sys/fs/cgroup", {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                                  "cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory",
                                  "pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd"})
V2 = Layout(2, "/sys/fs/cgroup", {"cpu": "/sys/fs/cgroup", "memory": "/sys/fs/cgroup"})
FLAGS = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_RELATIME


def _plan(privileged: bool = False) -> P.LaunchPlan:
    return P.LaunchPlan(argv=["sh"], env=[], rootfs="/r", new_ns=["mnt", "pid"],
                        ops=[P.Proc(), P.Sysfs("/sys", readonly=not privileged), P.MaskPath("/proc/kcore")])


def test_v1_view_names_the_hierarchies_podrun_uses_with_all_their_controllers():
    assert cgroups.view_hierarchies(V1) == (("cpu,cpuacct", "cpu,cpuacct"), ("memory", "memory"), ("pids", "pids"))
    assert cgroups.view_hierarchies(V2) == ()


def test_join_cgroup_adds_the_namespace_and_the_view_right_after_sys():
    plan = P.join_cgroup(_plan(), Cgroup(V1, "podrun/pod1/c1"))
    assert plan.new_ns == ["mnt", "pid", "cgroup"]
    assert plan.cgroup_procs == [f"/sys/fs/cgroup/{h}/podrun/pod1/c1/cgroup.procs" for h in ("cpu,cpuacct", "memory", "pids")]
    assert plan.ops[2] == P.Cgroupfs("/sys/fs/cgroup", cgroups.view_hierarchies(V1), readonly=True)
    assert isinstance(plan.ops[3], P.MaskPath)
    privileged = P.join_cgroup(_plan(privileged=True), Cgroup(V2, "podrun/pod1/c1"))
    assert privileged.ops[2] == P.Cgroupfs("/sys/fs/cgroup", (), readonly=False)   # containerd: rw when privileged


def test_v2_view_is_one_read_only_cgroup2_mount():
    fake = sc.RecordingSyscalls()
    cgroups.mount_view("/r/sys/fs/cgroup", (), True, fake)
    assert fake.calls == [("mount", "cgroup2", "/r/sys/fs/cgroup", "cgroup2", FLAGS | sc.MS_RDONLY, None)]


def test_v1_view_is_a_tmpfs_of_hierarchies_with_links_made_read_only_last(tmp_path):
    fake = sc.RecordingSyscalls()
    dest = str(tmp_path)
    cgroups.mount_view(dest, cgroups.view_hierarchies(V1), True, fake)
    assert fake.calls == [
        ("mount", "tmpfs", dest, "tmpfs", FLAGS, "mode=755"),
        ("mount", "cgroup", f"{dest}/cpu,cpuacct", "cgroup", FLAGS | sc.MS_RDONLY, "cpu,cpuacct"),
        ("mount", "cgroup", f"{dest}/memory", "cgroup", FLAGS | sc.MS_RDONLY, "memory"),
        ("mount", "cgroup", f"{dest}/pids", "cgroup", FLAGS | sc.MS_RDONLY, "pids"),
        ("mount", None, dest, None, sc.MS_BIND | sc.MS_REMOUNT | FLAGS | sc.MS_RDONLY, None)]
    assert os.readlink(f"{dest}/cpu") == "cpu,cpuacct" and os.readlink(f"{dest}/cpuacct") == "cpu,cpuacct"
    assert sorted(os.listdir(dest)) == ["cpu", "cpu,cpuacct", "cpuacct", "memory", "pids"]
