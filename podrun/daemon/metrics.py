"""The metrics.k8s.io API for `podrun top`: what metrics-server serves, read from the cgroups.

A request samples every running container's cgroup twice, `WINDOW` apart: CPU is the usage
delta over the window in nanocores, memory the working set (usage minus inactive file pages,
the kubelet's and metrics-server's figure). Pods with no running container have no metrics,
as on a cluster. The pause process is not a container and is not reported.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from podrun.clock import rfc3339
from podrun.errors import NotFound, PodrunError

if TYPE_CHECKING:
    from podrun.daemon.registry import PodRegistry

__all__ = ["pod_metrics", "WINDOW"]

WINDOW = 0.5  # seconds between the two samples


def _running(registry: "PodRegistry", keys) -> dict:
    """(pod key, container name) -> that container's current cgroup."""
    out = {}
    for key in keys:
        worker = registry.workers.get(key)
        for name, runner in (worker.runners.items() if worker else ()):
            if runner.cgroup is not None and runner.proc is not None:
                out[(key, name)] = runner.cgroup
    return out


def _sample(cgroups: dict) -> dict:
    out = {}
    for k, cg in cgroups.items():
        try:
            out[k] = cg.stats()
        except (OSError, PodrunError):
            pass  # the container ended between the two samples
    return out


async def pod_metrics(registry: "PodRegistry", namespace: str | None, name: str | None = None,
                      selector: dict[str, str] | None = None) -> list[dict]:
    """PodMetrics objects; NotFound names the pod as metrics-server does when one is asked for."""
    if name is not None:
        pods = [registry.get(namespace or "default", name)]
    else:
        pods = registry.list(namespace, selector)
    keys = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods]
    cgroups = _running(registry, keys)
    first = _sample(cgroups)
    await asyncio.sleep(WINDOW)
    second = _sample(cgroups)
    now = registry.ctx.clock.now()
    items = []
    for pod, key in zip(pods, keys):
        containers = []
        for c in (pod["spec"].get("containers") or []):
            k = (key, c["name"])
            if k not in first or k not in second:
                continue
            cpu = max(0, second[k].cpu_usage_ns - first[k].cpu_usage_ns) / WINDOW
            containers.append({"name": c["name"], "usage": {
                "cpu": f"{int(cpu)}n", "memory": f"{second[k].memory_working_set // 1024}Ki"}})
        if not containers:
            continue
        meta = pod["metadata"]
        items.append({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                      "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                   "labels": meta.get("labels") or {},
                                   "creationTimestamp": rfc3339(now)},
                      "timestamp": rfc3339(now), "window": f"{WINDOW:g}s", "containers": containers})
    if name is not None and not items:
        raise NotFound(f'podmetrics.metrics.k8s.io "{namespace or "default"}/{name}" not found')
    return items
