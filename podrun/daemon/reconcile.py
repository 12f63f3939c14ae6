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
import signal
from typing import TYPE_CHECKING

from podrun.clock import rfc3339
from podrun.fsutil import read_json
from podrun.kernel import mounts
from podrun.kernel.procs import send_signal
from podrun.runtime import state

if TYPE_CHECKING:
    from podrun.daemon.registry import PodRegistry

__all__ = ["restore_pods", "kill_recorded_processes"]

log = logging.getLogger("podrun.daemon")
UNKNOWN = {"exitCode": 137, "reason": "ContainerStatusUnknown",
           "message": "The container could not be located when the pod was terminated"}


def kill_recorded_processes(pod_dir: str) -> None:
    """SIGKILL the pause and every container recorded, if (pid, start time) still match."""
    refs = []
    sb = state.load_sandbox(os.path.join(pod_dir, "sandbox.json"))
    if sb:
        refs.append(sb.pause)
    cdir = os.path.join(pod_dir, "containers")
    for f in os.listdir(cdir) if os.path.isdir(cdir) else []:
        rec = state.load_container(os.path.join(cdir, f))
        if rec:
            refs.append(rec.process)
    for ref in refs:
        send_signal(ref, signal.SIGKILL)


def restore_pods(registry: "PodRegistry") -> None:
    roots = registry.ctx.roots
    if not os.path.isdir(roots.pods_dir):
        return
    for entry in sorted(os.listdir(roots.pods_dir)):
        pod_dir = os.path.join(roots.pods_dir, entry)
        pod = read_json(os.path.join(pod_dir, "pod.json"))
        kill_recorded_processes(pod_dir)
        if pod and pod_dir != roots.pod_dir(pod):   # an older podrun's pods/NS_NAME
            os.rename(pod_dir, roots.pod_dir(pod))
            pod_dir = roots.pod_dir(pod)
        uid = (pod or {}).get("metadata", {}).get("uid")
        if uid:
            for mp in sorted(mounts.mountpoints_under(roots.pod_lib_dir(uid)), key=len, reverse=True):
                mounts.unmount(mp, detach=True)
        for name in ("sandbox.json",):
            try:
                os.unlink(os.path.join(pod_dir, name))
            except FileNotFoundError:
                pass
        if not pod or pod["metadata"].get("deletionTimestamp"):
            if uid:
                shutil.rmtree(roots.pod_lib_dir(uid), ignore_errors=True)
                shutil.rmtree(roots.pod_log_dir(pod["metadata"]["namespace"], pod["metadata"]["name"], uid),
                              ignore_errors=True)
            shutil.rmtree(pod_dir, ignore_errors=True)
            continue
        shutil.rmtree(os.path.join(roots.pod_lib_dir(uid), "containers"), ignore_errors=True)
        status = (read_json(os.path.join(pod_dir, "status.json")) or {}).get("status")
        if status:
            _mark_lost(status, registry.ctx.clock.now())
        registry._start(pod, status)
        if status:
            registry.ctx.status.event((pod["metadata"]["namespace"], pod["metadata"]["name"]),
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
