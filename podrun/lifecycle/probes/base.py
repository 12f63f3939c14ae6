"""What every probe runner shares: the ProbeHost seam, ProbeError, and Go's words.

A runner returns (Result, output): SUCCESS, WARNING (a redirect not followed), FAILURE (the check
failed; output is the kubelet's message) or UNKNOWN. A *prober error* (bad port name, exec could
not start, body read cut short) raises ProbeError: the worker retries it and then throws the
result away instead of counting it. Messages copy Go's error text, since users grep events for it.
"""
from __future__ import annotations

import os
from typing import Awaitable, Callable, Protocol

from podrun.clock import Clock
from podrun.errors import PodrunError
from podrun.lifecycle.probes.results import Result

__all__ = ["ProbeHost", "ProbeError", "RunProbe", "MAX_OUTPUT", "resolve_port", "join_host_port",
           "format_pod", "go_quote", "errno_text"]

MAX_OUTPUT = 10 * 1024          # exec.go maxReadLength, http.go maxRespBodyLength


class ProbeHost(Protocol):
    """What probes and hooks need from one container (the lead's ContainerRunner; a fake in tests)."""
    pod: dict
    spec: dict
    clock: Clock

    def pod_ip(self) -> str | None: ...
    def is_deleting(self) -> bool: ...
    async def exec_in_container(self, argv: list[str], timeout: float | None) -> tuple[int, bytes]: ...
    def report_event(self, type_: str, reason: str, message: str) -> None: ...


class ProbeError(PodrunError):
    """The probe could not be run (kubelet: runProbe returned err); `result` is what it reported."""

    def __init__(self, message: str, result: Result = Result.UNKNOWN):
        super().__init__(message)
        self.result = result


RunProbe = Callable[[str, dict], Awaitable[tuple[Result, str]]]   # (kind, probe) -> (result, output)


def resolve_port(port: int | str | None, container: dict) -> int:
    """pkg/probe ResolveContainerPort: a number, a named containerPort, or a numeric string."""
    if isinstance(port, bool) or port is None:
        raise ValueError(f"intOrString had no kind: {port!r}")
    if isinstance(port, int):
        value = port
    else:
        named = [p["containerPort"] for p in container.get("ports") or [] if p.get("name") == port]
        if named:
            value = int(named[0])
        elif port.lstrip("+-").isdigit():
            value = int(port)
        else:
            raise ValueError(f'strconv.Atoi: parsing {go_quote(port)}: invalid syntax')
    if 0 < value < 65536:
        return value
    raise ValueError(f"invalid port number: {value}")


def join_host_port(host: str, port: int) -> str:
    """net.JoinHostPort: IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_pod(pod: dict) -> str:
    """kubelet util/format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def errno_text(exc: OSError) -> str:
    """Go's syscall.Errno text: the C strerror, lower-cased first letter."""
    if exc.errno in (None, 0):
        return str(exc)
    text = os.strerror(exc.errno)
    return text[:1].lower() + text[1:]


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
               "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """Go's %q / strconv.Quote for a string."""
    out = ['"']
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xDC80 <= ord(ch) <= 0xDCFF:           # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
