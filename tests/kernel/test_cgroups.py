"""kernel/cgroups.py on real cgroups, as root: the host's own layout (v1 on a hybrid host, v2
on a unified one) and a private cgroup2 mount for the v2 code path on a v1 host.

Every test works under its own parent, podrun-cgtest-<pid>-<n>, which its fixture kills and
removes in every hierarchy even when the test fails; processes are started by the test, born
inside their cgroup (they write "0" to each cgroup.procs before exec, as the container child
does) and ended by their pid.
"""
from __future__ import annotations

import asyncio
import errno
import itertools
import os
import stat
import subprocess
import sys
import time

import pytest

from podrun.errors import CgroupError
from podrun.kernel import cgroups, mounts
from podrun.kernel import syscalls as sc
from podrun.kernel.cgroups import Cgroup, Limits

_seq = itertools.count()
BUSY = [sys.executable, "-c", "while True: pass"]
SLEEP = ["sleep", "60"]


def _joiner(procs_files: list[str]):
    def join() -> None:
        for path in procs_files:
            with open(path, "w") as f:
                f.write("0")
    return join


def _reap(pids: list[int], timeout: float = 5.0) -> None:
    """Reap those of pids that were reparented to us (the kernel suite is a subreaper)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                break
            time.sleep(0.01)


class Tree:
    """A throw-away parent cgroup and the processes a test starts; close() ends both."""

    def __init__(self, layout: cgroups.Layout):
        self.layout = layout
        self.name = f"podrun-cgtest-{os.getpid()}-{next(_seq)}"
        self.top = Cgroup(layout, self.name)
        self.started: list[subprocess.Popen] = []

    def cgroup(self, sub: str = "c") -> Cgroup:
        cg = Cgroup(self.layout, f"{self.name}/{sub}")
        cg.create()
        return cg

    def spawn(self, argv: list[str], cg: Cgroup | None = None, **kw) -> subprocess.Popen:
        p = subprocess.Popen(argv, preexec_fn=_joiner(cg.procs_files()) if cg else None,
                             stdin=subprocess.DEVNULL, **kw)
        self.started.append(p)
        return p

    def close(self) -> None:
        members = self.top.pids()
        self.top.kill_all()
        for p in self.started:
            if p.poll() is None:
                p.kill()
            p.wait()
        _reap(members)
        asyncio.run(self.top.destroy())
        assert not self.top.exists(), f"{self.name} left behind"


@pytest.fixture
def host(leak_check):
    tree = Tree(cgroups.detect())
    try:
        yield tree
    finally:
        tree.close()


@pytest.fixture
def v2(tmp_path, leak_check):
    """A private mount of the cgroup2 hierarchy (on a hybrid host, the one that only has
    hugetlb): the v2 code path for real, with whatever controllers it offers."""
    point = tmp_path / "cgroup2"
    point.mkdir()
    sc.LINUX.mount("none", str(point), "cgroup2", 0, None)
    try:
        tree = Tree(cgroups.detect(str(point)))
        try:
            yield tree
        finally:
            tree.close()
    finally:
        mounts.unmount(str(point))


def control(cg: Cgroup, controller: str, name: str) -> str:
    base = cg.layout.root if cg.layout.version == 2 else cg.layout.mounts[controller]
    with open(os.path.join(base, cg.path, name)) as f:
        return f.read().strip()


def need(tree: Tree, *controllers: str) -> None:
    missing = [c for c in controllers if not tree.layout.has(c)]
    if missing:
        pytest.skip(f"no {', '.join(missing)} controller on this host")


def _openable_block_device(tmp_path) -> int:
    """A block device this (unrestricted) process may open read-only: a disk, loop or zram
    device; the host's own root disk may be refused by the machine already."""
    probe = tmp_path / "probe"
    for entry in sorted(os.listdir("/sys/dev/block")):
        dev = os.makedev(*map(int, entry.split(":")))
        os.mknod(probe, stat.S_IFBLK | 0o600, dev)
        try:
            os.close(os.open(probe, os.O_RDONLY))
            return dev
        except OSError:
            continue
        finally:
            os.unlink(probe)
    pytest.skip("no block device can be opened here")


# --- the host's layout ----------------------------------------------------------------------

def test_detect_finds_the_hosts_hierarchies():
    layout = cgroups.detect()
    assert layout.version in (1, 2)
    for point in set(layout.mounts.values()):
        assert os.path.exists(os.path.join(point, "cgroup.procs"))
    if layout.version == 1:
        assert not any(p.endswith("/unified") for p in layout.mounts.values())   # hybrid: v1 only


