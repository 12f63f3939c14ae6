"""One container's start loop (kubelet startContainer + doBackOff + the image puller's back-off):

    image present? --no--> ErrImagePull / ImagePullBackOff, retried with back-off
    exited before and in back-off? --> waiting CrashLoopBackOff until the back-off ends
    create + start (lifecycle/instance) --fail--> CreateContainerError, retried with back-off
    Created, Started -> postStart (lifecycle/hooks) --fail--> killed, PostStartHookError
    Running -> probes (lifecycle/probes) -> await the exit -> terminated

One call of `start()` is one such run. Whether a container runs again, and when it is killed,
is not the runner's to say: the PodWorker decides that with lifecycle/actions.py. The runner
sees its pod only through a PodView and exposes what the worker observes (active, started,
the last exit, the pending kill request) plus the current run's ContainerHandle.
"""
from __future__ import annotations

import asyncio
import logging

from podrun.errors import NotFound
from podrun.lifecycle import hooks, restart
from podrun.lifecycle.actions import ContainerObs
from podrun.lifecycle.handle import ContainerHandle
from podrun.lifecycle.instance import Instance, StartError, create_instance, finish_instance
from podrun.lifecycle.podview import PodView
from podrun.lifecycle.probes.manager import ProbeManager
from podrun.lifecycle.termination import kill_container, pod_grace_period

__all__ = ["ContainerRunner"]

log = logging.getLogger("podrun.lifecycle")


