"""`kubectl top pod` / `kubectl top node` tables from metrics.k8s.io/v1beta1 objects.

A port of kubectl/pkg/metricsutil/metrics_printer.go (TopCmdPrinter.PrintPodMetrics,
PrintNodeMetrics, printSingleResourceUsage, printPodResourcesSum), metrics_sorter.go and
metrics_resource_adder.go. Every cell is written followed by a tab, so unlike `get` the last
column is padded too (trailing spaces, as kubectl prints them); the tabwriter is cli-runtime's
(minwidth 6, tabwidth 4, padding 3). Quantities are summed exactly and rounded up only when
printed: CPU as MilliValue() "%dm", memory as Value()/MiB "%dMi".
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from podrun.api.quantity import cpu_millis, memory_bytes, parse_quantity
from podrun.printers.table import tabwrite

__all__ = [
    "POD_COLUMNS", "NODE_COLUMNS", "SORT_KEYS", "pod_usage", "pod_metrics_table",
    "node_metrics_table", "go_duration",
]

POD_COLUMNS = ["NAME", "CPU(cores)", "MEMORY(bytes)"]
NODE_COLUMNS = ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
SORT_KEYS = ("cpu", "memory")

_MINWIDTH, _TABWIDTH, _PADDING = 6, 4, 3   # cli-runtime printers.GetNewTabWriter
_MIB = 1024 * 1024
_UNDERLINE = "________"

Usage = tuple[Decimal, Decimal]   # (cpu cores, memory bytes), exact


def _quantity(usage: dict[str, Any], resource: str) -> Decimal:
    """A missing resource is Go's zero Quantity."""
    value = usage.get(resource)
    return Decimal(0) if value in (None, "") else parse_quantity(value)


def _container_usage(container: dict[str, Any]) -> Usage:
    usage = container.get("usage") or {}
    return _quantity(usage, "cpu"), _quantity(usage, "memory")


def pod_usage(metrics: dict[str, Any]) -> Usage:
    """metrics_printer.go getPodMetrics: the sum over the pod's containers."""
    cpu, memory = Decimal(0), Decimal(0)
    for container in metrics.get("containers") or []:
        c_cpu, c_mem = _container_usage(container)
        cpu, memory = cpu + c_cpu, memory + c_mem
    return cpu, memory


def _cells(usage: Usage) -> list[str]:
    """printSingleResourceUsage: MilliValue() for cpu, Value()/(1024*1024) for memory."""
    cpu, memory = usage
    return [f"{cpu_millis(cpu)}m", f"{memory_bytes(memory) // _MIB}Mi"]


def _line(cells: list[str]) -> str:
    """printValue writes "%v\\t" for every cell, so every line ends with a tab."""
    return "".join(f"{cell}\t" for cell in cells) + "\n"


def _by_usage(sort_by: str, usage: Usage) -> int:
    """The descending key of metrics_sorter.go: MilliValue() for cpu, Value() for memory."""
    cpu, memory = usage
    return -cpu_millis(cpu) if sort_by == "cpu" else -memory_bytes(memory)


def _meta(metrics: dict[str, Any]) -> dict[str, Any]:
    return metrics.get("metadata") or {}


def _sorted_pods(items: list[dict[str, Any]], with_namespace: bool, sort_by: str) -> list[dict[str, Any]]:
    """PodMetricsSorter: by usage (largest first) or by (namespace,) name. Python's sort is
    stable where Go's sort.Sort is only stable for short lists (insertion sort below 12)."""
    if sort_by in SORT_KEYS:
        return sorted(items, key=lambda m: _by_usage(sort_by, pod_usage(m)))
    if with_namespace:
        return sorted(items, key=lambda m: (_meta(m).get("namespace") or "", _meta(m).get("name") or ""))
    return sorted(items, key=lambda m: _meta(m).get("name") or "")


def _sorted_containers(containers: list[dict[str, Any]], sort_by: str) -> list[dict[str, Any]]:
    """ContainerMetricsSorter: by usage (largest first), else by name."""
    if sort_by in SORT_KEYS:
        return sorted(containers, key=lambda c: _by_usage(sort_by, _container_usage(c)))
    return sorted(containers, key=lambda c: c.get("name") or "")


def _pod_lines(metrics: dict[str, Any], containers: bool, with_namespace: bool, sort_by: str) -> list[str]:
    """printSinglePodMetrics / printSinglePodContainerMetrics."""
    prefix = [_meta(metrics).get("namespace") or ""] if with_namespace else []
    name = _meta(metrics).get("name") or ""
    if not containers:
        return [_line(prefix + [name] + _cells(pod_usage(metrics)))]
    return [_line(prefix + [name, c.get("name") or ""] + _cells(_container_usage(c)))
            for c in _sorted_containers(metrics.get("containers") or [], sort_by)]


