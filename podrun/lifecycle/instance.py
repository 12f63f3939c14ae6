"""One run of a container (kubelet kuberuntime_container.go startContainer steps 1-3, and what
follows its exit):

    create   instance dir, LaunchPlan (runtime/plan), cgroup, launch (tty: a pty pair),
             attach socket (stdin/tty only), log relay, containers/<c>.json   → a ContainerHandle
    finish   after the exit: drain the log relay, close attach, OOM check, remove the cgroup,
             read the termination message → the `terminated` state

A failure to create raises StartError with the kubelet's waiting reason
(CreateContainerConfigError or CreateContainerError).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import shutil
import weakref
from dataclasses import dataclass

from podrun.clock import rfc3339
from podrun.errors import ContainerCreateError, PodrunError
from podrun.kernel.procs import ProcessRef, wait_exit
from podrun.lifecycle.handle import ContainerHandle, EventSink
from podrun.lifecycle.podview import PodView
from podrun.lifecycle.termination import stop_signal
from podrun.lifecycle.termination_message import read_termination_message
from podrun.runtime import launcher, plan, state, volumes
from podrun.runtime.logfile import LogRelay
from podrun.status import generate

__all__ = ["Instance", "StartError", "create_instance", "finish_instance"]

log = logging.getLogger("podrun.lifecycle")


class StartError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Instance:
    handle: ContainerHandle
    count: int                      # restartCount of this run
    inst_dir: str
    log_path: str
    started_at: str
    relay: LogRelay
    attach: object | None           # runtime.attach.AttachServer
    attach_path: str = ""


_turns: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


async def _one_per_turn() -> None:
    """Wait for this loop turn's one container start. Its synchronous part (directories,
    cgroup, fork: ~15 ms) is short, but a 100-container pod's starts, all ready at once, held
    the event loop for 1.4 s in one turn; one per turn keeps every other pod's timers on time."""
    loop = asyncio.get_running_loop()
    lock = _turns.setdefault(loop, asyncio.Lock())
    await lock.acquire()
    loop.call_soon(lock.release)


async def create_instance(view: PodView, spec: dict, image, count: int, events: EventSink) -> Instance:
    ctx, meta, name = view.ctx, view.pod["metadata"], spec["name"]
    inst = ctx.roots.instance_dir(view.uid, name, count)
    log_path = ctx.roots.log_file(meta["namespace"], meta["name"], view.uid, name, count)
    container_id = secrets.token_hex(32)
    cgroup = None
    try:
        await _one_per_turn()
        plan.prepare_instance_dir(inst)
        make = functools.partial(plan.container_plan, view.pod, spec, view.sandbox, image, inst, view.volumes,
                                 seccomp_dir=ctx.roots.seccomp_dir)
        # a large spec (80,000 env entries: 0.3 s) is planned in a thread, off the event loop;
        # a usual one (0.2 ms) here, without a hop through the thread pool
        launch_plan = await asyncio.to_thread(make) if len(spec.get("env") or ()) > 1000 else make()
        volumes.prepare_subpaths(launch_plan, name)   # kubelet makeMounts: before the container
        cgroup = _create_cgroup(view, spec, container_id)
        if cgroup is not None:
            plan.join_cgroup(launch_plan, cgroup)
        launched = await _launch(spec, launch_plan)
    except (ContainerCreateError, PodrunError, OSError) as exc:
        shutil.rmtree(inst, ignore_errors=True)
        await _remove_cgroup(name, cgroup)
        # kubelet: a spec that cannot become a config (runAsNonRoot, a missing user) is
        # CreateContainerConfigError; a runtime failure is CreateContainerError
        reason = ("CreateContainerConfigError" if isinstance(exc, plan.CreateContainerConfigError)
                  else "CreateContainerError")
        raise StartError(reason, str(exc)) from exc
    handle = ContainerHandle(
        name, spec, view.pod, ctx.clock, ProcessRef(launched.pid, launched.start_time),
        asyncio.ensure_future(wait_exit(launched.pid)), container_id=container_id,
        stop_signal=stop_signal(image.config), cgroup=cgroup, env=list(launch_plan.env),
        cwd=launch_plan.cwd, identity=state.Identity.of(launch_plan), events=events,
        pod_ip=view.pod_ip, deleting=view.is_deleting)
    attach = await _attach_server(view, spec, container_id, launched, events)
    relay = LogRelay(log_path, {k: fd for k, fd in (("stdout", launched.stdout_fd),
                                                     ("stderr", launched.stderr_fd)) if fd is not None},
                     on_output=attach.output if attach else None)
    run = Instance(handle, count, inst, log_path, rfc3339(ctx.clock.now()), relay, attach,
                   attach.path if attach else "")
    _record(view, spec, run, launch_plan)
    return run


