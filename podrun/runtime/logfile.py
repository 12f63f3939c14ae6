"""Container logs in the CRI format, one file per container run (kubelet logs.go parseCRILog).

Each line: `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>`; P marks a piece of a line
that did not end in a newline (a long line split, or output that ended without one), F the last
piece. The daemon relays the container's stdout/stderr pipes into the file (LogRelay); the CLI
reads it back (read_entries / render).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import dataclass

__all__ = ["LogRelay", "LogEntry", "parse_line", "read_entries", "render", "timestamp_nano"]

MAX_LINE = 16 * 1024


def timestamp_nano(t: float | None = None) -> str:
    t = dt.datetime.now(dt.timezone.utc) if t is None else dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


class LogRelay:
    """Copies a container run's stdout and stderr pipes into its log file until both close."""

    def __init__(self, path: str, fds: dict[str, int], on_output=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.on_output = on_output  # called with each chunk read (attached clients)
        self._f = open(path, "ab", buffering=0)
        self._pending: dict[str, bytes] = {}
        self._open = dict(fds)
        self.done = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        for stream, fd in fds.items():
            os.set_blocking(fd, False)
            loop.add_reader(fd, self._on_readable, stream, fd)
        if not fds:
            self._finish()

    def _on_readable(self, stream: str, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(stream, fd)
            return
        if self.on_output is not None:
            self.on_output(data)
        buf = self._pending.get(stream, b"") + data
        lines = buf.split(b"\n")
        rest = lines.pop()
        out = []
        ts = timestamp_nano().encode()
        for line in lines:
            out.append(b"%s %s F %s\n" % (ts, stream.encode(), line))
        while len(rest) > MAX_LINE:
            out.append(b"%s %s P %s\n" % (ts, stream.encode(), rest[:MAX_LINE]))
            rest = rest[MAX_LINE:]
        self._pending[stream] = rest
        if out:
            self._f.write(b"".join(out))

    def _close(self, stream: str, fd: int) -> None:
        asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
        self._open.pop(stream, None)
        rest = self._pending.pop(stream, b"")
        if rest:
            self._f.write(b"%s %s P %s\n" % (timestamp_nano().encode(), stream.encode(), rest))
        if not self._open:
            self._finish()

    def _finish(self) -> None:
        self._f.close()
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        """Stop relaying now (daemon shutdown)."""
        for stream, fd in list(self._open.items()):
            self._close(stream, fd)
        self._finish()


@dataclass
class LogEntry:
    timestamp: str
    stream: str
    partial: bool
    content: bytes


def parse_line(line: bytes) -> LogEntry | None:
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    content = parts[3] if len(parts) == 4 else b""
    return LogEntry(parts[0].decode(), parts[1].decode(), parts[2] == b"P", content)


def read_entries(path: str) -> list[LogEntry]:
    try:
        with open(path, "rb") as f:
            return [e for e in (parse_line(l) for l in f) if e]
    except FileNotFoundError:
        return []


def render(entries: list[LogEntry], timestamps: bool = False) -> bytes:
    """The bytes `kubectl logs` prints: a P piece gets no newline."""
    out = []
    for e in entries:
        if timestamps:
            out.append(e.timestamp.encode() + b" ")
        out.append(e.content if e.partial else e.content + b"\n")
    return b"".join(out)
