"""One container's life, run after run (kubelet startContainer + the pod worker's restart loop):

    image present? --no--> ErrImagePull / ImagePullBackOff, retried with back-off
    exited before and in back-off? --> waiting CrashLoopBackOff until the back-off ends
    create + start (runtime/launcher) --fail--> CreateContainerError, retried with back-off
    running --> await the exit, or the pod's stop --> kill_container
    terminated --> restart per restartPolicy (lifecycle/restart.py), else done
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import shutil
import signal
import weakref
from typing import TYPE_CHECKING

from podrun.clock import rfc3339
from podrun.errors import ContainerCreateError, NotFound, PodrunError
from podrun.kernel.procs import ProcessRef, wait_exit
from podrun.lifecycle import hooks, restart
from podrun.lifecycle.termination import kill_container, pod_grace_period, stop_signal
from podrun.lifecycle.termination_message import read_termination_message
from podrun.runtime import exec as rexec
from podrun.runtime import launcher, plan, state
from podrun.runtime.logfile import LogRelay
from podrun.status import generate

if TYPE_CHECKING:
    from podrun.lifecycle.pod_worker import PodWorker
    from podrun.runtime.attach import AttachServer

__all__ = ["ContainerRunner"]

log = logging.getLogger("podrun.lifecycle")


_turns: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _one_per_turn() -> None:
    """Wait for this loop turn's one container start. Its synchronous part (directories,
    cgroup, fork: ~15 ms) is short, but a 100-container pod's starts, all ready at once, held
    the event loop for 1.4 s in one turn; one per turn keeps every other pod's timers on time."""
    loop = asyncio.get_running_loop()
    lock = _turns.setdefault(loop, asyncio.Lock())
    await lock.acquire()
    loop.call_soon(lock.release)