def test_detect_refuses_a_directory_without_cgroups(tmp_path):
    with pytest.raises(CgroupError) as info:
        cgroups.detect(str(tmp_path))
    assert info.value.op == "detect"


def test_create_is_idempotent_and_makes_the_cgroup_in_every_hierarchy(host):
    cg = host.cgroup("a/b")
    cg.create()
    assert cg.dirs() and all(os.path.isdir(d) for d in cg.dirs())
    assert Cgroup(host.layout, host.name).children() == ["a"]


def test_added_process_is_listed_with_its_descendants_and_killed_alone(host):
    cg = host.cgroup("a")
    inside = host.spawn(SLEEP)
    cg.add(inside.pid)
    born = host.spawn(SLEEP, host.cgroup("a/b"))
    outside = host.spawn(SLEEP)
    assert cg.pids() == sorted([inside.pid, born.pid])
    assert host.top.pids() == sorted([inside.pid, born.pid])
    cg.kill_all()
    assert cg.pids() == []
    assert inside.wait(5) == -9 and born.wait(5) == -9
    assert outside.poll() is None                      # never signals what is not inside


def test_stats_count_the_cpu_of_a_finished_child(host):
    cg = host.cgroup()
    p = host.spawn([sys.executable, "-c", "sum(range(3_000_000))"], cg)
    assert p.wait(30) == 0
    stats = cg.stats()
    assert stats.cpu_usage_ns > 10_000_000
    assert 0 <= stats.memory_working_set <= stats.memory_usage
    assert stats.pids_current == 0


def test_memory_limit_ends_a_greedy_child_with_sigkill_and_counts_the_oom_kill(host):
    need(host, "memory")
    cg = host.cgroup()
    cg.set_limits(Limits(memory=32 << 20))
    p = host.spawn([sys.executable, "-c", "b = b'x' * (200 << 20)"], cg, stderr=subprocess.DEVNULL)
    assert p.wait(30) == -9
    assert cg.oom_kills() >= 1


def test_memory_limit_can_be_raised_and_lowered(host):
    need(host, "memory")
    cg = host.cgroup()
    name = "memory.max" if host.layout.version == 2 else "memory.limit_in_bytes"
    for limit in (32 << 20, 64 << 20, 16 << 20):     # raising must move memory+swap first (v1)
        cg.set_limits(Limits(memory=limit))
        assert int(control(cg, "memory", name)) == limit


def test_cpu_quota_holds_a_busy_loop_near_its_share(host):
    need(host, "cpu")
    cg = host.cgroup()
    cg.set_limits(Limits(cpu_quota=20000, cpu_period=100000, cpu_shares=512))
    start = time.monotonic()
    host.spawn(BUSY, cg)
    time.sleep(1.5)
    cores = cg.stats().cpu_usage_ns / 1e9 / (time.monotonic() - start)
    assert 0.05 <= cores <= 0.4, cores


def test_pids_limit_stops_forks_and_kill_all_empties_the_cgroup(host):
    need(host, "pids")
    cg = host.cgroup()
    cg.set_limits(Limits(pids=20))
    sh = host.spawn(["sh", "-c", "for i in $(seq 100); do sleep 5 & done; wait"], cg,
                    stderr=subprocess.DEVNULL)
    seen = []
    for _ in range(20):
        seen.append(cg.stats().pids_current)
        time.sleep(0.05)
    assert 10 <= max(seen) <= 20, seen
    members = cg.pids()
    cg.kill_all()
    assert cg.pids() == []
    sh.wait(5)
    _reap(members)                                      # pids.current counts zombies until reaped
    assert cg.stats().pids_current == 0
    if host.layout.has("freezer"):
        assert control(cg, "freezer", "freezer.state") == "THAWED"


