"""Attaching to a container's own stdio (`kubectl attach`, `kubectl run -i/-t`).

A container with `tty: true` gets a pseudo-terminal: its fds 0-2 are the slave, the daemon
keeps the master; one with `stdin: true` gets a stdin pipe whose write end the daemon keeps.
The output still goes to the log file (a tty's as stream stdout, as the kubelet logs it); an
AttachServer copies it to every attached client too and feeds their input in.

The channel is a 0600 unix socket per container run (Roots.attach_socket), gone with the run.
Client -> daemon frames: type (1 byte), length (4 bytes, big-endian), payload:
    0 STDIN   bytes for the container's stdin (or the terminal)
    1 RESIZE  b"ROWS COLS" for the terminal's window size
    2 CLOSE   the client's stdin ended (its output still flows until the run ends)
Daemon -> client: the container's output, raw; the daemon closes the connection when the run
ends. stdinOnce: the container's stdin is closed when the first client's stdin ends or the
client goes (kubelet/CRI semantics); otherwise it stays open for the next attach.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import termios

from podrun.fsutil import private_socket_path

__all__ = ["AttachServer", "frame", "read_frame", "STDIN", "RESIZE", "CLOSE"]

STDIN, RESIZE, CLOSE = 0, 1, 2
_HEADER = struct.Struct(">BI")
MAX_FRAME = 1 << 20


def frame(kind: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """One frame, or None at the end of the stream (or on a malformed frame)."""
    try:
        kind, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        if length > MAX_FRAME:
            return None
        return kind, await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class AttachServer:
    """Serves one container run's stdio to attached clients until close()."""

    def __init__(self, path: str, input_fd: int | None, stdin_once: bool, tty: bool = False):
        self.path = path
        self.input_fd = input_fd          # ours: a dup of the terminal master, or the stdin pipe
        self.tty_fd = input_fd if tty else None
        self.stdin_once = stdin_once
        self._stdin_closed = False
        self.clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        with private_socket_path(self.path):
            self._server = await asyncio.start_unix_server(self._serve, self.path)

    def output(self, data: bytes) -> None:
        """The container wrote `data`: every client gets it (a slow one buffers in asyncio)."""
        for w in list(self.clients):
            if w.is_closing():
                self.clients.discard(w)
            else:
                w.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        try:
            while (got := await read_frame(reader)) is not None:
                kind, payload = got
                if kind == STDIN and self.input_fd is not None:
                    await asyncio.get_running_loop().run_in_executor(None, _write_all, self.input_fd, payload)
                elif kind == RESIZE and self.tty_fd is not None:
                    rows, cols = (int(x) for x in payload.split())
                    set_winsize(self.tty_fd, rows, cols)
                elif kind == CLOSE and self.stdin_once:
                    self._close_stdin()     # the output goes on until the run ends
        except (OSError, ValueError):
            pass
        finally:
            self.clients.discard(writer)
            if self.stdin_once:
                self._close_stdin()
            writer.close()

    def _close_stdin(self) -> None:
        """EOF for the container, once: the pipe's write end closes; a terminal gets ^D."""
        if self._stdin_closed:
            return
        self._stdin_closed = True
        if self.tty_fd is not None:
            _write_all(self.tty_fd, b"\x04")
        elif self.input_fd is not None:
            os.close(self.input_fd)
            self.input_fd = None

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self.clients):
            w.close()
        self.clients.clear()
        if self.input_fd is not None:
            os.close(self.input_fd)
        self.input_fd = self.tty_fd = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _write_all(fd: int, data: bytes) -> None:
    """Blocking write from an executor thread (the master is shared with the non-blocking
    log reader, so a full terminal buffer is waited out rather than dropped)."""
    import select
    try:
        while data:
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                select.select([], [fd], [], 1.0)
    except OSError:
        pass  # the container closed its end
