"""PodView: what a container's runner may see and do of its pod, and no more.

The PodWorker owns one and fills it in (sandbox, volumes, stopping); runners read it, report
status and events through it, sleep on it, and `notify()` the worker when something it
decides on changed (a run ended, a container started). Runners never see the worker itself.
"""
from __future__ import annotations

import asyncio

from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.probes.results import ProbeUpdate
from podrun.status.manager import PodKey, pod_key

__all__ = ["PodView"]


class PodView:
    def __init__(self, ctx: NodeContext, pod: dict, message_limit: int):
        self.ctx = ctx
        self.pod = pod
        self.key: PodKey = pod_key(pod)
        self.message_limit = message_limit
        self.sandbox = None                   # runtime.state.SandboxInfo once created
        self.volumes: dict[str, str] = {}
        self.stopping = False
        self.force = False                    # delete --force --grace-period=0: SIGKILL at once
        self.stop_event = asyncio.Event()
        self.changed = asyncio.Event()        # the worker looks again (observe → compute → act)
        self.probe_updates: "asyncio.Queue[ProbeUpdate]" = asyncio.Queue()
        self._wake = asyncio.Event()

    @property
    def uid(self) -> str:
        return self.pod["metadata"]["uid"]

    @property
    def restart_policy(self) -> str:
        return self.pod["spec"].get("restartPolicy", "Always")

    @property
    def clock(self):
        return self.ctx.clock

    def pod_ip(self) -> str | None:
        return getattr(self.sandbox, "pod_ip", None) if self.sandbox else None

    def is_deleting(self) -> bool:
        return bool(self.pod["metadata"].get("deletionTimestamp")) or self.stopping

    def notify(self) -> None:
        self.changed.set()

    # ---- reporting --------------------------------------------------------------------------

    def event(self, container: str, is_init: bool, type_: str, reason: str, message: str) -> None:
        self.ctx.status.event(self.key, type_, reason, message, container, is_init)

    def set_container(self, name: str, **fields) -> None:
        self.ctx.status.set_container(self.key, name, **fields)

    # ---- waiting ----------------------------------------------------------------------------

    async def sleep(self, seconds: float, *until: asyncio.Event) -> bool:
        """Sleep on the node clock, ending early when the pod stops or an `until` event is set;
        False when the pod is stopping."""
        waits = {asyncio.ensure_future(self.stop_event.wait()),
                 asyncio.ensure_future(self.ctx.clock.sleep(seconds))}
        waits |= {asyncio.ensure_future(e.wait()) for e in until}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for f in waits:
            f.cancel()
        return not self.stopping

    def wake_event(self) -> asyncio.Event:
        """An event set when an image is added to the store (ends an image back-off early)."""
        self._wake.clear()
        return self._wake

    def wake(self) -> None:
        self._wake.set()
