"""Runtime records on disk: sandbox.json and containers/<name>.json (runc `state.json`).

Writer: the runtime layer, driven by the pod's own worker (DESIGN.md §3); everyone else reads.
Written atomically (fsutil.write_json_atomic); every pid is stored with its start time and must
be checked with kernel/procs before it is signalled or joined (runc `refreshState`).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from podrun.fsutil import read_json, write_json_atomic
from podrun.kernel.procs import ProcessRef
from podrun.kernel.seccomp import Filter

__all__ = ["SandboxInfo", "ContainerRecord", "Identity", "save_sandbox", "load_sandbox", "save_container",
           "load_container", "remove"]


@dataclass
class SandboxInfo:
    """A pod sandbox: the pause process (pid + start time) and what containers join."""

    pause_pid: int
    pause_start_time: int
    ns_paths: dict[str, str]              # net, ipc, uts (+ pid when shared) -> /proc/PID/ns/KIND
    hostname: str
    shares_pid: bool
    files: dict[str, str]                 # hosts, hostname, resolv.conf -> host path
    pod_ip: str | None = None             # set by the pod network (runtime/podnet.py)
    host_ip: str | None = None
    pod_uid: str = ""                     # the network's teardown key (veth name, lease)
    host_network: bool = False            # hostNetwork: no net/uts namespace of its own
    extra: dict[str, Any] = field(default_factory=dict)  # veth, cgroup … for later layers

    @property
    def pause(self) -> ProcessRef:
        return ProcessRef(self.pause_pid, self.pause_start_time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SandboxInfo":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class Identity:
    """Who a container's processes are: what `exec`, exec probes and hooks run as too
    (runc exec reuses the container's process user, capabilities, no_new_privs, seccomp filter
    and cgroup). seccomp is the compiled filter as Filter.to_dict() (base64), None = unconfined."""

    uid: int = 0
    gid: int = 0
    groups: list[int] = field(default_factory=list)
    capabilities: list[str] | None = None
    no_new_privs: bool = False
    cgroup_procs: list[str] = field(default_factory=list)
    seccomp: dict[str, Any] | None = None

    @classmethod
    def of(cls, plan: Any) -> "Identity":
        return cls(plan.uid, plan.gid, list(plan.supplementary_groups), plan.capabilities,
                   plan.no_new_privs, list(plan.cgroup_procs),
                   plan.seccomp.to_dict() if plan.seccomp is not None else None)

    def apply(self, plan: Any) -> Any:
        plan.uid, plan.gid, plan.supplementary_groups = self.uid, self.gid, list(self.groups)
        plan.capabilities, plan.no_new_privs = self.capabilities, self.no_new_privs
        plan.cgroup_procs = list(self.cgroup_procs)
        plan.seccomp = Filter.from_dict(self.seccomp)
        return plan

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Identity":
        return cls(**{k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__})


@dataclass
class ContainerRecord:
    """The current instance of one container (containers/<name>.json)."""

    name: str
    container_id: str
    pid: int
    start_time: int
    restart_count: int
    instance_dir: str
    log_path: str = ""
    env: list[str] = field(default_factory=list)    # what `exec` and exec probes run with
    cwd: str = "/"
    shares_pid: bool = False
    identity: Identity = field(default_factory=Identity)
    cgroup: str = ""                                # relative path of this run's cgroup
    attach: str = ""                                # its attach socket (stdin/tty containers)

    @property
    def process(self) -> ProcessRef:
        return ProcessRef(self.pid, self.start_time)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ContainerRecord":
        rec = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        rec.identity = Identity.from_dict(d.get("identity"))
        return rec


def save_sandbox(path: str, info: SandboxInfo) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json_atomic(path, info.to_dict())


def load_sandbox(path: str) -> SandboxInfo | None:
    data = read_json(path)
    return SandboxInfo.from_dict(data) if data else None


def save_container(path: str, rec: ContainerRecord) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json_atomic(path, asdict(rec))


def load_container(path: str) -> ContainerRecord | None:
    data = read_json(path)
    return ContainerRecord.from_dict(data) if data else None


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
