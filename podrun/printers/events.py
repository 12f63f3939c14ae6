"""`kubectl get events`: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.

Cells as printers.go printEvent builds them (non-wide form); rows ordered oldest first by
last timestamp, as kubectl's event sorter (kubectl/pkg/util/event SortableEvents) does.
"""
from __future__ import annotations

from typing import Any

from podrun.printers.duration import age, timestamp
from podrun.printers.table import format_table

__all__ = ["EVENT_COLUMNS", "event_sort_key", "event_row", "events_table"]

EVENT_COLUMNS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def event_sort_key(event: dict[str, Any]) -> float:
    """SortableEvents.Less compares lastTimestamp; a missing one sorts first like Go's zero time."""
    ts = timestamp(event.get("lastTimestamp"))
    return ts if ts is not None else float("-inf")


def event_row(event: dict[str, Any], now: float) -> list[str]:
    """printers.go printEvent, non-wide cells."""
    first = event.get("firstTimestamp") or event.get("eventTime")
    first_seen = age(first, now)
    last_seen = age(event.get("lastTimestamp"), now) if event.get("lastTimestamp") else first_seen
    series = event.get("series")
    if series:
        last_seen = age(series.get("lastObservedTime"), now)
    obj = event.get("involvedObject") or {}
    kind = (obj.get("kind") or "").lower()
    target = f"{kind}/{obj['name']}" if obj.get("name") else kind
    return [last_seen, event.get("type") or "", event.get("reason") or "", target,
            (event.get("message") or "").strip()]


def events_table(events: list[dict[str, Any]], now: float, all_namespaces: bool = False) -> str:
    """The whole `kubectl get events` output (`-A` prepends NAMESPACE)."""
    rows = []
    for ev in sorted(events, key=event_sort_key):
        row = event_row(ev, now)
        if all_namespaces:
            ns = (ev.get("metadata") or {}).get("namespace") or (ev.get("involvedObject") or {}).get("namespace") or ""
            row = [ns] + row
        rows.append(row)
    headers = (["NAMESPACE"] if all_namespaces else []) + EVENT_COLUMNS
    return format_table(rows, headers)
