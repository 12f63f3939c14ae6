"""kernel/cgroups.py without a cgroup filesystem: runc's shares-to-weight conversion, the
parsers on sample text, layout detection from sample mountinfo, and the v2 file formats that
cannot exist on a v1 host, written into a fake directory tree."""
from __future__ import annotations

import os

import pytest

from podrun.errors import CgroupError
from podrun.kernel import cgroups
from podrun.kernel.cgroups import Cgroup, Layout, Limits

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 23 0:32 / /mnt/other\\040memory rw,relatime - cgroup cgroup rw,memory
"""
HYBRID_SELF_CGROUP = """\
5:name=systemd:/user.slice
4:pids:/
3:memory:/
2:cpuset:/
1:cpu,cpuacct:/
0::/user.slice
"""
V2_MOUNTINFO = """\
24 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""


def test_shares_convert_to_weight_like_runc():
    assert [cgroups.shares_to_weight(s) for s in (2, 1024, 262144)] == [1, 39, 10000]
    assert cgroups.shares_to_weight(0) == 1 and cgroups.shares_to_weight(10**7) == 10000


def test_keyed_files_parse_to_integers():
    memory_stat = "cache 4096\nrss 8192\ntotal_inactive_file 1024\n"
    cpu_stat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
    oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
    events = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n"
    assert cgroups.parse_keyed(memory_stat)["total_inactive_file"] == 1024
    assert cgroups.parse_keyed(cpu_stat) == {"usage_usec": 1500, "user_usec": 1000, "system_usec": 500}
    assert cgroups.parse_keyed(oom_control)["oom_kill"] == 3
    assert cgroups.parse_keyed(events)["oom_kill"] == 2
    assert cgroups.parse_keyed("some avg10=0.00 avg60=0.00\n\n") == {}


def test_working_set_is_usage_minus_inactive_file_floored_at_zero():
    assert cgroups.working_set(100, 30) == 70
    assert cgroups.working_set(10, 30) == 0


def test_hybrid_host_is_v1_with_comounted_cpu_and_cpuacct():
    mounts = cgroups.v1_mounts(HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP, "/sys/fs/cgroup")
    assert mounts == {"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
                      "cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory",
                      "pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd"}
    assert not cgroups.cgroup2_mounted_at(HYBRID_MOUNTINFO, "/sys/fs/cgroup")
    assert cgroups.cgroup2_mounted_at(HYBRID_MOUNTINFO, "/sys/fs/cgroup/unified")


def test_v1_mounts_elsewhere_are_found_only_under_their_own_root():
    assert cgroups.v1_mounts(HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP, "/mnt/other memory") == {
        "memory": "/mnt/other memory"}
    assert cgroups.v1_mounts(HYBRID_MOUNTINFO, HYBRID_SELF_CGROUP, "/nowhere") == {}


def test_pure_v2_host_is_detected_from_the_mount_on_the_root():
    assert cgroups.cgroup2_mounted_at(V2_MOUNTINFO, "/sys/fs/cgroup")
    overmounted = V2_MOUNTINFO + "99 24 0:50 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
    assert not cgroups.cgroup2_mounted_at(overmounted, "/sys/fs/cgroup")


@pytest.mark.parametrize("path", ["/abs", "a/../b", "..", "", "a//b", "./a"])
def test_cgroup_paths_must_stay_inside_the_hierarchy(path):
    with pytest.raises(CgroupError):
        Cgroup(Layout(2, "/sys/fs/cgroup", {}), path)


# --- a fake v2 tree: regular files where the kernel would have control files ---------------

def fake_v2(tmp_path, controllers="cpu memory pids", files=()) -> Layout:
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text(controllers + "\n")
    (root / "cgroup.subtree_control").write_text("")
    return Layout(2, str(root), {c: str(root) for c in controllers.split()})


def touch(directory, *names):
    os.makedirs(directory, exist_ok=True)
    for n in names:
        open(os.path.join(directory, n), "a").close()


def test_v2_create_enables_the_controllers_from_the_root_down(tmp_path):
    layout = fake_v2(tmp_path, "cpuset cpu io memory pids")
    root = tmp_path / "cg"
    (root / "cgroup.subtree_control").write_text("memory\n")   # already on: not written again
    touch(root / "podrun", "cgroup.controllers", "cgroup.subtree_control")
    (root / "podrun/cgroup.controllers").write_text("cpu pids\n")  # memory not handed down here
    Cgroup(layout, "podrun/pod1/c1").create()
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +pids"
    assert (root / "podrun/cgroup.subtree_control").read_text() == "+cpu +pids"
    assert (root / "podrun/pod1/c1").is_dir()
    assert not (root / "podrun/pod1/c1/cgroup.subtree_control").exists()   # the leaf stays a leaf


