"""Durations as kubectl prints them (AGE, RESTARTS "(Xs ago)", event ages).

A line-for-line port of apimachinery `pkg/util/duration/duration.go` (`HumanDuration`,
`ShortHumanDuration`) plus kubectl's `translateTimestampSince`. Go truncates toward zero
when it turns a Duration into whole seconds/minutes/hours; so do we. `podrun images` speaks
Docker's words instead: docker_human_duration is go-units `HumanDuration` ("2 minutes").
"""
from __future__ import annotations

import math

from podrun.clock import parse_rfc3339

__all__ = ["human_duration", "short_human_duration", "docker_human_duration", "age", "timestamp"]

_MINUTE = 60
_HOUR = 60 * _MINUTE


def human_duration(seconds: float) -> str:
    """apimachinery duration.HumanDuration: ~2-3 significant figures."""
    # Allow deviation no more than 2 seconds (excluded) to tolerate clock skew.
    secs = math.trunc(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 2 * _MINUTE:
        return f"{secs}s"
    minutes = secs // _MINUTE
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = secs // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(seconds: float) -> str:
    """apimachinery duration.ShortHumanDuration: one unit only."""
    secs = math.trunc(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60:
        return f"{secs}s"
    minutes = secs // _MINUTE
    if minutes < 60:
        return f"{minutes}m"
    hours = secs // _HOUR
    if hours < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def timestamp(value: str | None) -> float | None:
    """An RFC 3339 metav1.Time as epoch seconds; None for a missing or zero time."""
    if not value or value.startswith("0001-01-01"):
        return None
    return parse_rfc3339(value)


def age(value: str | None, now: float) -> str:
    """kubectl translateTimestampSince: '<unknown>' for a zero time, else HumanDuration."""
    ts = timestamp(value)
    if ts is None:
        return "<unknown>"
    return human_duration(now - ts)


def docker_human_duration(seconds: float) -> str:
    """Docker's go-units HumanDuration ("About a minute", "2 minutes", "3 weeks")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