async def finish_instance(view: PodView, spec: dict, run: Instance) -> dict:
    """The terminated state of an exited run; everything it held is released."""
    status = await run.handle.wait()
    try:
        await asyncio.wait_for(asyncio.shield(run.relay.done), 2)
    except asyncio.TimeoutError:
        run.relay.close()
    if run.attach is not None:
        run.attach.close()
    cgroup = run.handle.cgroup
    oom_killed = cgroup is not None and cgroup.oom_kills() > 0
    await _remove_cgroup(spec["name"], cgroup)   # and anything the container left running in it
    run.handle.cgroup = None
    term = {"exitCode": status.exit_code,
            "reason": generate.terminated_reason(status.exit_code, status.signal, oom_killed),
            "startedAt": run.started_at, "finishedAt": rfc3339(view.clock.now()),
            "containerID": f"podrun://{run.handle.container_id}"}
    if status.signal:
        term["signal"] = status.signal
    try:
        msg = read_termination_message(os.path.join(run.inst_dir, "termination-log"),
                                       spec.get("terminationMessagePolicy", "File"),
                                       status.exit_code, run.log_path)
    except OSError:
        msg = ""
    if msg:
        term["message"] = msg[:view.message_limit]
    shutil.rmtree(run.inst_dir, ignore_errors=True)
    return term


async def _launch(spec: dict, launch_plan) -> launcher.Launched:
    """tty: true gives the container a terminal: its fds 0-2 are the slave, we keep the
    master, which stands in for stdout (the kubelet logs a tty as stdout)."""
    if not spec.get("tty"):
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


async def _attach_server(view: PodView, spec: dict, container_id: str, launched, events: EventSink):
    """`kubectl attach`'s end: only for containers that asked for stdin or a tty."""
    if not (spec.get("stdin") or spec.get("tty")):
        return None
    from podrun.runtime.attach import AttachServer
    server = AttachServer(view.ctx.roots.attach_socket(container_id), launched.stdin_fd,
                          bool(spec.get("stdinOnce")), tty=bool(spec.get("tty")))
    try:
        await server.start()
    except OSError as exc:   # the container runs on; it cannot be attached to
        events("Warning", "Failed", f"cannot serve attach for container {spec['name']}: {exc}")
        server.close()
        return None
    return server


def _create_cgroup(view: PodView, spec: dict, container_id: str):
    pod_path = (getattr(view.sandbox, "extra", None) or {}).get("cgroup")
    if view.ctx.cgroups is None or not pod_path:
        return None
    return view.ctx.cgroups.container(pod_path, container_id, spec)


async def _remove_cgroup(name: str, cgroup) -> None:
    if cgroup is not None:
        try:
            await cgroup.destroy()
        except PodrunError as exc:
            log.warning("container %s: %s", name, exc)


def _record(view: PodView, spec: dict, run: Instance, launch_plan) -> None:
    """containers/<name>.json: what `exec` and a restarted daemon need (runc state.json)."""
    h = run.handle
    state.save_container(view.ctx.roots.container_file(view.pod, spec["name"]), state.ContainerRecord(
        name=spec["name"], container_id=h.container_id, pid=h.proc.pid, start_time=h.proc.start_time,
        restart_count=run.count, instance_dir=run.inst_dir, log_path=run.log_path, env=list(launch_plan.env),
        cwd=launch_plan.cwd, shares_pid=bool(view.pod["spec"].get("shareProcessNamespace")),
        identity=h.identity, cgroup=h.cgroup.path if h.cgroup else "", attach=run.attach_path))
