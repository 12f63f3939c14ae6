"""Bring back every pod on disk after the daemon restarts (runc Load + refreshState; kubelet
restart). Nothing is trusted that was not checked: a recorded process is signalled only if its
(pid, start time) still match; mounts below the pod's directories are detached.

Containers cannot be adopted (their exit codes and log pipes belonged to the old daemon), so a
container that was running is recorded as the kubelet records a container it cannot find —
terminated, reason ContainerStatusUnknown, exit code 137 — and the restart policy decides.
Pods that were being deleted finish their deletion; finished pods keep their final status.
"""
from __future__ import annotations

import logging
import os
import shutil
from typing import Callable

from podrun.clock import rfc3339
from podrun.fsutil import read_json
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.teardown import kill_recorded_processes, teardown_pod

__all__ = ["restore_pods", "kill_recorded_processes"]

log = logging.getLogger("podrun.daemon")
UNKNOWN = {"exitCode": 137, "reason": "ContainerStatusUnknown",
           "message": "The container could not be located when the pod was terminated"}

BringBack = Callable[[dict, "dict | None"], None]     # PodRegistry.bring_back(pod, previous status)


def restore_pods(ctx: NodeContext, bring_back: BringBack) -> None:
    """Every pod directory under the run root: torn down (the one teardown), then either removed
    (being deleted, or unreadable) or handed back to the registry with its last status."""
    roots = ctx.roots
    if not os.path.isdir(roots.pods_dir):
        return
    for entry in sorted(os.listdir(roots.pods_dir)):
        pod_dir = os.path.join(roots.pods_dir, entry)
        pod = read_json(os.path.join(pod_dir, "pod.json"))
        kill_recorded_processes(pod_dir)
        if not pod or not pod.get("metadata", {}).get("uid"):
            shutil.rmtree(pod_dir, ignore_errors=True)
            continue
        if pod_dir != roots.pod_dir(pod):   # an older podrun's pods/NS_NAME
            os.rename(pod_dir, roots.pod_dir(pod))
            pod_dir = roots.pod_dir(pod)
        deleting = bool(pod["metadata"].get("deletionTimestamp"))
        teardown_pod(roots, pod, keep_state=not deleting, keep_volumes=not deleting)
        if deleting:
            shutil.rmtree(pod_dir, ignore_errors=True)
            continue
        status = (read_json(os.path.join(pod_dir, "status.json")) or {}).get("status")
        if status:
            _mark_lost(status, ctx.clock.now())
        bring_back(pod, status)
        if status:
            ctx.status.event((pod["metadata"]["namespace"], pod["metadata"]["name"]),
                             "Warning", "DaemonRestarted",
                             "podrun restarted: running containers could not be adopted")


def _mark_lost(status: dict, now: float) -> None:
    if status.get("phase") in ("Succeeded", "Failed"):
        return
    for cs in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
        running = cs.get("state", {}).get("running")
        if running:
            cs["state"] = {"terminated": dict(UNKNOWN, startedAt=running.get("startedAt"),
                                              finishedAt=rfc3339(now))}
            cs["ready"] = cs["started"] = False