def test_v2_limits_are_written_in_v2_formats(tmp_path):
    layout = fake_v2(tmp_path)
    cg = Cgroup(layout, "c")
    d = tmp_path / "cg/c"
    touch(d, "memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max")
    cg.set_limits(Limits(memory=64 << 20, cpu_quota=20000, cpu_shares=1024, pids=100))
    got = {n: (d / n).read_text() for n in os.listdir(d)}
    assert got == {"memory.max": str(64 << 20), "memory.swap.max": "0", "cpu.max": "20000 100000",
                   "cpu.weight": "39", "pids.max": "100"}


def test_limits_left_unset_are_not_written(tmp_path):
    layout = fake_v2(tmp_path)
    d = tmp_path / "cg/c"
    touch(d, "pids.max")
    Cgroup(layout, "c").set_limits(Limits(pids=5))
    assert sorted(os.listdir(d)) == ["pids.max"]


def test_v2_memory_without_swap_file_writes_only_the_limit(tmp_path):
    layout = fake_v2(tmp_path)
    d = tmp_path / "cg/c"
    touch(d, "memory.max")
    Cgroup(layout, "c").set_limits(Limits(memory=1 << 20))
    assert sorted(os.listdir(d)) == ["memory.max"]


def test_a_limit_without_its_controller_names_the_controller(tmp_path):
    layout = fake_v2(tmp_path, "cpu")
    with pytest.raises(CgroupError, match="cgroup controller memory is not available"):
        Cgroup(layout, "c").set_limits(Limits(memory=1 << 20))
    with pytest.raises(CgroupError, match="controller pids"):
        Cgroup(layout, "c").set_limits(Limits(pids=3))


def test_a_failed_write_names_the_file(tmp_path):
    layout = fake_v2(tmp_path)
    with pytest.raises(CgroupError) as info:
        Cgroup(layout, "missing").set_limits(Limits(pids=3))
    assert info.value.op == "write" and info.value.target == str(tmp_path / "cg/missing/pids.max")


def test_v2_stats_read_cpu_stat_memory_current_and_pids_current(tmp_path):
    layout = fake_v2(tmp_path)
    d = tmp_path / "cg/c"
    touch(d)
    (d / "cpu.stat").write_text("usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n")
    (d / "memory.current").write_text("1048576\n")
    (d / "memory.stat").write_text("anon 4096\nfile 8192\ninactive_file 4096\nactive_file 4096\n")
    (d / "pids.current").write_text("3\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    cg = Cgroup(layout, "c")
    assert cg.stats() == cgroups.Stats(cpu_usage_ns=2_500_000, memory_usage=1048576,
                                       memory_working_set=1048576 - 4096, pids_current=3)
    assert cg.oom_kills() == 1


def test_v2_stats_without_memory_and_pids_controllers(tmp_path):
    layout = fake_v2(tmp_path, "")
    d = tmp_path / "cg/c"
    touch(d)
    (d / "cpu.stat").write_text("usage_usec 7\n")
    (d / "cgroup.procs").write_text("")
    cg = Cgroup(layout, "c")
    assert cg.stats() == cgroups.Stats(cpu_usage_ns=7000, memory_usage=0, memory_working_set=0,
                                       pids_current=0)
    assert cg.oom_kills() == 0


def test_restrict_devices_is_a_no_op_on_v2(tmp_path):
    assert Cgroup(fake_v2(tmp_path), "c").restrict_devices(cgroups.DEFAULT_DEVICE_RULES) is False


def test_v1_comounted_hierarchies_are_one_directory(tmp_path):
    layout = Layout(1, "/sys/fs/cgroup", {"cpu": "/h/cpu,cpuacct", "cpuacct": "/h/cpu,cpuacct",
                                          "memory": "/h/memory", "cpuset": "/h/cpuset",
                                          "name=systemd": "/h/systemd"})
    cg = Cgroup(layout, "podrun/p")
    assert cg.dirs() == ["/h/cpu,cpuacct/podrun/p", "/h/memory/podrun/p"]   # no cpuset, no systemd
    assert cg.procs_files() == ["/h/cpu,cpuacct/podrun/p/cgroup.procs", "/h/memory/podrun/p/cgroup.procs"]


def test_default_device_rules_are_runcs():
    assert cgroups.DEFAULT_DEVICE_RULES[:2] == ["c *:* m", "b *:* m"]
    assert {"c 1:3 rwm", "c 1:9 rwm", "c 136:* rwm", "c 10:200 rwm"} <= set(cgroups.DEFAULT_DEVICE_RULES)
    assert not any(r.startswith("b ") and "rw" in r for r in cgroups.DEFAULT_DEVICE_RULES)
