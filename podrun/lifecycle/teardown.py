"""The one teardown of a pod's node-side state, used by the PodWorker when a pod ends and by the
daemon's restore (daemon/reconcile.py) for pods a dead daemon left behind.

    kill_recorded_processes   SIGKILL the pause and every recorded container, only if its
                              (pid, start time) still match (runc Load + refreshState)
    teardown_pod              emptyDirs unmounted and removed, anything still mounted below the
                              pod's lib dir detached (crun libcrun_container_delete_status),
                              sandbox.json dropped; then either the container layers only
                              (keep_state: the pod comes back) or the lib and log dirs as well

Network (veth, lease) and cgroups are released from sandbox.json by runtime/sandbox.stop_sandbox
while the daemon runs, and by PodNetwork.reconcile / PodCgroups.remove_all at its start.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal

from podrun.kernel import mounts
from podrun.kernel.procs import send_signal
from podrun.paths import Roots
from podrun.runtime import state
from podrun.runtime import volumes as volumes_mod

__all__ = ["kill_recorded_processes", "teardown_pod"]

log = logging.getLogger("podrun.lifecycle")


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


def teardown_pod(roots: Roots, pod: dict, keep_state: bool, keep_volumes: bool = False) -> None:
    """`keep_state`: the pod comes back (daemon restart); `keep_volumes`: so do its emptyDirs'
    contents (a restore after a crash keeps them, as the kubelet does across its restarts)."""
    meta = pod["metadata"]
    uid, key = meta["uid"], (meta["namespace"], meta["name"])
    if not keep_volumes:
        dirs = {v["name"]: roots.volume_dir(uid, v["name"]) for v in pod["spec"].get("volumes") or []
                if "emptyDir" in v}
        try:
            volumes_mod.teardown_volumes(pod, dirs)
        except Exception:
            log.exception("volumes of %s/%s", *key)
    lib = roots.pod_lib_dir(uid)
    for mp in sorted(mounts.mountpoints_under(lib), key=len, reverse=True):
        mounts.unmount(mp, detach=True)
    try:
        os.unlink(roots.sandbox_file(pod))
    except FileNotFoundError:
        pass
    if keep_state:
        shutil.rmtree(os.path.join(lib, "containers"), ignore_errors=True)
        return
    shutil.rmtree(lib, ignore_errors=True)
    shutil.rmtree(roots.pod_log_dir(*key, uid), ignore_errors=True)
