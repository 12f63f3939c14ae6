"""Control groups: limit, account and kill a container's processes as one unit.

A cgroup is a directory in a cgroup filesystem; a process belongs to it once its pid is
written to the directory's `cgroup.procs`, and so do the children it forks afterwards. The
controllers then meter the group: memory (an OOM kill inside the group when it goes past
its limit), cpu (CFS quota per period, and the weight against its siblings), pids (fork fails
past the limit), freezer, devices. Two layouts exist and this module hides the difference:

  v1  one hierarchy per controller (or per comounted set, like "cpu,cpuacct"), each mounted
      on its own directory under /sys/fs/cgroup; a process has one cgroup in each hierarchy,
      so "the container's cgroup" is the same relative path created in every hierarchy we use.
      Found from /proc/self/mountinfo, the controllers named by /proc/self/cgroup (runc
      `libcontainer/cgroups/utils.go` `GetCgroupMounts`). A hybrid host's cgroup2 mount
      (/sys/fs/cgroup/unified) is ignored: the controllers we need are all on the v1 side.
  v2  one tree; a controller works in a cgroup only when every ancestor lists it in
      `cgroup.subtree_control`, so creating enables cpu/memory/pids from the root down
      (runc `fs2/create.go` `CreateCgroupPath`); processes may live in leaves only.

The order that matters, as in runc and the kubelet's `pkg/kubelet/cm`:
  1. create the directories, then write the limits, and only then let a task in: the
     container child writes "0" to each of `procs_files()` before exec, so its first
     instruction already runs limited (runc `nsexec` joins before `execve` the same way);
  2. killing is `cgroup.kill` where the kernel has it (v2, Linux 5.14), otherwise freeze,
     SIGKILL every member, thaw, until the group is empty (runc `signalAllProcesses`):
     frozen tasks cannot fork a new member in between;
  3. removal is rmdir, leaves first, in every hierarchy; EBUSY while the last tasks are
     still exiting is retried for a while (runc `utils.go` `RemovePath`).

Resource figures follow the kubelet (`cm/helpers_linux.go` `MilliCPUToShares`,
`MilliCPUToQuota`) and runc's v1→v2 weight conversion; the memory "working set" is the figure
the kubelet and metrics-server report (cAdvisor: usage minus inactive file pages).
"""
from __future__ import annotations

import asyncio
import errno
import os
import re
import signal
import time
from dataclasses import dataclass

from podrun.errors import CgroupError

__all__ = ["Limits", "Stats", "Layout", "Cgroup", "detect", "DEFAULT_DEVICE_RULES",
           "shares_to_weight", "milli_cpu_to_shares", "milli_cpu_to_quota", "parse_keyed",
           "working_set", "cgroup2_mounted_at", "v1_mounts", "V1_CONTROLLERS", "V2_CONTROLLERS"]

# The v1 hierarchies a podrun cgroup is created in. cpuset is left out on purpose: a new
# cpuset cgroup is empty (no cpus, no mems) and refuses tasks until both are copied from the
# parent, and podrun sets no cpuset.
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "freezer", "devices")
# The v2 controllers enabled down to a cgroup (cpu.stat and the freezer are core files).
V2_CONTROLLERS = ("cpu", "memory", "pids")

# runc's default device allow list (`libcontainer/specconv` `AllowedDevices`): mknod of any
# node, and read/write/mknod of the harmless character devices only.
DEFAULT_DEVICE_RULES = [
    "c *:* m", "b *:* m",
    "c 1:3 rwm",     # /dev/null
    "c 1:5 rwm",     # /dev/zero
    "c 1:7 rwm",     # /dev/full
    "c 1:8 rwm",     # /dev/random
    "c 1:9 rwm",     # /dev/urandom
    "c 5:0 rwm",     # /dev/tty
    "c 5:1 rwm",     # /dev/console
    "c 5:2 rwm",     # /dev/ptmx
    "c 136:* rwm",   # /dev/pts/*
    "c 10:200 rwm",  # /dev/net/tun
]

KILL_TIMEOUT = 2.0   # kill_all gives up after this long; destroy then reports what is left
_PIDFD_BATCH = 128   # pidfds held open at once while signalling (a fork bomb must not hit EMFILE)

