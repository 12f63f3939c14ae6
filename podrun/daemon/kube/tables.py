"""Server-side Tables (meta.k8s.io/v1 Table): what `kubectl get` prints, cell for cell.

kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the cells as they
come; priority-1 columns are `-o wide`'s; each row's object (PartialObjectMetadata by default,
`includeObject=Object|None`) gives `-A` its NAMESPACE and `--show-labels` its LABELS. The
columns are kube's printers (pkg/printers/internalversion/printers.go: printPod, printEvent);
a Pod's cells come from api/podcolumns.py, the rules podrun's own CLI prints with.
"""
from __future__ import annotations

import time
from typing import Any

from podrun.api.duration import human_duration, timestamp
from podrun.api.podcolumns import pod_row

__all__ = ["wants_table", "pod_table", "event_table"]

_NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although "
             "some resources may allow a client to request the generation of an appropriate name "
             "automatically. Name is primarily intended for creation idempotence and configuration "
             "definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
_AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was "
            "created. It is not guaranteed to be set in happens-before order across separate "
            "operations. Clients may not set this value. It is represented in RFC3339 form and is "
            "in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
            "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")


def _col(name: str, description: str = "", priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": "string", "format": fmt, "description": description,
            "priority": priority}


POD_COLUMNS = [
    _col("Name", _NAME_DOC, fmt="name"),
    _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", "The aggregate status of the containers in this pod."),
    _col("Restarts", "The number of times the containers in this pod have been restarted and when "
                     "the last container in this pod has restarted."),
    _col("Age", _AGE_DOC),
    _col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if "
               "not yet allocated.", 1),
    _col("Node", "NodeName indicates in which node this pod is scheduled.", 1),
    _col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the "
                           "node, but it cannot be scheduled right away as preemption victims "
                           "receive their graceful termination periods.", 1),
    _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
]

EVENT_COLUMNS = [
    _col("Last Seen", "The last time that this event was observed."),
    _col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
    _col("Reason", "This should be a short, machine understandable string that gives the reason for "
                   "this event being generated."),
    _col("Object", "The object that this event is about."),
    _col("Subobject", "The subobject that this event is about.", 1),
    _col("Source", "The component reporting this event.", 1),
    _col("Message", "A human-readable description of the status of this operation."),
    _col("First Seen", "The first time that this event was observed.", 1),
    _col("Count", "The number of times this event has occurred.", 1),
    _col("Name", _NAME_DOC, 1, "name"),
]


def wants_table(accept: str) -> str | None:
    """The Table version ('v1' or 'v1beta1') the Accept header prefers before plain JSON, or None."""
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        kv = dict(p.partition("=")[::2] for p in params)
        if kv.get("as") == "Table" and kv.get("g") == "meta.k8s.io" and kv.get("v") in ("v1", "v1beta1"):
            return kv["v"]
        if media in ("application/json", "*/*") and "as" not in kv:
            return None
    return None


def _row_object(obj: dict, include: str, version: str) -> dict | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": obj.get("metadata") or {}}


def _table(columns: list[dict], rows: list[dict], version: str, rv: str) -> dict:
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": {"resourceVersion": rv}, "columnDefinitions": columns, "rows": rows}


def _pod_cells(pod: dict, now: float) -> list[Any]:
    r = pod_row(pod, now)
    restarts: Any = r["RESTARTS"]
    if restarts.isdigit():
        restarts = int(restarts)         # printPod: an int64 unless a last restart time is known
    return [r["NAME"], r["READY"], r["STATUS"], restarts, r["AGE"], r["IP"], r["NODE"],
            r["NOMINATED NODE"], r["READINESS GATES"]]


def pod_table(pods: list[dict], version: str, include: str, rv: str, columns: bool = True) -> dict:
    now = time.time()
    rows = []
    for pod in pods:
        row: dict[str, Any] = {"cells": _pod_cells(pod, now)}
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            # printers.go podSuccessConditions / podFailedConditions
            row["conditions"] = [{"type": "Completed", "status": "True", "reason": phase,
                                  "message": ("The pod has completed successfully." if phase == "Succeeded"
                                              else "The pod failed.")}]
        obj = _row_object(pod, include, version)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return _table(POD_COLUMNS if columns else [], rows, version, rv)


def _since(value: str | None, now: float) -> str:
    ts = timestamp(value)
    return "<unknown>" if ts is None else human_duration(now - ts)


def event_table(events: list[dict], version: str, include: str, rv: str) -> dict:
    now = time.time()
    rows = []
    for ev in events:
        io = ev.get("involvedObject") or {}
        first, last = ev.get("firstTimestamp"), ev.get("lastTimestamp") or ev.get("eventTime")
        count = int(ev.get("count") or 1)
        last_seen = _since(last, now)
        if count > 1:                                         # printEvent
            last_seen = f"{last_seen} (x{count} over {_since(first, now)})"
        src = ev.get("source") or {}
        source = src.get("component", "") + (", " + src["host"] if src.get("host") else "")
        cells = [last_seen, ev.get("type", ""), ev.get("reason", ""),
                 f"{(io.get('kind') or '').lower()}/{io.get('name', '')}", io.get("fieldPath", ""),
                 source, (ev.get("message") or "").strip(), _since(first, now), count,
                 (ev.get("metadata") or {}).get("name", "")]
        row: dict[str, Any] = {"cells": cells}
        obj = _row_object(ev, include, version)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return _table(EVENT_COLUMNS, rows, version, rv)
