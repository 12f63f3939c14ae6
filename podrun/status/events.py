"""Events as Kubernetes v1 Event objects, with the kubelet recorder's folding.

A repeat of the same (object, type, reason, message) bumps `count` and `lastTimestamp` of the
existing event instead of adding one (client-go record `EventCorrelator` aggregation); `describe`
then shows `(xN over M)`. The StatusManager is the only caller and the only writer of the file.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from podrun.clock import rfc3339

__all__ = ["EventLog"]

MAX_EVENTS_PER_POD = 200


@dataclass
class EventLog:
    pod_meta: dict
    node: str
    events: list[dict] = field(default_factory=list)

    def record(self, now: float, type_: str, reason: str, message: str, field_path: str = "") -> dict:
        ts = rfc3339(now)
        for ev in reversed(self.events[-20:]):
            io = ev["involvedObject"]
            if (ev["reason"], ev["message"], ev["type"], io.get("fieldPath", "")) == (reason, message, type_, field_path):
                ev["count"] += 1
                ev["lastTimestamp"] = ts
                return ev
        meta = self.pod_meta
        involved = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                    "uid": meta.get("uid", ""), "apiVersion": "v1"}
        if field_path:
            involved["fieldPath"] = field_path
        ev = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"],
                         "creationTimestamp": ts},
            "involvedObject": involved,
            "reason": reason, "message": message, "type": type_, "count": 1,
            "firstTimestamp": ts, "lastTimestamp": ts,
            "source": {"component": "default-scheduler" if reason == "Scheduled" else "kubelet",
                       "host": "" if reason == "Scheduled" else self.node},
            "reportingComponent": "default-scheduler" if reason == "Scheduled" else "kubelet",
            "reportingInstance": "" if reason == "Scheduled" else self.node,
        }
        self.events.append(ev)
        del self.events[:-MAX_EVENTS_PER_POD]
        return ev