# kubelet cm/helpers_linux.go
MIN_SHARES, MAX_SHARES, SHARES_PER_CPU, MIN_QUOTA = 2, 262144, 1024, 1000


@dataclass(frozen=True)
class Limits:
    """What to write into a cgroup; None leaves the kernel's default (unlimited)."""

    memory: int | None = None      # bytes; no swap on top
    cpu_quota: int | None = None   # microseconds of CPU per cpu_period
    cpu_period: int = 100000
    cpu_shares: int | None = None  # v1 shares; converted to a v2 weight
    pids: int | None = None


@dataclass(frozen=True)
class Stats:
    cpu_usage_ns: int
    memory_usage: int
    memory_working_set: int        # usage - inactive_file, floored at 0 (kubelet, cAdvisor)
    pids_current: int


@dataclass(frozen=True)
class Layout:
    """Where the cgroup filesystems are: v1, controller -> its hierarchy's mount point;
    v2, every available controller -> root."""

    version: int
    root: str
    mounts: dict[str, str]

    def has(self, controller: str) -> bool:
        return controller in self.mounts


# --- pure rules and parsers ------------------------------------------------------------

def shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144) to cpu.weight (1..10000), runc `ConvertCPUSharesToCgroupV2Value`."""
    return max(1, min(10000, 1 + ((shares - 2) * 9999) // 262142))


def milli_cpu_to_shares(milli_cpu: int) -> int:
    """kubelet `MilliCPUToShares`: no request still gets the minimum, 2."""
    if milli_cpu <= 0:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli_cpu * SHARES_PER_CPU // 1000))


def milli_cpu_to_quota(milli_cpu: int, period: int = 100000) -> int | None:
    """kubelet `MilliCPUToQuota`: None (no limit) for 0, and never below 1 ms per period."""
    if milli_cpu <= 0:
        return None
    return max(MIN_QUOTA, milli_cpu * period // 1000)


def parse_keyed(text: str) -> dict[str, int]:
    """"key value" lines (memory.stat, cpu.stat, memory.oom_control, memory.events)."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def working_set(usage: int, inactive_file: int) -> int:
    """The kubelet's memory working set: what would not be freed under pressure."""
    return max(0, usage - inactive_file)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 …)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mountinfo(text: str) -> list[tuple[str, str, list[str]]]:
    """(mount point, fstype, super options) per line; optional fields end at " - "."""
    out = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if sep and len(fields) >= 5 and len(rest) >= 3:
            out.append((_unescape(fields[4]), rest[0], rest[2].split(",")))
    return out


def cgroup2_mounted_at(mountinfo: str, root: str) -> bool:
    """Is the topmost mount on root a cgroup2 filesystem? (the last entry for a mount point
    is the one on top)."""
    types = [fstype for point, fstype, _ in _mountinfo(mountinfo) if point == root]
    return bool(types) and types[-1] == "cgroup2"


def v1_mounts(mountinfo: str, self_cgroup: str, root: str) -> dict[str, str]:
    """controller -> mount point of its v1 hierarchy under root. The super options name the
    hierarchy's controllers among other options; /proc/self/cgroup tells which words are
    controllers (runc `getCgroupMountsHelper`)."""
    known = {c for line in self_cgroup.splitlines() if line.count(":") >= 2
             for c in line.split(":", 2)[1].split(",") if c}
    prefix = root.rstrip("/") + "/"
    out: dict[str, str] = {}
    for point, fstype, options in _mountinfo(mountinfo):
        if fstype == "cgroup" and (point == root or point.startswith(prefix)):
            for controller in options:
                if controller in known:
                    out.setdefault(controller, point)
    return out


# --- detection ------------------------------------------------------------------------

def _read_text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise CgroupError("read", path, exc.errno or 0, exc.strerror or "") from exc


def detect(root: str = "/sys/fs/cgroup") -> Layout:
    """v2 when root itself is a cgroup2 mount, else the v1 hierarchies mounted under root."""
    root = os.path.realpath(root)
    mountinfo = _read_text("/proc/self/mountinfo")
    if cgroup2_mounted_at(mountinfo, root):
        controllers = _read_text(os.path.join(root, "cgroup.controllers")).split()
        return Layout(2, root, {c: root for c in controllers})
    mounts = v1_mounts(mountinfo, _read_text("/proc/self/cgroup"), root)
    if not mounts:
        raise CgroupError("detect", root, errno.ENOENT, "neither a cgroup2 mount nor cgroup v1 hierarchies")
    return Layout(1, root, mounts)


