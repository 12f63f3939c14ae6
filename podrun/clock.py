"""One clock for every timer in podrun (probe periods, backoff, grace periods, delays).

RealClock reads the system; FakeClock is advanced by tests so lifecycle rules run in
milliseconds. Wall time (`now`) stamps status and events; `monotonic` measures intervals.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Protocol

__all__ = ["Clock", "RealClock", "FakeClock", "rfc3339", "parse_rfc3339"]


def rfc3339(ts: float) -> str:
    """Kubernetes' metav1.Time form: second precision, UTC, 'Z'."""
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class Clock(Protocol):
    def now(self) -> float: ...            # seconds since the epoch
    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told: `advance(s)` wakes every sleeper whose time came."""

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = start
        self._mono = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future]] = []

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + seconds, fut))
        await fut

    async def advance(self, seconds: float, step: float = 0.1) -> None:
        """Move time forward in small steps, letting woken tasks run between steps."""
        end = self._mono + seconds
        while self._mono < end - 1e-9:
            delta = min(step, end - self._mono)
            self._mono += delta
            self._now += delta
            due = [s for s in self._sleepers if s[0] <= self._mono + 1e-9]
            self._sleepers = [s for s in self._sleepers if s not in due]
            for _, fut in due:
                if not fut.done():
                    fut.set_result(None)
            for _ in range(5):
                await asyncio.sleep(0)
