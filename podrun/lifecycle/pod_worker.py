"""PodWorker: one asyncio task per pod (kubelet pod_workers.go: syncing -> terminating ->
terminated -> cleaned up).

    sync:      volumes -> sandbox (pause: net/ipc/uts) -> then a loop: observe every container,
               compute_pod_actions (lifecycle/actions.py), act (start runs, kill, stop the pod);
               when nothing will run again the pod is terminal and its sandbox is released
    terminate: (on delete) every container killed at once within its grace period, main
               containers first, sidecars after them in reverse order (termination.kill_pod)
    clean up:  one teardown (lifecycle/teardown.py), shared with the daemon's restore
"""
from __future__ import annotations

import asyncio
import logging

from podrun.lifecycle import teardown, termination
from podrun.lifecycle.actions import PodActions, compute_pod_actions
from podrun.lifecycle.container_runner import ContainerRunner
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.podview import PodView
from podrun.lifecycle.probes.results import ProbeUpdate
from podrun.lifecycle.termination_message import normalize_message_limit
from podrun.runtime import sandbox as sandbox_mod
from podrun.runtime import volumes as volumes_mod

__all__ = ["PodWorker"]

log = logging.getLogger("podrun.lifecycle")


class PodWorker:
    def __init__(self, ctx: NodeContext, pod: dict, previous: dict | None = None):
        self.ctx, self.pod = ctx, pod
        spec = pod["spec"]
        n = len(spec.get("containers", [])) + len(spec.get("initContainers", []))
        self.view = PodView(ctx, pod, normalize_message_limit(n))
        self.key = self.view.key
        self.keep_state = False          # daemon shutdown: leave the pod on disk to be recreated
        self.runners: dict[str, ContainerRunner] = {}
        for c in spec.get("initContainers", []):
            self.runners[c["name"]] = ContainerRunner(self.view, c, True)
        for c in spec["containers"]:
            self.runners[c["name"]] = ContainerRunner(self.view, c, False)
        if previous:
            for cs in previous.get("initContainerStatuses", []) + previous.get("containerStatuses", []):
                if cs["name"] in self.runners:
                    self.runners[cs["name"]].adopt_previous(cs)
        self.task: asyncio.Task | None = None
        self._killing: asyncio.Task | None = None
        self._killing_forced = False

    @property
    def stopping(self) -> bool:
        return self.view.stopping

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"pod:{self.key[0]}/{self.key[1]}")

    def wake(self) -> None:
        self.view.wake()

    def images_changed(self, names: list[str]) -> None:
        """`apply` changed these containers' images (the runners share the spec dicts): a
        running one is killed and restarted with the new image (computePodActions)."""
        for name in names:
            r = self.runners[name]
            if r.active and r.handle is not None and not r.handle.done:
                r.kill_request = ("definition", None)
        self.view.notify()
        self.wake()

    # ---- the pod's life ---------------------------------------------------------------------

    async def _run(self) -> None:
        sync = asyncio.create_task(self._sync())
        probes = asyncio.create_task(self._probe_results())
        await self.view.stop_event.wait()     # a pod that finished stays until it is deleted
        try:
            await sync
        except Exception:
            log.exception("pod %s/%s", *self.key)
        probes.cancel()
        await self._cleanup()

    async def _sync(self) -> None:
        ctx, st, key = self.ctx, self.ctx.status, self.key
        if self._already_terminal():
            return
        try:
            self.view.volumes = volumes_mod.prepare_volumes(
                self.pod, lambda v: ctx.roots.volume_dir(self.view.uid, v))
        except Exception as exc:  # kubelet: FailedMount, the pod stays ContainerCreating
            st.event(key, "Warning", "FailedMount", f"MountVolume.SetUp failed: {exc}")
            return
        try:
            self.view.sandbox = await sandbox_mod.start_sandbox(
                self.pod, ctx.roots.pod_dir(self.pod), ctx.pause_binary, network=ctx.network, cgroups=ctx.cgroups)
        except Exception as exc:
            st.event(key, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}")
            log.exception("sandbox of %s/%s", *key)
            return
        st.set_sandbox(key, True, pod_ip=getattr(self.view.sandbox, "pod_ip", None))
        while True:
            self.view.changed.clear()
            actions = compute_pod_actions(self.pod["spec"], {n: r.observe() for n, r in self.runners.items()},
                                          terminating=self.view.stopping)
            if actions.done:
                break
            self._act(actions)
            await self.view.changed.wait()
        if self._killing is not None:
            await asyncio.gather(self._killing, return_exceptions=True)   # its preStop hooks end too
        if not self.view.stopping:
            st.set_terminal(key)
            await self._release_sandbox()

    def _act(self, actions: PodActions) -> None:
        for kill in actions.kill:
            r = self.runners[kill.name]
            r.kill_request = None
            grace = termination.pod_grace_period(self.pod, kill.probe_grace)
            asyncio.ensure_future(r.kill(grace, kill.message, kill.restart))
        if actions.kill_pod:
            # once, or again when a forced delete comes while the pod is being stopped gently
            if self._killing is None or (self.view.force and not self._killing_forced):
                self._killing_forced = self.view.force
                self._killing = asyncio.ensure_future(self._kill_pod())
            return
        for name in actions.start:
            self.runners[name].start()

    async def _kill_pod(self) -> None:
        """killPodWithSyncResult: nothing starts any more; what runs stops in termination order."""
        for r in self.runners.values():
            r.halt()
            if r.probes is not None:
                r.probes.stop_liveness_and_startup()
        running = {n: r.handle for n, r in self.runners.items() if r.handle is not None and not r.handle.done}
        await termination.kill_pod(self.pod["spec"], running, termination.pod_grace_period(self.pod),
                                   lambda name: f"Stopping container {name}", self.view.force)

    async def _probe_results(self) -> None:
        """Drain the pod's probe results (kubelet: the liveness/readiness/startup managers' updates)."""
        while True:
            update: ProbeUpdate = await self.view.probe_updates.get()
            r = self.runners.get(update.container)
            if r is None or r.handle is None or r.handle.container_id != update.container_id:
                continue          # a result of a run that is over
            if update.failed:
                if not self.view.stopping:
                    r.kill_request = (update.failed, update.probe)
                    self.view.notify()
            else:
                r.probe_update(update.started, update.ready)

    def _already_terminal(self) -> bool:
        return self.ctx.status.status(self.key).get("phase") in ("Succeeded", "Failed")

    # ---- stopping ------------------------------------------------------------------------------

    def stop(self, force: bool = False, keep_state: bool = False) -> None:
        """Begin termination: the sync loop sees it and stops every container."""
        self.view.stopping = True
        self.view.force = self.view.force or force
        self.keep_state = keep_state
        self.view.stop_event.set()
        self.view.notify()

    async def wait(self) -> None:
        if self.task:
            await asyncio.shield(self.task)

    async def _release_sandbox(self) -> None:
        if self.view.sandbox is not None:
            try:
                await sandbox_mod.stop_sandbox(self.view.sandbox, network=self.ctx.network,
                                               cgroups=self.ctx.cgroups)
            except Exception:
                log.exception("stopping the sandbox of %s/%s", *self.key)
            self.view.sandbox = None
            self.ctx.status.set_sandbox(self.key, False)

    async def _cleanup(self) -> None:
        """Release everything the pod had: sandbox, then the one teardown (volumes, layers, logs)."""
        await self._release_sandbox()
        # in a thread: a 100-container pod's layers take the event loop a second to remove
        await asyncio.to_thread(teardown.teardown_pod, self.ctx.roots, self.pod, keep_state=self.keep_state)