# --- file helpers ---------------------------------------------------------------------

def _write(path: str, value: str) -> None:
    """One write(2) per value: the kernel parses each write on its own (runc `WriteFile`)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise CgroupError("write", path, exc.errno or 0, f"value {value!r}") from exc


def _read(path: str) -> str | None:
    """The file's text; None when it (or its cgroup, ENODEV) is gone."""
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            return None
        raise CgroupError("read", path, exc.errno or 0) from exc


def _read_int(path: str) -> int | None:
    text = _read(path)
    return int(text.split()[0]) if text and text.split()[0].isdigit() else None


def _mkdir(path: str) -> None:
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise CgroupError("mkdir", path, exc.errno or 0) from exc


# --- one cgroup -----------------------------------------------------------------------

class Cgroup:
    """One cgroup, by its path relative to each hierarchy's root ("podrun/pod<uid>/<id>")."""

    def __init__(self, layout: Layout, path: str):
        path = path.rstrip("/")
        parts = path.split("/")
        if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise CgroupError("open cgroup", path or "''", errno.EINVAL,
                              "a cgroup path is relative to the hierarchy root, without '.' or '..'")
        self.layout, self.path = layout, path

    def __repr__(self) -> str:
        return f"Cgroup(v{self.layout.version}, {self.path!r})"

    # where the files are

    def dirs(self) -> list[str]:
        """This cgroup's directory in each hierarchy used (v2: the one directory)."""
        if self.layout.version == 2:
            return [os.path.join(self.layout.root, self.path)]
        points = dict.fromkeys(self.layout.mounts[c] for c in V1_CONTROLLERS if self.layout.has(c))
        return [os.path.join(p, self.path) for p in points]

    def _file(self, controller: str, name: str) -> str | None:
        """The control file `name` of `controller`; None when the controller is not mounted
        (v2 answers for every controller: its core files exist without it)."""
        if self.layout.version == 2:
            return os.path.join(self.layout.root, self.path, name)
        if not self.layout.has(controller):
            return None
        return os.path.join(self.layout.mounts[controller], self.path, name)

    def procs_files(self) -> list[str]:
        """The cgroup.procs to write "0" to, in a forked child, to join before exec."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs()]

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs())

    def children(self) -> list[str]:
        """Names of the child cgroups, in any hierarchy."""
        names: set[str] = set()
        for d in self.dirs():
            try:
                names.update(e.name for e in os.scandir(d) if e.is_dir(follow_symlinks=False))
            except (FileNotFoundError, NotADirectoryError):
                pass
        return sorted(names)

    # create, limit, join

    def create(self) -> None:
        """mkdir -p in every hierarchy; v2 first enables the controllers down the path."""
        if self.layout.version == 1:
            for d in self.dirs():
                _mkdir(d)
            return
        wanted = [c for c in V2_CONTROLLERS if self.layout.has(c)]
        current = self.layout.root
        for part in self.path.split("/"):
            _enable_controllers(current, wanted)
            current = os.path.join(current, part)
            _mkdir(current)

    def set_limits(self, limits: Limits) -> None:
        """Write the limits that are set; one whose controller is missing is an error."""
        for controller, wanted in (("memory", limits.memory is not None),
                                   ("cpu", limits.cpu_quota is not None or limits.cpu_shares is not None),
                                   ("pids", limits.pids is not None)):
            if wanted and not self.layout.has(controller):
                raise CgroupError(f"limit {controller}", self.path, errno.ENOTSUP,
                                  f"cgroup controller {controller} is not available")
        if limits.memory is not None:
            self._set_memory(limits.memory)
        if limits.cpu_quota is not None:
            self._set_cpu_quota(limits.cpu_quota, limits.cpu_period)
        if limits.cpu_shares is not None:
            self._set_cpu_shares(limits.cpu_shares)
        if limits.pids is not None:
            _write(self._must("pids", "pids.max"), str(limits.pids))

    def _must(self, controller: str, name: str) -> str:
        path = self._file(controller, name)
        assert path is not None  # set_limits checked the controller first
        return path

    def _set_memory(self, limit: int) -> None:
        """The limit, and the same limit on memory+swap so no swap comes on top of it."""
        if self.layout.version == 2:
            _write(self._must("memory", "memory.max"), str(limit))
            swap = self._must("memory", "memory.swap.max")
            if os.path.exists(swap):
                _write(swap, "0")
            return
        mem = self._must("memory", "memory.limit_in_bytes")
        memsw = self._must("memory", "memory.memsw.limit_in_bytes")
        if not os.path.exists(memsw):      # no swap accounting: nothing to match
            _write(mem, str(limit))
            return
        # v1 wants memory <= memory+swap at every moment: raise memsw first when growing
        # (runc fs/memory.go setMemoryAndSwap).
        current = _read_int(mem)
        growing = current is not None and limit > current
        for path in ((memsw, mem) if growing else (mem, memsw)):
            _write(path, str(limit))

    def _set_cpu_quota(self, quota: int, period: int) -> None:
        if self.layout.version == 2:
            _write(self._must("cpu", "cpu.max"), f"{quota} {period}")
            return
        _write(self._must("cpu", "cpu.cfs_period_us"), str(period))
        _write(self._must("cpu", "cpu.cfs_quota_us"), str(quota))

    def _set_cpu_shares(self, shares: int) -> None:
        if self.layout.version == 2:
            _write(self._must("cpu", "cpu.weight"), str(shares_to_weight(shares)))
        else:
            _write(self._must("cpu", "cpu.shares"), str(shares))

    def add(self, pid: int) -> None:
        for procs in self.procs_files():
            _write(procs, str(pid))

    def restrict_devices(self, allow: list[str]) -> bool:
        """v1: deny everything, then allow each rule ("c 1:3 rwm"). v2 filters devices with
        an eBPF program attached to the cgroup, which podrun does not load: returns False."""
        if self.layout.version == 2 or not self.layout.has("devices"):
            return False
        _write(self._must("devices", "devices.deny"), "a")
        for rule in allow:
            _write(self._must("devices", "devices.allow"), rule)
        return True

    # observe

    def pids(self) -> list[int]:
        """Every process in this cgroup and below, in any hierarchy used."""
        found: set[int] = set()
        for top in self.dirs():
            for d, _, _ in os.walk(top):
                text = _read(os.path.join(d, "cgroup.procs")) or ""
                found.update(int(p) for p in text.split())
        return sorted(found)

    def stats(self) -> Stats:
        v2 = self.layout.version == 2
        if v2:
            cpu_ns = 1000 * self._keyed("cpu", "cpu.stat").get("usage_usec", 0)
        else:
            cpu_ns = self._int("cpuacct", "cpuacct.usage")
        usage = self._int("memory", "memory.current" if v2 else "memory.usage_in_bytes")
        inactive_key = "inactive_file" if v2 else "total_inactive_file"   # v1: with descendants
        inactive = self._keyed("memory", "memory.stat").get(inactive_key, 0)
        pids_file = self._file("pids", "pids.current") if self.layout.has("pids") else None
        pids_current = _read_int(pids_file) if pids_file else None
        return Stats(cpu_usage_ns=cpu_ns, memory_usage=usage,
                     memory_working_set=working_set(usage, inactive),
                     pids_current=pids_current if pids_current is not None else len(self.pids()))

    def oom_kills(self) -> int:
        """How many tasks the kernel OOM-killed here (0 when not counted); v1 counts this
        cgroup's own tasks, v2 its descendants' too."""
        name = "memory.events" if self.layout.version == 2 else "memory.oom_control"
        return self._keyed("memory", name).get("oom_kill", 0)

    def _int(self, controller: str, name: str) -> int:
        path = self._file(controller, name)
        return (_read_int(path) or 0) if path else 0

    def _keyed(self, controller: str, name: str) -> dict[str, int]:
        path = self._file(controller, name)
        return parse_keyed(_read(path) or "") if path else {}

    # kill and remove

    def kill_all(self) -> None:
        """SIGKILL everything in the cgroup and below, until it is empty or KILL_TIMEOUT."""
        deadline = time.monotonic() + KILL_TIMEOUT
        while self.pids() and time.monotonic() < deadline:
            self._kill_round()
            time.sleep(0.01)

    def _kill_round(self) -> None:
        kill_file = os.path.join(self.dirs()[0], "cgroup.kill") if self.layout.version == 2 else None
        if kill_file is not None and os.path.exists(kill_file):
            _write(kill_file, "1")
            return
        self._kill_frozen()

    def _kill_frozen(self) -> None:
        """Freeze, SIGKILL every member, thaw: the kills land when the tasks thaw, and no
        member can fork a new one in between (runc `signalAllProcesses`)."""
        frozen = self._freeze(True)
        try:
            _sigkill_members(self)
        finally:
            if frozen:
                self._freeze(False)

    def _freeze(self, frozen: bool) -> bool:
        """v1 freezer.state / v2 cgroup.freeze; False when there is no freezer here."""
        if self.layout.version == 2:
            path, value = os.path.join(self.dirs()[0], "cgroup.freeze"), "1" if frozen else "0"
        else:
            path, value = self._file("freezer", "freezer.state"), "FROZEN" if frozen else "THAWED"
        if path is None or not os.path.exists(path):
            return False
        _write(path, value)
        return True

    async def destroy(self, timeout: float = 5.0) -> None:
        """Kill what is left, then rmdir leaves first in every hierarchy; a task still
        exiting makes rmdir fail with EBUSY, so retry until timeout. Idempotent. One kill
        round per try rather than kill_all's loop: the event loop is never held up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.005
        while True:
            if self.pids():
                self._kill_round()
            busy = self._remove_tree()
            if busy is None:
                return
            if loop.time() >= deadline:
                raise CgroupError("remove", busy, errno.EBUSY,
                                  f"still busy after {timeout:g}s, pids {self.pids()[:10]}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    def remove_now(self) -> bool:
        """Best effort, synchronous (cleanup after a failed setup, nothing has joined yet):
        kill, one rmdir pass. True when every directory is gone; never raises."""
        try:
            self.kill_all()
            return self._remove_tree() is None
        except (CgroupError, OSError):
            return False

    def remove_if_empty(self) -> bool:
        """rmdir this directory only if it has neither children nor tasks (a QoS level)."""
        return all([_rmdir(d) for d in self.dirs()])

    def _remove_tree(self) -> str | None:
        """rmdir every directory, deepest first; the first one still busy, or None."""
        busy = None
        for top in self.dirs():
            for d, _, _ in os.walk(top, topdown=False):
                if not _rmdir(d):
                    busy = busy or d
        return busy


def _rmdir(d: str) -> bool:
    """True when d is gone (or was never there), False while it is busy or has children."""
    try:
        os.rmdir(d)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY):
            raise CgroupError("remove", d, exc.errno or 0) from exc
        return False
    return True