class ContainerRunner:
    def __init__(self, worker: "PodWorker", spec: dict, is_init: bool):
        self.w = worker
        self.ctx = worker.ctx
        self.spec = spec
        self.name: str = spec["name"]
        self.is_init = is_init
        self.is_sidecar = is_init and spec.get("restartPolicy") == "Always"
        self.proc: ProcessRef | None = None
        self.exited: asyncio.Future | None = None
        self.started = asyncio.Event()       # first run reached Running (sidecar ordering)
        self.instance = -1                   # restartCount of the current / last run
        self.last_term: dict | None = None
        self.last_finished: float | None = None
        self.instance_dir: str | None = None
        self.force_restart = False
        self.probes = None                   # ProbeManager of the current run
        self.env: list[str] = []
        self.cwd = "/"
        self.identity = state.Identity()     # user, capabilities, cgroup: what exec runs as
        self.cgroup = None                   # kernel.cgroups.Cgroup of the current run
        self.stop_signal = signal.SIGTERM    # the image's StopSignal, sent first by a kill
        self.attach_path = ""                # the current run's attach socket (stdin/tty only)

    # ---- reporting ------------------------------------------------------------------------

    def report_event(self, type_: str, reason: str, message: str) -> None:
        self.ctx.status.event(self.w.key, type_, reason, message, self.name, self.is_init)

    def _set(self, **fields) -> None:
        self.ctx.status.set_container(self.w.key, self.name, **fields)

    @property
    def _uid(self) -> str:
        return self.w.pod["metadata"]["uid"]

    # ---- the loop -----------------------------------------------------------------------

    def adopt_previous(self, status: dict) -> None:
        """Continue counting from a status read back after a daemon restart."""
        self.instance = status.get("restartCount", 0)
        term = status.get("state", {}).get("terminated")
        if term:
            self.last_term = term
            self.last_finished = self.ctx.clock.now()

    def definition_changed(self) -> None:
        """The image changed: kill the running container; it restarts with the new image."""
        if self.proc is not None and self.exited is not None and not self.exited.done():
            self.force_restart = True
            asyncio.ensure_future(kill_container(
                self, pod_grace_period(self.w.pod), f"Container {self.name} definition changed, will be restarted"))

    async def run(self) -> dict | None:
        """Run until the container is done for good or the pod stops; the last terminated state."""
        while not self.w.stopping:
            image = await self._pull()
            if image is None or not await self._wait_backoff():
                break
            term = await self._run_once(image)
            if term is None:
                if not await self._create_backoff():
                    break
                continue
            if self.w.stopping:
                break
            if self.force_restart:      # kubelet: restart regardless of the policy, the spec changed
                self.force_restart = False
                continue
            if not restart.should_restart(self.w.restart_policy, term["exitCode"], self.is_init,
                                          self.is_sidecar) or (self.is_sidecar and self.w.sidecars_done):
                break
        return self.last_term

    async def _pull(self):
        ref = self.spec["image"]
        key = f"{self._uid}/{self.name}/image"
        while not self.w.stopping:
            try:
                image = self.ctx.images.resolve(ref)
            except NotFound as exc:
                await self._image_missing(ref, key, str(exc))
                continue
            self.report_event("Normal", "Pulled", f'Container image "{ref}" already present on machine')
            return image
        return None

    async def _image_missing(self, ref: str, key: str, why: str) -> None:
        now = self.ctx.clock.now()
        if self.spec.get("imagePullPolicy") == "Never":
            msg = f'Container image "{ref}" is not present with pull policy of Never'
            self._set(state={"waiting": {"reason": "ErrImageNeverPull", "message": msg}})
            self.report_event("Warning", "ErrImageNeverPull", msg)
        else:
            self.report_event("Normal", "Pulling", f'Pulling image "{ref}"')
            self._set(state={"waiting": {"reason": "ErrImagePull", "message": why}})
            self.report_event("Warning", "Failed", f'Failed to pull image "{ref}": {why}')
            self.report_event("Warning", "Failed", "Error: ErrImagePull")
        self.ctx.image_backoff.next(key, now)
        delay = self.ctx.image_backoff.get(key)
        # kubelet: the next sync finds the image in back-off: ImagePullBackOff until it ends.
        if not await self.w.sleep(min(1.0, delay)):
            return
        if self.spec.get("imagePullPolicy") != "Never":
            msg = f'Back-off pulling image "{ref}"'
            self._set(state={"waiting": {"reason": "ImagePullBackOff", "message": msg}})
            self.report_event("Normal", "BackOff", msg)
            self.report_event("Warning", "Failed", "Error: ImagePullBackOff")
        await self.w.sleep_or_wake(max(0.0, delay - 1.0))

    async def _wait_backoff(self) -> bool:
        """kubelet doBackOff: after an exit, wait out the back-off in CrashLoopBackOff."""
        if self.last_finished is None:
            return not self.w.stopping
        key = restart.backoff_key(self._uid, self.spec)
        while not self.w.stopping:
            wait = restart.remaining_backoff(self.ctx.backoff, key, self.last_finished)
            if wait is None:
                return True
            meta = self.w.pod["metadata"]
            delay = self.ctx.backoff.get(key)
            self._set(state={"waiting": {"reason": "CrashLoopBackOff", "message": restart.crashloop_message(
                delay, self.name, meta["name"], meta["namespace"], meta["uid"])}},
                lastState={"terminated": self.last_term} if self.last_term else {})
            self.report_event("Warning", "BackOff", restart.backoff_event_message(
                self.name, meta["name"], meta["namespace"], meta["uid"]))
            if not await self.w.sleep(wait):
                return False
        return False

    async def _create_backoff(self) -> bool:
        key = f"{self._uid}/{self.name}/create"
        self.ctx.image_backoff.next(key, self.ctx.clock.now())
        return await self.w.sleep(self.ctx.image_backoff.get(key))

    # ---- one run --------------------------------------------------------------------------

    async def _run_once(self, image) -> dict | None:
        w, ctx = self.w, self.ctx
        meta = w.pod["metadata"]
        count = self.instance + 1
        inst = ctx.roots.instance_dir(self._uid, self.name, count)
        log_path = ctx.roots.log_file(meta["namespace"], meta["name"], self._uid, self.name, count)
        container_id = secrets.token_hex(32)
        try:
            await _one_per_turn()
            plan.prepare_instance_dir(inst)
            make = functools.partial(plan.container_plan, w.pod, self.spec, w.sandbox, image, inst, w.volumes)
            # a large spec (80,000 env entries: 0.3 s) is planned in a thread, off the event
            # loop; a usual one (0.2 ms) here, without a hop through the thread pool
            launch_plan = await asyncio.to_thread(make) if len(self.spec.get("env") or ()) > 1000 else make()
            self.cgroup = self._create_cgroup(container_id)
            if self.cgroup is not None:
                launch_plan.cgroup_procs = self.cgroup.procs_files()
            launched = await self._launch(launch_plan)
        except (ContainerCreateError, PodrunError, OSError) as exc:
            shutil.rmtree(inst, ignore_errors=True)
            await self._remove_cgroup()
            # kubelet: a spec that cannot become a config (runAsNonRoot, a missing user) is
            # CreateContainerConfigError; a runtime failure is CreateContainerError
            reason = ("CreateContainerConfigError" if isinstance(exc, plan.CreateContainerConfigError)
                      else "CreateContainerError")
            self._set(state={"waiting": {"reason": reason, "message": str(exc)}})
            self.report_event("Warning", "Failed", f"Error: {exc}")
            return None
        self.instance, self.instance_dir = count, inst
        self.env, self.cwd = list(launch_plan.env), launch_plan.cwd
        self.identity = state.Identity.of(launch_plan)
        self.stop_signal = stop_signal(image.config)
        self.proc = ProcessRef(launched.pid, launched.start_time)
        self.exited = asyncio.ensure_future(wait_exit(launched.pid))
        attach = await self._attach_server(container_id, launched)
        relay = LogRelay(log_path, {k: fd for k, fd in (("stdout", launched.stdout_fd),
                                                         ("stderr", launched.stderr_fd)) if fd is not None},
                         on_output=attach.output if attach else None)
        started_at = rfc3339(ctx.clock.now())
        self._record(container_id, launched, log_path, inst, launch_plan)
        self.report_event("Normal", "Created", f"Created container: {self.name}")
        self.report_event("Normal", "Started", f"Started container {self.name}")
        self._set(restartCount=count, containerID=f"podrun://{container_id}", imageID=f"{image.ref}@{image.id}")
        # kubelet startContainer step 4: the container is not Running until postStart returns.
        hook_error = await self._post_start()
        if hook_error is None and not self.exited.done():
            has_startup = bool(self.spec.get("startupProbe"))
            has_readiness = bool(self.spec.get("readinessProbe"))
            self._set(state={"running": {"startedAt": started_at}},
                      lastState={"terminated": self.last_term} if self.last_term else {},
                      started=not has_startup,
                      ready=self._serves() and not has_startup and not has_readiness)
            self.started.set()
            self._start_probes(container_id)
            await self._supervise()
        status = await self.exited
        if self.probes is not None:
            self.probes.stop()
            self.probes = None
        try:
            await asyncio.wait_for(asyncio.shield(relay.done), 2)
        except asyncio.TimeoutError:
            relay.close()
        if attach is not None:
            attach.close()
        oom_killed = self.cgroup is not None and self.cgroup.oom_kills() > 0
        await self._remove_cgroup()   # and anything the container left running in it
        term = self._finish(status, container_id, started_at, inst, log_path, oom_killed)
        if hook_error is not None and restart.should_restart(self.w.restart_policy, term["exitCode"],
                                                             self.is_init, self.is_sidecar):
            self._set(state={"waiting": {"reason": "PostStartHookError", "message": hook_error}},
                      lastState={"terminated": term})
        return term

    async def _supervise(self) -> None:
        """Wait for the exit, or for the pod to stop (then kill the container ourselves)."""
        stop = asyncio.ensure_future(self.w.stop_event.wait())
        await asyncio.wait({self.exited, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not self.exited.done():
            if self.probes is not None:
                self.probes.stop_liveness_and_startup()
            await kill_container(self, pod_grace_period(self.w.pod), f"Stopping container {self.name}",
                                 self.w.force, pre_stop=self._pre_stop())

    # ---- hooks and probes (ProbeHost for lifecycle/probes and lifecycle/hooks) -------------------

    async def _post_start(self) -> str | None:
        if not (self.spec.get("lifecycle") or {}).get("postStart"):
            return None
        run = asyncio.ensure_future(hooks.run_post_start(self))
        stop = asyncio.ensure_future(self.w.stop_event.wait())
        await asyncio.wait({run, self.exited, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not run.done():
            run.cancel()
            if not self.exited.done():       # the pod is being deleted during postStart
                await kill_container(self, pod_grace_period(self.w.pod), f"Stopping container {self.name}",
                                     self.w.force, pre_stop=self._pre_stop())
            return None
        msg = run.result()
        if msg is not None:
            # run_post_start recorded FailedPostStartHook (without the output: secrets); the
            # output goes to the waiting state's message.
            await kill_container(self, pod_grace_period(self.w.pod), "FailedPostStartHook",
                                 pre_stop=self._pre_stop())
        return msg

    def _pre_stop(self):
        if not (self.spec.get("lifecycle") or {}).get("preStop"):
            return None
        return lambda grace: hooks.run_pre_stop(self, grace)

    def _start_probes(self, container_id: str) -> None:
        if not any(self.spec.get(k) for k in ("livenessProbe", "readinessProbe", "startupProbe")):
            return
        from podrun.lifecycle.probes.manager import ProbeManager
        self.probes = ProbeManager(self, on_ready_change=self._on_ready_change, on_started=self._on_started,
                                   on_failure=self._on_probe_failure)
        self.probes.start(container_id, self.ctx.clock.monotonic())

    def _serves(self) -> bool:
        """Main containers and sidecars count for readiness; regular init containers do not."""
        return not self.is_init or self.is_sidecar

    def _on_ready_change(self, ready: bool) -> None:
        if self.proc is not None and self._serves():
            self._set(ready=ready and self.probes is not None and self.probes.started)

    def _on_started(self) -> None:
        if self.proc is not None:
            self._set(started=True, ready=self._serves() and not self.spec.get("readinessProbe"))

    def _on_probe_failure(self, kind: str, probe: dict) -> None:
        """Liveness/startup failure: kill, and restart unless the policy is Never (kubelet
        computePodActions); the kill uses the probe's own grace period when it has one."""
        restarts = self.w.restart_policy != "Never"
        message = f"Container {self.name} failed {kind} probe" + (", will be restarted" if restarts else "")
        self.force_restart = restarts
        grace = pod_grace_period(self.w.pod, probe.get("terminationGracePeriodSeconds"))
        asyncio.ensure_future(kill_container(self, grace, message, pre_stop=self._pre_stop()))

    @property
    def pod(self) -> dict:
        return self.w.pod

    @property
    def clock(self):
        return self.ctx.clock

    def pod_ip(self) -> str | None:
        return getattr(self.w.sandbox, "pod_ip", None) if self.w.sandbox else None

    def is_deleting(self) -> bool:
        return bool(self.w.pod["metadata"].get("deletionTimestamp")) or self.w.stopping

    async def exec_in_container(self, argv: list[str], timeout: float | None) -> tuple[int, bytes]:
        if self.proc is None:
            raise ProcessLookupError(f"container {self.name} is not running")
        exec_plan = rexec.exec_plan(self.proc, argv, self.env, self.cwd, identity=self.identity)
        return await rexec.run_exec(exec_plan, timeout)

    async def _launch(self, launch_plan) -> launcher.Launched:
        """tty: true gives the container a terminal: its fds 0-2 are the slave, we keep the
        master, which stands in for stdout (the kubelet logs a tty as stdout)."""
        if not self.spec.get("tty"):
            return await launcher.launch(launch_plan)
        master, slave = os.openpty()
        launch_plan.stdio, launch_plan.tty = plan.Stdio("fd", "fd", "fd"), True
        try:
            launched = await launcher.launch(launch_plan, launcher.StdioFds(slave, slave, slave))
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        launched.stdout_fd, launched.stdin_fd = master, os.dup(master)
        return launched

    async def _attach_server(self, container_id: str, launched) -> "AttachServer | None":
        """`kubectl attach`'s end: only for containers that asked for stdin or a tty."""
        self.attach_path = ""
        if not (self.spec.get("stdin") or self.spec.get("tty")):
            return None
        from podrun.runtime.attach import AttachServer
        server = AttachServer(self.ctx.roots.attach_socket(container_id), launched.stdin_fd,
                              bool(self.spec.get("stdinOnce")), tty=bool(self.spec.get("tty")))
        try:
            await server.start()
        except OSError as exc:   # the container runs on; it cannot be attached to
            self.report_event("Warning", "Failed", f"cannot serve attach for container {self.name}: {exc}")
            server.close()
            return None
        self.attach_path = server.path
        return server

    def _create_cgroup(self, container_id: str):
        pod_path = (getattr(self.w.sandbox, "extra", None) or {}).get("cgroup")
        if self.ctx.cgroups is None or not pod_path:
            return None
        return self.ctx.cgroups.container(pod_path, container_id, self.spec)

    async def _remove_cgroup(self) -> None:
        cg, self.cgroup = self.cgroup, None
        if cg is not None:
            try:
                await cg.destroy()
            except PodrunError as exc:
                log.warning("container %s: %s", self.name, exc)

    def _finish(self, status, container_id: str, started_at: str, inst: str, log_path: str,
                oom_killed: bool = False) -> dict:
        now = self.ctx.clock.now()
        term = {"exitCode": status.exit_code,
                "reason": generate.terminated_reason(status.exit_code, status.signal, oom_killed),
                "startedAt": started_at, "finishedAt": rfc3339(now),
                "containerID": f"podrun://{container_id}"}
        if status.signal:
            term["signal"] = status.signal
        try:
            msg = read_termination_message(os.path.join(inst, "termination-log"),
                                           self.spec.get("terminationMessagePolicy", "File"),
                                           status.exit_code, log_path)
        except OSError:
            msg = ""
        if msg:
            term["message"] = msg[:self.w.message_limit]
        self.proc, self.last_term, self.last_finished = None, term, now
        # kubelet: a regular init container that completed is ready (prober_manager UpdatePodStatus)
        done_init = self.is_init and not self.is_sidecar and status.exit_code == 0
        self._set(state={"terminated": term}, ready=done_init, started=False)
        shutil.rmtree(inst, ignore_errors=True)
        return term

    def _record(self, container_id: str, launched, log_path: str, inst: str, launch_plan) -> None:
        """containers/<name>.json: what `exec` and a restarted daemon need (runc state.json)."""
        state.save_container(self.ctx.roots.container_file(self.w.pod, self.name), state.ContainerRecord(
            name=self.name, container_id=container_id, pid=launched.pid, start_time=launched.start_time,
            restart_count=self.instance, instance_dir=inst, log_path=log_path, env=list(launch_plan.env),
            cwd=launch_plan.cwd, shares_pid=bool(self.w.pod["spec"].get("shareProcessNamespace")),
            identity=state.Identity.of(launch_plan), cgroup=self.cgroup.path if self.cgroup else "",
            attach=self.attach_path))