def test_restricted_devices_refuse_a_disk_but_allow_dev_null(host, tmp_path):
    need(host, "devices")
    if host.layout.version == 2:
        pytest.skip("v2 device control needs an eBPF program")
    os.mknod(tmp_path / "disk", stat.S_IFBLK | 0o600, _openable_block_device(tmp_path))
    os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    probe = [sys.executable, "-c", "import os, sys\n"
             "for p in sys.argv[1:]:\n"
             "    try: os.close(os.open(p, os.O_RDONLY)); print('ok')\n"
             "    except OSError as e: print(e.errno)\n",
             str(tmp_path / "disk"), str(tmp_path / "null")]
    locked = host.cgroup("locked")
    assert locked.restrict_devices(cgroups.DEFAULT_DEVICE_RULES) is True
    out = host.spawn(probe, locked, stdout=subprocess.PIPE, text=True).communicate(timeout=30)[0]
    assert out.split() == [str(errno.EPERM), "ok"]
    free = host.cgroup("free")
    out = host.spawn(probe, free, stdout=subprocess.PIPE, text=True).communicate(timeout=30)[0]
    assert out.split() == ["ok", "ok"]


def test_destroy_kills_and_removes_the_tree_in_every_hierarchy(host):
    cg = host.cgroup("pod")
    p = host.spawn(SLEEP, host.cgroup("pod/c1"))
    host.spawn(BUSY, host.cgroup("pod/c2"))
    dirs = cg.dirs()
    asyncio.run(cg.destroy())
    assert not any(os.path.exists(d) for d in dirs) and not cg.exists()
    assert p.wait(5) == -9
    asyncio.run(cg.destroy())                           # gone already: fine


def test_destroy_gives_up_with_ebusy_naming_the_cgroup_it_could_not_remove(host):
    need(host, "freezer")
    if host.layout.version == 2:
        pytest.skip("a v2 frozen task still dies of SIGKILL")
    cg = host.cgroup("c")
    host.spawn(SLEEP, cg)
    freezer = os.path.join(host.layout.mounts["freezer"], host.name, "freezer.state")
    with open(freezer, "w") as f:
        f.write("FROZEN")                                # the parent's freeze holds the kill
    with pytest.raises(CgroupError) as info:
        asyncio.run(cg.destroy(timeout=0.3))
    assert info.value.errno == errno.EBUSY and info.value.target.endswith(f"{host.name}/c")
    with open(freezer, "w") as f:
        f.write("THAWED")
    asyncio.run(cg.destroy())
    assert not cg.exists()


def test_remove_if_empty_keeps_a_level_that_still_has_children(host):
    host.cgroup("qos/pod1")
    qos = Cgroup(host.layout, f"{host.name}/qos")
    assert qos.remove_if_empty() is False and qos.exists()
    assert Cgroup(host.layout, f"{host.name}/qos/pod1").remove_now() is True
    assert qos.remove_if_empty() is True and not qos.exists()


# --- cgroup v2 through a private mount --------------------------------------------------------

def test_v2_mount_is_detected_as_v2(v2):
    assert v2.layout.version == 2
    assert set(v2.layout.mounts.values()) <= {v2.layout.root}


def test_v2_create_add_stats_kill_and_destroy(v2):
    cg = v2.cgroup("pod/c")
    busy = v2.spawn([sys.executable, "-c", "sum(range(3_000_000))"], cg)
    assert busy.wait(30) == 0
    sleeper = v2.spawn(SLEEP)
    cg.add(sleeper.pid)
    assert cg.pids() == [sleeper.pid] and v2.top.pids() == [sleeper.pid]
    stats = cg.stats()
    assert stats.cpu_usage_ns > 10_000_000                 # cpu.stat exists without the cpu controller
    assert stats.pids_current == 1
    assert os.path.exists(os.path.join(cg.dirs()[0], "cgroup.kill"))
    cg.kill_all()
    assert sleeper.wait(5) == -9 and cg.pids() == []
    asyncio.run(Cgroup(v2.layout, f"{v2.name}/pod").destroy())
    assert not cg.exists()


def test_v2_freeze_and_kill_path_for_kernels_without_cgroup_kill(v2):
    cg = v2.cgroup()
    sleeper = v2.spawn(SLEEP, cg)
    cg._kill_frozen()                                    # what kill_all does before Linux 5.14
    assert sleeper.wait(5) == -9
    assert control(cg, "", "cgroup.freeze") == "0"


def test_v2_limit_without_the_controller_names_it(v2):
    if v2.layout.has("memory"):
        pytest.skip("this cgroup2 hierarchy has the memory controller")
    cg = v2.cgroup()
    with pytest.raises(CgroupError, match="cgroup controller memory is not available"):
        cg.set_limits(Limits(memory=32 << 20))


def test_v2_devices_are_not_restricted_without_ebpf(v2):
    assert v2.cgroup().restrict_devices(cgroups.DEFAULT_DEVICE_RULES) is False