class ContainerRunner:
    def __init__(self, view: PodView, spec: dict, is_init: bool):
        self.view = view
        self.spec = spec
        self.name: str = spec["name"]
        self.is_init = is_init
        self.is_sidecar = is_init and spec.get("restartPolicy") == "Always"
        self.task: asyncio.Task | None = None
        self.handle: ContainerHandle | None = None     # the current run, while its process lives
        self.probes: ProbeManager | None = None
        self.started = False                 # the current run counts as started
        self.started_once = False
        self.instance = -1                   # restartCount of the current / last run
        self.last_term: dict | None = None
        self.last_finished: float | None = None
        self.restart_next = False            # the next exit restarts whatever the policy says
        self.kill_request: tuple[str, dict | None] | None = None   # (why, probe): for the worker
        self._halt = asyncio.Event()

    # ---- what the worker observes ------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.task is not None and not self.task.done()

    def observe(self) -> ContainerObs:
        return ContainerObs(active=self.active, started=self.started, started_once=self.started_once,
                            exit_code=None if self.last_term is None else self.last_term.get("exitCode"),
                            restart=self.restart_next, kill_request=self.kill_request and self.kill_request[0],
                            probe=self.kill_request and self.kill_request[1])

    @property
    def proc(self):
        return self.handle.proc if self.handle is not None and not self.handle.done else None

    @property
    def cgroup(self):
        return self.handle.cgroup if self.handle is not None else None

    # ---- reporting ---------------------------------------------------------------------------

    def report_event(self, type_: str, reason: str, message: str) -> None:
        self.view.event(self.name, self.is_init, type_, reason, message)

    def _set(self, **fields) -> None:
        self.view.set_container(self.name, **fields)

    def _serves(self) -> bool:
        """Main containers and sidecars count for readiness; regular init containers do not."""
        return not self.is_init or self.is_sidecar

    # ---- control (the worker's) --------------------------------------------------------------

    def adopt_previous(self, status: dict) -> None:
        """Continue counting from a status read back after a daemon restart."""
        self.instance = status.get("restartCount", 0)
        term = status.get("state", {}).get("terminated")
        if term:
            self.last_term = term
            self.last_finished = self.view.clock.now()

    def start(self) -> None:
        """Begin one run (pull, back-off, start, await the exit); the worker is notified at its end."""
        self.restart_next, self.kill_request = False, None
        self.task = asyncio.ensure_future(self._run())
        self.task.add_done_callback(lambda _t: self.view.notify())

    def halt(self) -> None:
        """No more starting: a run still pulling or backing off ends (the pod is finishing)."""
        self._halt.set()

    def probe_update(self, started: bool, ready: bool) -> None:
        if self.handle is None or self.handle.done:
            return
        if started and not self.started:
            self.started = self.started_once = True
            self.view.notify()
        self._set(started=started, ready=self._serves() and ready)

    async def kill(self, grace: float, message: str, restart_after: bool) -> None:
        """kill_container on the current run; with `restart_after` the exit restarts it regardless of policy."""
        self.restart_next = self.restart_next or restart_after
        if self.handle is not None:
            await kill_container(self.handle, grace, message)

    # ---- one run -----------------------------------------------------------------------------

    def _stopped(self) -> bool:
        return self.view.stopping or self._halt.is_set()

    async def _sleep(self, seconds: float, *until: asyncio.Event) -> bool:
        await self.view.sleep(seconds, self._halt, *until)
        return not self._stopped()

    async def _run(self) -> None:
        image = await self._pull()
        if image is None or not await self._wait_backoff():
            return
        while not self._stopped():
            try:
                run = await create_instance(self.view, self.spec, image, self.instance + 1, self.report_event)
            except StartError as exc:
                self._set(state={"waiting": {"reason": exc.reason, "message": str(exc)}})
                self.report_event("Warning", "Failed", f"Error: {exc}")
                if not await self._create_backoff():
                    return
                continue
            try:
                await self._supervise(run, image)
            except Exception:
                # a bug must not leave a process nobody awaits: end this run before giving up
                log.exception("container %s of %s/%s", self.name, *self.view.key)
                await kill_container(run.handle, 0, f"Stopping container {self.name}", force=True)
                await finish_instance(self.view, self.spec, run)
                raise
            return

    async def _pull(self):
        ref = self.spec["image"]
        key = f"{self.view.uid}/{self.name}/image"
        while not self._stopped():
            try:
                image = self.view.ctx.images.resolve(ref)
            except NotFound as exc:
                await self._image_missing(ref, key, str(exc))
                continue
            self.report_event("Normal", "Pulled", f'Container image "{ref}" already present on machine')
            return image
        return None

    async def _image_missing(self, ref: str, key: str, why: str) -> None:
        ctx = self.view.ctx
        if self.spec.get("imagePullPolicy") == "Never":
            msg = f'Container image "{ref}" is not present with pull policy of Never'
            self._set(state={"waiting": {"reason": "ErrImageNeverPull", "message": msg}})
            self.report_event("Warning", "ErrImageNeverPull", msg)
        else:
            self.report_event("Normal", "Pulling", f'Pulling image "{ref}"')
            self._set(state={"waiting": {"reason": "ErrImagePull", "message": why}})
            self.report_event("Warning", "Failed", f'Failed to pull image "{ref}": {why}')
            self.report_event("Warning", "Failed", "Error: ErrImagePull")
        ctx.image_backoff.next(key, ctx.clock.now())
        delay = ctx.image_backoff.get(key)
        # kubelet: the next sync finds the image in back-off: ImagePullBackOff until it ends.
        if not await self._sleep(min(1.0, delay)):
            return
        if self.spec.get("imagePullPolicy") != "Never":
            msg = f'Back-off pulling image "{ref}"'
            self._set(state={"waiting": {"reason": "ImagePullBackOff", "message": msg}})
            self.report_event("Normal", "BackOff", msg)
            self.report_event("Warning", "Failed", "Error: ImagePullBackOff")
        await self._sleep(max(0.0, delay - 1.0), self.view.wake_event())

    async def _wait_backoff(self) -> bool:
        """kubelet doBackOff: after an exit, wait out the back-off in CrashLoopBackOff."""
        if self.last_finished is None:
            return not self._stopped()
        backoff, meta = self.view.ctx.backoff, self.view.pod["metadata"]
        key = restart.backoff_key(self.view.uid, self.spec)
        while not self._stopped():
            wait = restart.remaining_backoff(backoff, key, self.last_finished)
            if wait is None:
                return True
            self._set(state={"waiting": {"reason": "CrashLoopBackOff", "message": restart.crashloop_message(
                backoff.get(key), self.name, meta["name"], meta["namespace"], meta["uid"])}},
                lastState={"terminated": self.last_term} if self.last_term else {})
            self.report_event("Warning", "BackOff", restart.backoff_event_message(
                self.name, meta["name"], meta["namespace"], meta["uid"]))
            if not await self._sleep(wait):
                return False
        return False

    async def _create_backoff(self) -> bool:
        ctx = self.view.ctx
        key = f"{self.view.uid}/{self.name}/create"
        ctx.image_backoff.next(key, ctx.clock.now())
        return await self._sleep(ctx.image_backoff.get(key))

    async def _supervise(self, run: Instance, image) -> None:
        self.instance, self.handle = run.count, run.handle
        handle = run.handle
        self.report_event("Normal", "Created", f"Created container: {self.name}")
        self.report_event("Normal", "Started", f"Started container {self.name}")
        self._set(restartCount=run.count, containerID=f"podrun://{handle.container_id}",
                  imageID=f"{image.ref}@{image.id}")
        if self._stopped():          # the pod began stopping while this run was being created
            asyncio.ensure_future(kill_container(handle, pod_grace_period(self.view.pod),
                                                 f"Stopping container {self.name}", self.view.force))
        # kubelet startContainer step 4: the container is not Running until postStart returns.
        hook_error = await self._post_start(handle)
        if hook_error is None and not handle.done:
            has_startup = bool(self.spec.get("startupProbe"))
            has_readiness = bool(self.spec.get("readinessProbe"))
            self._set(state={"running": {"startedAt": run.started_at}},
                      lastState={"terminated": self.last_term} if self.last_term else {},
                      started=not has_startup,
                      ready=self._serves() and not has_startup and not has_readiness)
            if not has_startup:
                self.started = self.started_once = True
                self.view.notify()
            self._start_probes(handle)
        term = await finish_instance(self.view, self.spec, run)
        if self.probes is not None:
            self.probes.stop()
            self.probes = None
        self.started = False
        self.last_term, self.last_finished = term, self.view.clock.now()
        # kubelet: a regular init container that completed is ready (prober_manager UpdatePodStatus)
        done_init = self.is_init and not self.is_sidecar and term["exitCode"] == 0
        self._set(state={"terminated": term}, ready=done_init, started=False)
        if hook_error is not None and restart.should_restart(self.view.restart_policy, term["exitCode"],
                                                             self.is_init, self.is_sidecar):
            self._set(state={"waiting": {"reason": "PostStartHookError", "message": hook_error}},
                      lastState={"terminated": term})

    async def _post_start(self, handle: ContainerHandle) -> str | None:
        if not (self.spec.get("lifecycle") or {}).get("postStart"):
            return None
        run = asyncio.ensure_future(hooks.run_post_start(handle))
        await asyncio.wait({run, handle.exited}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():               # the container ended (or was killed) during postStart
            run.cancel()
            return None
        msg = run.result()
        if msg is not None:
            # run_post_start recorded FailedPostStartHook (without the output: secrets); the
            # output goes to the waiting state's message.
            await kill_container(handle, pod_grace_period(self.view.pod), "FailedPostStartHook")
        return msg

    def _start_probes(self, handle: ContainerHandle) -> None:
        if not any(self.spec.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")):
            return
        self.probes = ProbeManager(handle, self.view.probe_updates)
        self.probes.start(handle.container_id, self.view.clock.monotonic())
