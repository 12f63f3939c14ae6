"""Probe results and the ResultsManager that publishes them (kubelet `prober/results/results_manager.go`).

Two vocabularies, as upstream keeps them apart:
  * a runner's outcome (`pkg/probe` Result): SUCCESS, WARNING (success with a ProbeWarning event,
    e.g. a redirect not followed), FAILURE, UNKNOWN;
  * a published result (`results.Result`): UNKNOWN, SUCCESS, FAILURE, one per probe kind.
Both use the one `Result` enum; the prober maps WARNING to SUCCESS before anything is published.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Protocol

__all__ = ["Result", "ResultsManager", "ProbeUpdate", "UpdateQueue", "LIVENESS", "READINESS", "STARTUP",
           "KINDS"]

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
KINDS = (LIVENESS, READINESS, STARTUP)


class Result(enum.Enum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    UNKNOWN = "unknown"

    def __str__(self) -> str:      # Go prints probe.Result as its string value
        return self.value


class ResultsManager:
    """The cache of the published result per probe kind; `on_update(kind, result)` only on change.

    kubelet `results_manager.go` setInternal: an update is sent only when the value changed.
    """

    def __init__(self, on_update: Callable[[str, Result], None]):
        self._cache: dict[str, Result] = {}
        self._on_update = on_update

    def get(self, kind: str) -> Result | None:
        return self._cache.get(kind)

    def set(self, kind: str, result: Result) -> bool:
        """Publish `result`; True (and one on_update call) when it differs from the cached one."""
        if self._cache.get(kind) is result:
            return False
        self._cache[kind] = result
        self._on_update(kind, result)
        return True

    def remove(self, kind: str) -> None:
        self._cache.pop(kind, None)


@dataclass(frozen=True)
class ProbeUpdate:
    """What one container run's probes concluded (kubelet: liveness/readiness/startup managers'
    Updates() channels, folded into one queue per pod).

    `started`/`ready` are the container's current values (prober_manager.go UpdatePodStatus);
    `failed` names the probe kind (liveness or startup) that just reached its failure threshold,
    with that `probe`, so the pod worker can kill the container with the probe's grace period.
    """
    container: str
    container_id: str
    started: bool
    ready: bool
    failed: str | None = None
    probe: dict | None = None


class UpdateQueue(Protocol):
    """Where ProbeManagers publish: an asyncio.Queue the pod worker drains."""

    def put_nowait(self, item: ProbeUpdate) -> None: ...
