"""Pods' resourceVersions and watch events, until the object store (a later piece) owns both.

PodWatchHub diffs the registry's pods against what it saw last — at every read (list, get) and
at every StatusManager change — and turns each difference into an ADDED / MODIFIED / DELETED
event with a new resourceVersion from one daemon-wide counter. The counter starts at the
daemon's start time in milliseconds, so versions keep growing across daemon restarts. A short
history lets a watch resume from a list's resourceVersion (kubectl `get -w`, the wait of
`delete`); a version older than the history gets the API server's 410 Expired.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["PodWatchHub", "WatchEvent", "Expired"]

HISTORY = 2000


class Expired(Exception):
    """A watch from a resourceVersion the history no longer holds (410 Gone / Expired)."""


@dataclass(frozen=True)
class WatchEvent:
    rv: int
    type: str          # ADDED | MODIFIED | DELETED
    object: dict


class PodWatchHub:
    def __init__(self, list_pods: Callable[[], list[dict]], changed: Callable[[], asyncio.Event]):
        self._list = list_pods
        self._changed_source = changed
        self.rv = int(time.time() * 1000)
        self._seen: dict[tuple[str, str], tuple[dict, int]] = {}   # key -> (raw pod, its rv)
        self._history: collections.deque[WatchEvent] = collections.deque(maxlen=HISTORY)
        self._oldest = self.rv           # events after this rv are all in the history
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None

    # ---- the diff ----------------------------------------------------------------------

    @staticmethod
    def _stamped(pod: dict, rv: int) -> dict:
        pod = copy.deepcopy(pod)
        pod.setdefault("metadata", {})["resourceVersion"] = str(rv)
        return pod

    def sync(self) -> list[dict]:
        """Bring the versions up to date; the current pods, each with its resourceVersion."""
        current = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in self._list()}
        new: list[WatchEvent] = []
        for key, pod in current.items():
            seen = self._seen.get(key)
            if seen is not None and seen[0] == pod:
                continue
            if seen is not None and seen[0]["metadata"].get("uid") != pod["metadata"].get("uid"):
                self.rv += 1                    # same name, new pod: the old one went first
                new.append(WatchEvent(self.rv, "DELETED", self._stamped(seen[0], self.rv)))
                seen = None
            self.rv += 1
            self._seen[key] = (pod, self.rv)
            new.append(WatchEvent(self.rv, "MODIFIED" if seen else "ADDED", self._stamped(pod, self.rv)))
        for key in [k for k in self._seen if k not in current]:
            old, _ = self._seen.pop(key)
            self.rv += 1
            new.append(WatchEvent(self.rv, "DELETED", self._stamped(old, self.rv)))
        if new:
            if len(self._history) + len(new) > HISTORY:
                dropped = len(self._history) + len(new) - HISTORY
                self._oldest = (list(self._history) + new)[dropped - 1].rv
            self._history.extend(new)
            self._wakeup.set()
            self._wakeup = asyncio.Event()
        return [self._stamped(pod, rv) for key, (pod, rv) in sorted(self._seen.items())]

    # ---- watching ----------------------------------------------------------------------

    def start(self) -> None:
        """Follow the StatusManager's changes (once, on the first watch)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        while True:
            changed = self._changed_source()
            self.sync()
            await changed.wait()

    def since(self, rv: int) -> list[WatchEvent]:
        """The events after `rv`; Expired when the history no longer reaches back that far."""
        if rv < self._oldest:
            raise Expired(f"too old resource version: {rv} ({self._oldest + 1})")
        return [e for e in self._history if e.rv > rv]

    def wakeup(self) -> asyncio.Event:
        """Set when new events are in the history (take it before reading, then await it)."""
        return self._wakeup

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
