"""`kubectl get pods` tables: the column layout. The cells' rules (kubectl's printPod) are
api/podcolumns.py's pod_row, shared with the daemon's server-side Tables; format_table is
cli-runtime's tabwriter (minwidth 6, tabwidth 4, padding 3, ' '); tabwrite is a port of Go's
text/tabwriter, shared with `describe` (which uses 0, 8, 2, ' ').
"""
from __future__ import annotations

from typing import Any

from podrun.api.podcolumns import POD_COLUMNS, WIDE_COLUMNS, pod_row

__all__ = [
    "POD_COLUMNS", "WIDE_COLUMNS", "tabwrite", "format_table", "pod_row", "pods_table",
    "pod_names",
]

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
