"""ContainerHandle: one running container instance, as the rest of lifecycle/ sees it.

What the kill sequence, the hooks, the probes and exec need of a container, and nothing else:

    identity     the process (pid + start time): signals go only to that exact process
    exited       a future that resolves to its ExitStatus
    stop_signal  the image's StopSignal, sent first by a kill
    cgroup       this run's cgroup (or None)
    events       where its events go (Normal/Warning, reason, message)
    exec         run a command inside it (exec probes, exec hooks)

The handle does not know who started the process: `ContainerRunner` forks it today, but a
handle is built from a ProcessRef and an exit future only, so a process recorded on disk
(containers/<c>.json) can be adopted into one just the same. It never calls back into its
runner; whoever needs to react to something (a probe failure) is told through a results
queue (lifecycle/probes/results.py).
"""
from __future__ import annotations

import asyncio
import signal
from typing import Callable

from podrun.clock import Clock
from podrun.kernel.procs import ExitStatus, ProcessRef, send_signal
from podrun.runtime import exec as rexec
from podrun.runtime.state import Identity

__all__ = ["ContainerHandle", "EventSink"]

EventSink = Callable[[str, str, str], None]      # (type, reason, message)


class ContainerHandle:
    def __init__(self, name: str, spec: dict, pod: dict, clock: Clock, proc: ProcessRef,
                 exited: "asyncio.Future[ExitStatus]", *, container_id: str = "",
                 stop_signal: int = signal.SIGTERM, cgroup=None, env: list[str] | None = None,
                 cwd: str = "/", identity: Identity | None = None, events: EventSink | None = None,
                 pod_ip: Callable[[], str | None] = lambda: None,
                 deleting: Callable[[], bool] = lambda: False):
        self.name = name
        self.spec = spec
        self.pod = pod
        self.clock = clock
        self.proc = proc
        self.exited = exited
        self.container_id = container_id
        self.stop_signal = stop_signal
        self.cgroup = cgroup
        self.env = list(env or [])
        self.cwd = cwd
        self.identity = identity or Identity()
        self._events = events or (lambda *_: None)
        self._pod_ip = pod_ip
        self._deleting = deleting

    # ---- state ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.exited.done()

    async def wait(self) -> ExitStatus:
        return await asyncio.shield(self.exited)

    # ---- acting on the process --------------------------------------------------------------

    def signal(self, sig: int) -> bool:
        """Signal the process if it is still the one started; False when it is gone."""
        return send_signal(self.proc, sig)

    async def exec_in_container(self, argv: list[str], timeout: float | None) -> tuple[int, bytes]:
        if self.done:
            raise ProcessLookupError(f"container {self.name} is not running")
        plan = rexec.exec_plan(self.proc, argv, self.env, self.cwd, identity=self.identity)
        return await rexec.run_exec(plan, timeout)

    # ---- what probes and hooks ask (the ProbeHost seam) --------------------------------------

    def report_event(self, type_: str, reason: str, message: str) -> None:
        self._events(type_, reason, message)

    def pod_ip(self) -> str | None:
        return self._pod_ip()

    def is_deleting(self) -> bool:
        return self._deleting()
