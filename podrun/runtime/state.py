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

__all__ = ["SandboxInfo", "ContainerRecord", "save_sandbox", "load_sandbox", "save_container",
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

    @property
    def process(self) -> ProcessRef:
        return ProcessRef(self.pid, self.start_time)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ContainerRecord":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


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
