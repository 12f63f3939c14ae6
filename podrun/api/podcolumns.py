"""The cells of a Pod's `kubectl get pods` row: the STATUS / READY / RESTARTS rules.

pod_row is kubectl's printPod (pkg/printers/internalversion/printers.go, the >=1.29 form with
sidecars). Pure and in L0, so both the CLI's printers and the daemon's server-side Tables (what
kubectl itself prints) compute the same cells.
"""
from __future__ import annotations

from typing import Any

from podrun.api.duration import age, human_duration, timestamp

__all__ = ["POD_COLUMNS", "WIDE_COLUMNS", "pod_row"]

POD_COLUMNS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
WIDE_COLUMNS = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def _is_sidecar(container: dict[str, Any] | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"


def _condition_true(status: dict[str, Any], ctype: str) -> bool:
    # printers.go isPodInitializedConditionTrue / hasPodReadyCondition: first match decides
    for cond in status.get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def _finished_at(cstatus: dict[str, Any]) -> float | None:
    term = (cstatus.get("lastState") or {}).get("terminated")
    if not term:
        return None
    return timestamp(term.get("finishedAt"))


def _later(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _status_and_counts(pod: dict[str, Any]) -> tuple[str, int, int, int, float | None]:
    """printers.go printPod: (reason, ready, total, restarts, lastRestartDate)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}

    restarts = 0
    sidecar_restarts = 0
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _is_sidecar(c))
    ready = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        state = c.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        sidecar = _is_sidecar(init_specs.get(c.get("name")))
        restarts += int(c.get("restartCount") or 0)
        last_restart = _later(last_restart, _finished_at(c))
        if sidecar:
            sidecar_restarts += int(c.get("restartCount") or 0)
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(c))
        if term and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and c.get("started"):
            if c.get("ready"):
                ready += 1
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif int(term.get("signal") or 0) != 0:
                reason = f"Init:Signal:{int(term['signal'])}"
            else:
                reason = f"Init:ExitCode:{int(term.get('exitCode') or 0)}"
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        # statuses are sorted by name; iterating backwards lets the alphabetically first win
        for c in reversed(status.get("containerStatuses") or []):
            state = c.get("state") or {}
            term = state.get("terminated")
            waiting = state.get("waiting")
            restarts += int(c.get("restartCount") or 0)
            last_restart = _later(last_restart, _finished_at(c))
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                if int(term.get("signal") or 0) != 0:
                    reason = f"Signal:{int(term['signal'])}"
                else:
                    reason = f"ExitCode:{int(term.get('exitCode') or 0)}"
            elif c.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # a pod with one container still running is not "Completed"
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, last_restart


def pod_row(pod: dict[str, Any], now: float) -> dict[str, str]:
    """One `kubectl get pods -o wide` row as {COLUMN: cell} (plus NAMESPACE)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    reason, ready, total, restarts, last_restart = _status_and_counts(pod)
    restarts_str = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_str = f"{restarts} ({human_duration(now - last_restart)} ago)"

    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else "") or "<none>"
    gates = spec.get("readinessGates") or []
    gates_str = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in status.get("conditions") or []:
                if cond.get("type") == gate.get("conditionType"):
                    true_count += cond.get("status") == "True"
                    break
        gates_str = f"{true_count}/{len(gates)}"
    return {
        "NAMESPACE": meta.get("namespace") or "default",
        "NAME": meta.get("name") or "",
        "READY": f"{ready}/{total}",
        "STATUS": reason,
        "RESTARTS": restarts_str,
        "AGE": age(meta.get("creationTimestamp"), now),
        "IP": ip,
        "NODE": spec.get("nodeName") or "<none>",
        "NOMINATED NODE": status.get("nominatedNodeName") or "<none>",
        "READINESS GATES": gates_str,
    }
