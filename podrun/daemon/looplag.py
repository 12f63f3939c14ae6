"""How late the daemon's event loop runs: a 10 ms tick measures how much later than asked it
wakes. Anything that holds the loop (a large pod's work done inline) shows as lag; the
worst since the last reset is served at GET /podrun/v1/looplag (scripts/bench reads it), and
a lag over 50 ms is logged."""
from __future__ import annotations

import asyncio
import logging

__all__ = ["LoopLag"]

log = logging.getLogger("podrun.daemon")
TICK = 0.01
WARN = 0.05


class LoopLag:
    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            lag = loop.time() - before - TICK
            self.ticks += 1
            if lag > self.worst:
                self.worst = lag
            if lag > WARN:
                log.warning("event loop held for %.0f ms", lag * 1000)

    def snapshot(self, reset: bool = False) -> dict:
        out = {"worstLagMs": round(self.worst * 1000, 1), "ticks": self.ticks}
        if reset:
            self.worst, self.ticks = 0.0, 0
        return out