def _sum_lines(items: list[dict[str, Any]], column_width: int) -> list[str]:
    """printPodResourcesSum: an underline under the two usage columns, then the totals."""
    cpu, memory = Decimal(0), Decimal(0)
    for metrics in items:
        p_cpu, p_mem = pod_usage(metrics)
        cpu, memory = cpu + p_cpu, memory + p_mem
    underline = _line([""] * (column_width - 2) + [_UNDERLINE, _UNDERLINE])
    totals = _line([""] * (column_width - 3) + [""] + _cells((cpu, memory)))
    return [underline, totals]


def pod_metrics_table(items: list[dict[str, Any]], containers: bool = False, all_namespaces: bool = False,
                      no_headers: bool = False, sort_by: str = "", show_sum: bool = False) -> str:
    """The whole `kubectl top pod` output for a list of PodMetrics; "" for none."""
    if not items:
        return ""
    lines = []
    column_width = len(POD_COLUMNS)
    if not no_headers:
        # kubectl counts the NAMESPACE and POD columns only when it prints the header, so
        # --no-headers --sum puts the underline under the wrong columns; so do we.
        extra = (["NAMESPACE"] if all_namespaces else []) + (["POD"] if containers else [])
        column_width += len(extra)
        lines.append(_line(extra + POD_COLUMNS))
    ordered = _sorted_pods(items, all_namespaces, sort_by)
    for metrics in ordered:
        lines.extend(_pod_lines(metrics, containers, all_namespaces, sort_by))
    if show_sum:
        lines.extend(_sum_lines(ordered, column_width))
    return tabwrite("".join(lines), _MINWIDTH, _TABWIDTH, _PADDING)


def _percent(used: Decimal, available: Decimal) -> str:
    """printAllResourceUsages: MilliValue over MilliValue, truncated like int64(fraction)."""
    total = cpu_millis(available)
    fraction = 0.0 if total == 0 else cpu_millis(used) / total * 100
    return f"{int(fraction)}%"


def _node_line(metrics: dict[str, Any], allocatable: dict[str, Any]) -> str:
    cpu, memory = _quantity(metrics.get("usage") or {}, "cpu"), _quantity(metrics.get("usage") or {}, "memory")
    cpu_cell, mem_cell = _cells((cpu, memory))
    cells = [_meta(metrics).get("name") or "", cpu_cell]
    if "cpu" in allocatable:
        cells.append(_percent(cpu, _quantity(allocatable, "cpu")))
    cells.append(mem_cell)
    if "memory" in allocatable:
        cells.append(_percent(memory, _quantity(allocatable, "memory")))
    return _line(cells)


def node_metrics_table(items: list[dict[str, Any]], allocatable: dict[str, dict[str, Any]],
                       no_headers: bool = False, sort_by: str = "") -> str:
    """`kubectl top node`: NodeMetrics items, and each node's allocatable {cpu, memory}."""
    if not items:
        return ""
    if sort_by in SORT_KEYS:
        def key(m: dict[str, Any]) -> int:
            usage = m.get("usage") or {}
            return _by_usage(sort_by, (_quantity(usage, "cpu"), _quantity(usage, "memory")))
        ordered = sorted(items, key=key)
    else:
        ordered = sorted(items, key=lambda m: _meta(m).get("name") or "")
    lines = [] if no_headers else [_line(NODE_COLUMNS)]
    for metrics in ordered:
        lines.append(_node_line(metrics, allocatable.get(_meta(metrics).get("name") or "") or {}))
    return tabwrite("".join(lines), _MINWIDTH, _TABWIDTH, _PADDING)


def _scaled(nanos: int, unit: int) -> str:
    """nanos / unit with the fraction's trailing zeros dropped, as Go's fmtFrac does."""
    whole, frac = divmod(nanos, unit)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".")


def go_duration(seconds: float) -> str:
    """Go's time.Duration.String(): "1h2m3.5s", "2m0s", "1.5ms" (kubectl checkPodAge's age)."""
    nanos = int(round(seconds * 1e9))
    if nanos == 0:
        return "0s"
    if nanos < 1000:
        return f"{nanos}ns"
    if nanos < 10**6:
        return _scaled(nanos, 1000) + "\u00b5s"
    if nanos < 10**9:
        return _scaled(nanos, 10**6) + "ms"
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = _scaled(rest, 10**9) + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text
