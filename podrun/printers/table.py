"""`kubectl get pods` tables: the STATUS / READY / RESTARTS rules and the column layout.

pod_row is kubectl's printPod (pkg/printers/internalversion/printers.go, the >=1.29 form with
sidecars); format_table is cli-runtime's tabwriter (minwidth 6, tabwidth 4, padding 3, ' ');
tabwrite is a port of Go's text/tabwriter, shared with `describe` (which uses 0, 8, 2, ' ').
"""
from __future__ import annotations

from typing import Any

from podrun.printers.duration import age, human_duration, timestamp

__all__ = [
    "POD_COLUMNS", "WIDE_COLUMNS", "tabwrite", "format_table", "pod_row", "pods_table",
    "pod_names",
]

POD_COLUMNS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
WIDE_COLUMNS = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]

# cli-runtime/pkg/printers/tabwriter.go GetNewTabWriter
_GET_MINWIDTH, _GET_TABWIDTH, _GET_PADDING = 6, 4, 3


def tabwrite(text: str, minwidth: int, tabwidth: int, padding: int, padchar: str = " ") -> str:
    """Align tab-terminated cells like Go's text/tabwriter (flags 0, left-aligned).

    A column block is a run of consecutive lines that have a tab-terminated cell in that
    column; each block gets its own width (widest cell + padding, at least minwidth). The
    text after a line's last tab is not a cell and is never padded. `tabwidth` only matters
    when padding with tabs, which kubectl never does; it is kept for a faithful signature.
    """
    del tabwidth  # only used by Go when padchar is '\t'
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[int] = []
    out: list[str] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            parts = []
            for j, cell in enumerate(lines[i]):
                parts.append(cell)
                if j < len(widths) and j < len(lines[i]) - 1:
                    parts.append(padchar * (widths[j] - len(cell)))
            out.append("".join(parts))

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # a cell exists in this column: lines line0..this precede the block
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
            this += 1  # Go's loop increment: the line that ended the block starts none
        write_lines(line0, line1)

    format_block(0, len(lines))
    return "\n".join(out)


def format_table(rows: list[list[str]], headers: list[str]) -> str:
    """kubectl get's table: cells joined by tabs, aligned by cli-runtime's tabwriter.

    An empty `headers` prints rows only (--no-headers). Ends with a newline, no trailing
    spaces (the last column is never padded).
    """
    lines = ([headers] if headers else []) + rows
    if not lines:
        return ""
    text = "".join("\t".join(cells) + "\n" for cells in lines)
    return tabwrite(text, _GET_MINWIDTH, _GET_TABWIDTH, _GET_PADDING)


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


def pods_table(pods: list[dict[str, Any]], now: float, wide: bool = False,
               all_namespaces: bool = False, no_headers: bool = False) -> str:
    """`kubectl get pods` output (`-A` prepends NAMESPACE, `-o wide` appends four columns)."""
    columns = (["NAMESPACE"] if all_namespaces else []) + POD_COLUMNS + (WIDE_COLUMNS if wide else [])
    rows = []
    for pod in pods:
        row = pod_row(pod, now)
        rows.append([row[c] for c in columns])
    return format_table(rows, [] if no_headers else columns)


def pod_names(pods: list[dict[str, Any]]) -> str:
    """`kubectl get pods -o name`."""
    return "".join(f"pod/{(p.get('metadata') or {}).get('name', '')}\n" for p in pods)