def _enable_controllers(directory: str, wanted: list[str]) -> None:
    """Enable in directory's subtree_control those of wanted it has and has not enabled."""
    available = (_read(os.path.join(directory, "cgroup.controllers")) or "").split()
    enabled = (_read(os.path.join(directory, "cgroup.subtree_control")) or "").split()
    missing = [c for c in wanted if c in available and c not in enabled]
    if not missing:
        return
    path = os.path.join(directory, "cgroup.subtree_control")
    try:
        _write(path, " ".join("+" + c for c in missing))
    except CgroupError as exc:
        if exc.errno != errno.EBUSY:
            raise
        raise CgroupError("write", path, errno.EBUSY, "the cgroup has processes of its own; "
                          "cgroup v2 allows them in leaves only") from exc


def _sigkill_members(cg: Cgroup) -> None:
    """SIGKILL the members through pidfds, and only pids still listed after their pidfd was
    opened: a pid number reused by a process outside the cgroup is never signalled."""
    pids = cg.pids()
    for start in range(0, len(pids), _PIDFD_BATCH):
        fds: dict[int, int] = {}
        try:
            for pid in pids[start:start + _PIDFD_BATCH]:
                try:
                    fds[pid] = os.pidfd_open(pid)
                except ProcessLookupError:
                    pass
            members = set(cg.pids())
            for pid, fd in fds.items():
                if pid in members:
                    try:
                        signal.pidfd_send_signal(fd, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        finally:
            for fd in fds.values():
                os.close(fd)
