"""PodWorker: one asyncio task per pod (kubelet pod_workers.go: syncing -> terminating ->
terminated -> cleaned up).

    sync:      volumes -> sandbox (pause: net/ipc/uts) -> init containers one by one, each to
               success (sidecars: to started) -> main containers in parallel -> when none will
               run again, the pod is terminal and its sandbox is released
    terminate: (on delete) every container killed concurrently within its grace period
    clean up:  sandbox, volumes, writable layers, logs; the status forgotten
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil

from podrun.lifecycle.container_runner import ContainerRunner
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.termination import kill_container, pod_grace_period
from podrun.lifecycle.termination_message import normalize_message_limit
from podrun.runtime import sandbox as sandbox_mod
from podrun.runtime import volumes as volumes_mod
from podrun.status.manager import pod_key

__all__ = ["PodWorker"]

log = logging.getLogger("podrun.lifecycle")


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: dict, previous: dict | None = None):
        self.ctx, self.pod = ctx, pod
        self.key = pod_key(pod)
        self.stopping = False
        self.force = False
        self.keep_state = False          # daemon shutdown: leave the pod on disk to be recreated
        self.sidecars_done = False       # mains finished: sidecars are not restarted any more
        self.stop_event = asyncio.Event()
        self._wake = asyncio.Event()
        self.sandbox = None
        self.volumes: dict[str, str] = {}
        self.runners: dict[str, ContainerRunner] = {}
        spec = pod["spec"]
        n = len(spec.get("containers", [])) + len(spec.get("initContainers", []))
        self.message_limit = normalize_message_limit(n)
        for c in spec.get("initContainers", []):
            self.runners[c["name"]] = ContainerRunner(self, c, True)
        for c in spec["containers"]:
            self.runners[c["name"]] = ContainerRunner(self, c, False)
        if previous:
            for cs in previous.get("initContainerStatuses", []) + previous.get("containerStatuses", []):
                if cs["name"] in self.runners:
                    self.runners[cs["name"]].adopt_previous(cs)
        self.task: asyncio.Task | None = None

    @property
    def restart_policy(self) -> str:
        return self.pod["spec"].get("restartPolicy", "Always")

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod:{self.key[0]}/{self.key[1]}")

    # ---- waiting helpers used by the runners ------------------------------------------------

    async def sleep(self, seconds: float, until: asyncio.Event | None = None) -> bool:
        """Sleep on the node clock, ending early when the pod stops or `until` is set;
        False when the pod is stopping."""
        waits = {asyncio.ensure_future(self.stop_event.wait()),
                 asyncio.ensure_future(self.ctx.clock.sleep(seconds))}
        if until is not None:
            waits.add(asyncio.ensure_future(until.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for f in waits:
            f.cancel()
        return not self.stopping

    async def sleep_or_wake(self, seconds: float) -> bool:
        """Like sleep, but an image added to the store ends it early (`wake`)."""
        self._wake.clear()
        return await self.sleep(seconds, until=self._wake)

    def wake(self) -> None:
        self._wake.set()

    def images_changed(self, names: list[str]) -> None:
        """`apply` changed these containers' images (the runners share the spec dicts)."""
        for name in names:
            self.runners[name].definition_changed()
        self.wake()

    # ---- the pod's life ---------------------------------------------------------------------

    async def _run(self) -> None:
        sync = asyncio.create_task(self._sync())
        stop = asyncio.ensure_future(self.stop_event.wait())
        await asyncio.wait({sync, stop}, return_when=asyncio.FIRST_COMPLETED)
        await self.stop_event.wait()     # a pod that finished stays until it is deleted
        try:
            await sync
        except Exception:
            log.exception("pod %s/%s", *self.key)
        await self._cleanup()

    async def _sync(self) -> None:
        ctx, st, key, spec = self.ctx, self.ctx.status, self.key, self.pod["spec"]
        if self._already_terminal():
            return
        try:
            self.volumes = volumes_mod.prepare_volumes(
                self.pod, lambda v: ctx.roots.volume_dir(self.pod["metadata"]["uid"], v))
        except Exception as exc:  # kubelet: FailedMount, the pod stays ContainerCreating
            st.event(key, "Warning", "FailedMount", f"MountVolume.SetUp failed: {exc}")
            return
        try:
            self.sandbox = await sandbox_mod.start_sandbox(
                self.pod, ctx.roots.pod_dir(self.pod), ctx.pause_binary, network=ctx.network, cgroups=ctx.cgroups)
        except Exception as exc:
            st.event(key, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
            log.exception("sandbox of %s/%s", *key)
            return
        st.set_sandbox(key, True, pod_ip=getattr(self.sandbox, "pod_ip", None))
        sidecars = []
        for c in spec.get("initContainers", []):
            r = self.runners[c["name"]]
            if r.is_sidecar:
                sidecars.append(asyncio.create_task(r.run()))
                await self._until_started(r)
                continue
            if r.last_term and r.last_term.get("exitCode") == 0:
                continue  # done before a daemon restart: an init container never runs twice
            term = await r.run()
            if self.stopping:
                break
            if term is None or term["exitCode"] != 0:
                break     # restartPolicy Never: the pod has failed
        else:
            await asyncio.gather(*(self.runners[c["name"]].run() for c in spec["containers"]))
        if not self.stopping:
            await self._stop_sidecars()
            await asyncio.gather(*sidecars, return_exceptions=True)
            st.set_terminal(key)
            await self._release_sandbox()

    async def _stop_sidecars(self) -> None:
        """The main containers are done for good: sidecars are killed (grace period, then
        SIGKILL) in reverse order and not restarted (kubelet: the phase comes from the mains)."""
        self.sidecars_done = True
        for r in reversed([r for r in self.runners.values() if r.is_sidecar]):
            await kill_container(r, pod_grace_period(self.pod), f"Stopping container {r.name}")

    async def _until_started(self, r: ContainerRunner) -> None:
        await self.sleep(10**9, until=r.started)

    def _already_terminal(self) -> bool:
        return self.ctx.status.status(self.key).get("phase") in ("Succeeded", "Failed")

    # ---- stopping ------------------------------------------------------------------------------

    def stop(self, force: bool = False, keep_state: bool = False) -> None:
        """Begin termination: every runner sees stop_event and kills its container."""
        self.stopping = True
        self.force = self.force or force
        self.keep_state = keep_state
        self.stop_event.set()

    async def wait(self) -> None:
        if self.task:
            await asyncio.shield(self.task)

    async def _release_sandbox(self) -> None:
        if self.sandbox is not None:
            try:
                await sandbox_mod.stop_sandbox(self.sandbox, network=self.ctx.network,
                                               cgroups=self.ctx.cgroups)
            except Exception:
                log.exception("stopping the sandbox of %s/%s", *self.key)
            self.sandbox = None
            self.ctx.status.set_sandbox(self.key, False)

    async def _cleanup(self) -> None:
        """Release everything the pod had: sandbox, volumes, layers, and (on delete) its logs."""
        await self._release_sandbox()
        uid = self.pod["metadata"]["uid"]
        try:
            volumes_mod.teardown_volumes(self.pod, self.volumes)
        except Exception:
            log.exception("volumes of %s/%s", *self.key)
        # in a thread: a 100-container pod's layers take the event loop a second to remove
        if self.keep_state:
            await asyncio.to_thread(shutil.rmtree, os.path.join(self.ctx.roots.pod_lib_dir(uid), "containers"), True)
            return
        await asyncio.to_thread(shutil.rmtree, self.ctx.roots.pod_lib_dir(uid), True)
        await asyncio.to_thread(shutil.rmtree, self.ctx.roots.pod_log_dir(*self.key, uid), True)
