"""Container state transitions, checked at the single status writer.

States are the v1 ContainerState shapes: {"waiting": {...}}, {"running": {...}},
{"terminated": {...}}. The edges allowed (kubelet status_manager.go
checkContainerStateTransition, supervisor states.py):
    waiting    -> waiting | running | terminated     # reason changes; start; failure before start
    running    -> terminated | running               # exit; (re-reported start)
    terminated -> waiting | running                  # only when the restart policy allows it
    terminated -> terminated                         # same instance re-reported
Under restartPolicy Never a terminated container stays terminated.
"""
from __future__ import annotations

from podrun.errors import IllegalTransition

__all__ = ["state_name", "check_transition"]


def state_name(state: dict) -> str:
    for k in ("waiting", "running", "terminated"):
        if k in state:
            return k
    return "none"


def check_transition(old: dict, new: dict, restart_policy: str) -> None:
    a, b = state_name(old), state_name(new)
    if a == "terminated" and b in ("waiting", "running") and restart_policy == "Never":
        # Terminated -> Waiting/Running is a restart; Never forbids it
        raise IllegalTransition(a, b)
    if a == "running" and b == "waiting":
        # Running -> Waiting skips the exit: a bug in the caller
        raise IllegalTransition(a, b)
