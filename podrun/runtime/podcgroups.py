"""The pods' cgroup tree and the resource rules that fill it (kubelet `pkg/kubelet/cm`).

    <parent>/                         podrun's parent (kubelet: /kubepods), PODRUN_CGROUP_PARENT
      pod<uid>/                       Guaranteed pods sit right under the parent
      burstable/pod<uid>/             Burstable pods
      besteffort/pod<uid>/            BestEffort pods (cpu shares 2)
        pause/                        the sandbox's pause process
        <container id>/               one cgroup per container run: a fresh OOM count each run

The pod cgroup carries the pod's limits (`ResourceConfigForPod`: the sum of the containers'
limits when every container has one, the sum of cpu requests as shares, and the node's pod
pids limit); each container cgroup carries the container's own (kuberuntime
`calculateLinuxResources`). Leaves only: cgroup v2 allows no process in an inner cgroup.

Pure functions turn a pod spec into Limits (unit-tested without root); PodCgroups does the
creating and removing through kernel/cgroups.py.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from podrun.api.qos import BEST_EFFORT, BURSTABLE, GUARANTEED, qos_class
from podrun.api.quantity import cpu_millis, memory_bytes
from podrun.errors import CgroupError
from podrun.kernel import cgroups
from podrun.kernel.cgroups import Cgroup, Layout, Limits

__all__ = ["PodCgroups", "container_limits", "pod_limits", "pod_cgroup_path", "DEFAULT_POD_PIDS_LIMIT",
           "from_env", "milli_cpu_to_shares", "milli_cpu_to_quota"]

log = logging.getLogger("podrun.runtime")

DEFAULT_POD_PIDS_LIMIT = 1024   # kubelet's podPidsLimit is unlimited by default; a fork bomb must not take the node
_QOS_DIR = {GUARANTEED: "", BURSTABLE: "burstable", BEST_EFFORT: "besteffort"}

# kubelet cm/helpers_linux.go
MIN_SHARES, MAX_SHARES, SHARES_PER_CPU, MIN_QUOTA = 2, 262144, 1024, 1000


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


def _quantity(res: dict, kind: str, name: str) -> str | None:
    value = ((res or {}).get(kind) or {}).get(name)
    return None if value is None else str(value)


def container_limits(container: dict) -> Limits:
    """kuberuntime calculateLinuxResources: shares from the cpu request (the limit when no
    request), quota from the cpu limit, the memory limit as is; 0 means none."""
    res = container.get("resources") or {}
    cpu_req, cpu_lim = _quantity(res, "requests", "cpu"), _quantity(res, "limits", "cpu")
    mem_lim = _quantity(res, "limits", "memory")
    shares_from = cpu_req if cpu_req is not None else cpu_lim
    memory = memory_bytes(mem_lim) if mem_lim is not None else 0
    return Limits(
        memory=memory or None,
        cpu_shares=milli_cpu_to_shares(cpu_millis(shares_from) if shares_from else 0),
        cpu_quota=milli_cpu_to_quota(cpu_millis(cpu_lim)) if cpu_lim is not None else None)


def _effective(spec: dict, per_container) -> tuple[int, bool]:
    """The pod's total of one resource: regular containers and sidecars run together; an init
    container runs alone (with the sidecars started before it) — kubelet PodRequests' max rule.
    Returns (total, every container has a value)."""
    values, complete = {}, True
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        v = per_container(c)
        complete = complete and v is not None
        values[id(c)] = v or 0
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    running = sum(values[id(c)] for c in list(spec.get("containers") or []) + sidecars)
    init_peak = 0
    started = 0
    for c in spec.get("initContainers") or []:
        if c.get("restartPolicy") == "Always":
            started += values[id(c)]
        else:
            init_peak = max(init_peak, started + values[id(c)])
    return max(running, init_peak), complete


def pod_limits(spec: dict, pids_limit: int | None) -> Limits:
    """kubelet ResourceConfigForPod: limits only when every container has one; BestEffort pods
    get the minimum shares."""
    def cpu_request(c: dict) -> int | None:
        res = c.get("resources") or {}
        q = _quantity(res, "requests", "cpu") or _quantity(res, "limits", "cpu")
        return cpu_millis(q) if q is not None else None

    def cpu_limit(c: dict) -> int | None:
        q = _quantity(c.get("resources") or {}, "limits", "cpu")
        return cpu_millis(q) if q is not None and cpu_millis(q) > 0 else None

    def mem_limit(c: dict) -> int | None:
        q = _quantity(c.get("resources") or {}, "limits", "memory")
        return memory_bytes(q) if q is not None and memory_bytes(q) > 0 else None

    requests, _ = _effective(spec, cpu_request)
    cpu_total, cpu_all = _effective(spec, cpu_limit)
    mem_total, mem_all = _effective(spec, mem_limit)
    besteffort = qos_class(spec) == BEST_EFFORT
    return Limits(
        cpu_shares=milli_cpu_to_shares(0 if besteffort else requests),
        cpu_quota=milli_cpu_to_quota(cpu_total) if cpu_all and cpu_total else None,
        memory=mem_total if mem_all and mem_total else None,
        pids=pids_limit if pids_limit and pids_limit > 0 else None)


def pod_cgroup_path(parent: str, pod: dict) -> str:
    qos_dir = _QOS_DIR[qos_class(pod.get("spec") or {})]
    return "/".join(p for p in (parent, qos_dir, f"pod{pod['metadata']['uid']}") if p)


@dataclass
class PodCgroups:
    """The node's cgroup settings: which hierarchy, podrun's parent, the pod pids limit."""

    layout: Layout
    parent: str = "podrun"
    pod_pids_limit: int | None = DEFAULT_POD_PIDS_LIMIT

    def pod(self, pod: dict) -> Cgroup:
        return Cgroup(self.layout, pod_cgroup_path(self.parent, pod))

    def create_pod(self, pod: dict) -> Cgroup:
        """Create the pod cgroup with the pod's limits; the pids limit only where the pids
        controller exists (a default must not make every pod fail)."""
        spec = pod.get("spec") or {}
        pids = self.pod_pids_limit if self.layout.has("pids") else None
        cg = self.pod(pod)
        cg.create()
        try:
            qos_dir = _QOS_DIR[qos_class(spec)]
            if qos_dir == "besteffort" and self.layout.has("cpu"):
                Cgroup(self.layout, f"{self.parent}/besteffort").set_limits(Limits(cpu_shares=MIN_SHARES))
            cg.set_limits(self._available(pod_limits(spec, pids)))
        except BaseException:
            cg.remove_now()
            raise
        return cg

    def _available(self, limits: Limits) -> Limits:
        """Drop the shares where there is no cpu controller: they are a default, not a request."""
        if limits.cpu_shares is not None and not self.layout.has("cpu"):
            limits = Limits(memory=limits.memory, cpu_quota=limits.cpu_quota, pids=limits.pids)
        return limits

    def child(self, pod_path: str, name: str, limits: Limits | None = None, devices: bool = True) -> Cgroup:
        """A leaf under the pod cgroup (the pause, or one container run)."""
        cg = Cgroup(self.layout, f"{pod_path}/{name}")
        cg.create()
        try:
            if limits is not None:
                cg.set_limits(self._available(limits))
            if devices:
                cg.restrict_devices(cgroups.DEFAULT_DEVICE_RULES)
        except BaseException:
            cg.remove_now()
            raise
        return cg

    def container(self, pod_path: str, container_id: str, container: dict) -> Cgroup:
        return self.child(pod_path, container_id, container_limits(container))

    async def remove_pod(self, pod_path: str) -> None:
        """Kill whatever is left in the pod's cgroup, remove it, and the QoS level if empty."""
        await Cgroup(self.layout, pod_path).destroy()
        qos = os.path.dirname(pod_path)
        if qos != self.parent and qos.startswith(self.parent + "/"):
            Cgroup(self.layout, qos).remove_if_empty()

    async def remove_all(self) -> None:
        """Start-up after a crash: no pod is adopted, so everything under the parent goes."""
        for qos in ("burstable", "besteffort", ""):
            base = Cgroup(self.layout, "/".join(p for p in (self.parent, qos) if p))
            for name in base.children():
                if name.startswith("pod"):
                    try:
                        await Cgroup(self.layout, f"{base.path}/{name}").destroy()
                    except CgroupError as exc:
                        log.warning("cannot remove a stale pod cgroup: %s", exc)


    def remove_parent(self) -> bool:
        """`system reset`: the QoS levels and the parent itself, when no pod is left in them."""
        gone = [Cgroup(self.layout, f"{self.parent}/{q}").remove_if_empty() for q in ("burstable", "besteffort")]
        return all(gone) and Cgroup(self.layout, self.parent).remove_if_empty()


def from_env(env: dict[str, str] | None = None) -> PodCgroups | None:
    """PODRUN_CGROUP_ROOT (default /sys/fs/cgroup), PODRUN_CGROUP_PARENT (default podrun),
    PODRUN_POD_PIDS_LIMIT (default 1024, 0 = none). None when no hierarchy is usable."""
    env = os.environ if env is None else env
    try:
        layout = cgroups.detect(env.get("PODRUN_CGROUP_ROOT", "/sys/fs/cgroup"))
    except CgroupError as exc:
        log.warning("no usable cgroup hierarchy, pods run without resource limits: %s", exc)
        return None
    limit = int(env.get("PODRUN_POD_PIDS_LIMIT", DEFAULT_POD_PIDS_LIMIT))
    return PodCgroups(layout, env.get("PODRUN_CGROUP_PARENT", "podrun").strip("/"), limit or None)
