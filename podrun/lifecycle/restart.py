"""Which exits restart, and how long CrashLoopBackOff waits before the next start.

Pure rules, no I/O; the Backoff reads time only from the Clock it is given.

- `should_restart`: kubecontainer.ShouldContainerBeRestarted for an exited container
  (pkg/kubelet/container/helpers.go), plus the init-container and sidecar rules of
  computePodActions.
- `Backoff`: client-go util/flowcontrol/backoff.go without jitter, as the kubelet builds it:
  `flowcontrol.NewBackOff(backOffPeriod, MaxContainerBackOff)`.
- `remaining_backoff`: kuberuntime_manager.go doBackOff, counted from the last exit's finishedAt.

Resulting waits after successive exits: 0 (first exit restarts at once), 10 s, 20 s, 40 s,
80 s, 160 s, 300 s, 300 s …; an exit more than 600 s after the last restart starts over at 0.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from podrun.clock import Clock

__all__ = [
    "BACKOFF_PERIOD", "MAX_CONTAINER_BACKOFF", "should_restart", "backoff_key", "Backoff",
    "remaining_backoff", "go_duration", "crashloop_message", "backoff_event_message", "format_pod",
]

# kubelet.go: backOffPeriod — the base period of the exponential container restart backoff.
BACKOFF_PERIOD = 10.0
# kubelet.go: MaxContainerBackOff — the cap.
MAX_CONTAINER_BACKOFF = 300.0


def should_restart(restart_policy: str, exit_code: int, is_init: bool, is_sidecar: bool) -> bool:
    """Whether an exited container is started again.

    Sidecars (init containers with restartPolicy Always) restart on any exit. A regular init
    container under pod restartPolicy Always behaves as OnFailure: one that exited 0 never
    re-runs (computePodActions). Never restarts nothing; OnFailure restarts non-zero exits.
    """
    if is_sidecar:
        return True
    if restart_policy == "Never":
        return False
    if restart_policy == "Always" and not is_init:
        return True
    return exit_code != 0                       # OnFailure, or Always for an init container


def backoff_key(pod_uid: str, container: dict) -> str:
    """kuberuntime getStableKey: pod, container name and a hash of the container spec.

    The spec hash makes a changed container (e.g. a new image) start with a fresh backoff
    (e2e "should have their auto-restart back-off timer reset on image update").
    """
    canonical = json.dumps(container, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return f"{pod_uid}_{container.get('name', '')}_{digest}"


@dataclass
class _Entry:
    backoff: float          # seconds
    last_update: float      # clock.now() when next() last ran


class Backoff:
    """client-go flowcontrol.Backoff (no jitter): per-key exponential delay on a Clock."""

    def __init__(self, clock: Clock, initial: float = BACKOFF_PERIOD,
                 max_duration: float = MAX_CONTAINER_BACKOFF):
        self.clock = clock
        self.default_duration = initial
        self.max_duration = max_duration
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        """The current backoff of `key` in seconds; 0 when there is none."""
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def next(self, key: str, event_time: float) -> None:
        """Move `key` to its next delay: a new or expired entry starts at `initial`, else doubles."""
        entry = self._entries.get(key)
        if entry is None or self._has_expired(event_time, entry.last_update):
            entry = self._entries[key] = _Entry(self.default_duration, 0.0)
        else:
            entry.backoff = min(entry.backoff * 2, self.max_duration)
        entry.last_update = self.clock.now()

    def is_in_backoff_since(self, key: str, event_time: float) -> bool:
        """True while less than the current delay has passed since `event_time`."""
        entry = self._entries.get(key)
        if entry is None or self._has_expired(event_time, entry.last_update):
            return False
        return self.clock.now() - event_time < entry.backoff

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self) -> None:
        """Drop entries not updated for 2 × max (the kubelet calls this in HandlePodCleanups)."""
        now = self.clock.now()
        for key in [k for k, e in self._entries.items() if self._has_expired(now, e.last_update)]:
            del self._entries[key]

    def _has_expired(self, event_time: float, last_update: float) -> bool:
        # backoff.go hasExpired: an event more than 2 × max after the last update starts over.
        return event_time - last_update > 2 * self.max_duration


def remaining_backoff(backoff: Backoff, key: str, finished_at: float | None) -> float | None:
    """kuberuntime_manager.go doBackOff for a container whose last run ended at `finished_at`.

    None: start it now (and `backoff.next()` has been called, as upstream does). Otherwise the
    seconds still to wait; the caller shows waiting{CrashLoopBackOff} meanwhile. A container
    that never exited (`finished_at` None) is not in backoff and does not advance it.
    """
    if finished_at is None:
        return None
    if backoff.is_in_backoff_since(key, finished_at):
        return finished_at + backoff.get(key) - backoff.clock.now()
    backoff.next(key, finished_at)
    return None


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(): 10s, 1m20s, 5m0s, 1h0m0s, 1.5s, 500ms, 0s."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    text = _frac(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _frac(value: int, unit: int) -> str:
    whole, part = divmod(value, unit)
    if not part:
        return str(whole)
    digits = str(part).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def format_pod(pod_name: str, namespace: str, uid: str) -> str:
    """pkg/kubelet/util/format PodDesc: `name_namespace(uid)`."""
    return f"{pod_name}_{namespace}({uid})"


def crashloop_message(delay: float, container: str, pod_name: str, namespace: str, uid: str) -> str:
    """The waiting.message of CrashLoopBackOff (doBackOff's error text)."""
    return (f"back-off {go_duration(delay)} restarting failed container={container} "
            f"pod={format_pod(pod_name, namespace, uid)}")


def backoff_event_message(container: str, pod_name: str, namespace: str, uid: str) -> str:
    """The message of the Warning BackOff event doBackOff records."""
    return f"Back-off restarting failed container {container} in pod {format_pod(pod_name, namespace, uid)}"
