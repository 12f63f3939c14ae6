"""terminated.message: the termination-log file, or the end of the log on error.

kuberuntime_container.go getTerminationMessage, readLastStringFromContainerLogs and
convertToKubeContainerStatus; limits from pkg/kubelet/container/runtime.go:

- the file's last MaxContainerTerminationMessageLength (4096) bytes (`tail.ReadAtMost`);
- policy FallbackToLogsOnError: when the file is missing or empty and the exit code is not 0,
  the last MaxContainerTerminationMessageLogLines (80) log lines, of which only the last
  MaxContainerTerminationMessageLogLength (2048) bytes are kept (a circular buffer);
- the status manager then cuts each message to 12 KiB / number of containers
  (status_manager.go normalizeStatus, MaxPodTerminationMessageLogLength).

The log is a CRI log (kuberuntime/logs/logs.go parseCRILog): `<RFC3339Nano> <stream> <F|P> <text>`
per line, `P` a partial piece of a longer line, `F` its final piece.
"""
from __future__ import annotations

import os

__all__ = [
    "MAX_CONTAINER_TERMINATION_MESSAGE_LENGTH", "MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LENGTH",
    "MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LINES", "MAX_POD_TERMINATION_MESSAGE_LOG_LENGTH",
    "read_termination_message", "read_last_string_from_container_logs", "parse_cri_line",
    "normalize_message_limit",
]

MAX_CONTAINER_TERMINATION_MESSAGE_LENGTH = 1024 * 4
MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LENGTH = 1024 * 2
MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LINES = 80
MAX_POD_TERMINATION_MESSAGE_LOG_LENGTH = 1024 * 12

_POLICY_FALLBACK = "FallbackToLogsOnError"


def _read_at_most(path: str, limit: int) -> bytes:
    """tail.ReadAtMost: the last `limit` bytes of the file."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - limit))
        return f.read()


def parse_cri_line(line: bytes) -> tuple[bytes, bool]:
    """(content, is_partial) of one CRI log line; a malformed line is kept whole as full."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3 or parts[2] not in (b"F", b"P"):
        return line.rstrip(b"\n"), False
    content = parts[3] if len(parts) == 4 else b""
    return content, parts[2] == b"P"


def read_last_string_from_container_logs(log_path: str) -> str:
    """The last 80 log lines (full lines get their newline back), capped to their last 2048 bytes."""
    with open(log_path, "rb") as f:
        lines = f.read().splitlines()
    out = bytearray()
    for line in lines[-MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LINES:]:
        content, partial = parse_cri_line(line)
        out += content if partial else content + b"\n"
    return bytes(out[-MAX_CONTAINER_TERMINATION_MESSAGE_LOG_LENGTH:]).decode("utf-8", "replace")


def read_termination_message(path: str, policy: str, exit_code: int, log_path: str | None) -> str:
    """The message to put in `terminated.message` for an exited container.

    `path` is the host side of the container's terminationMessagePath (the fresh per-instance
    file). Read errors other than a missing file are reported in the message, as upstream.
    """
    fallback_to_logs = policy == _POLICY_FALLBACK and exit_code != 0
    try:
        data = _read_at_most(path, MAX_CONTAINER_TERMINATION_MESSAGE_LENGTH)
    except FileNotFoundError:
        data = b""
    except OSError as exc:
        return f"Error on reading termination log {path}: {exc}"
    if data or not fallback_to_logs:
        return data.decode("utf-8", "replace")
    if not log_path:
        return ""
    try:
        return read_last_string_from_container_logs(log_path)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"Error on reading termination message from logs: {exc}"


def normalize_message_limit(n_containers: int) -> int:
    """Bytes each terminated.message may keep: 12 KiB shared by all (init and main) containers."""
    return MAX_POD_TERMINATION_MESSAGE_LOG_LENGTH // max(1, n_containers)
