"""The parent ⇄ child sync protocol of a launch (container, sandbox pause, exec).

One pipe, created O_CLOEXEC by the parent before fork; the children write, the parent reads.
Each message is one JSON object on one line (shorter than PIPE_BUF, so each write is atomic).
Modelled on runc `libcontainer/sync.go`, whose table this follows:

| # | writer              | message                                                        | meaning                               |
|---|---------------------|----------------------------------------------------------------|---------------------------------------|
| 1 | intermediate child  | `{"type":"pid","pid":N}`                                       | grandchild forked; N is its host pid  |
| 2 | intermediate or     | `{"type":"error","step":S,"op":O,"target":T,"errno":E,         | setup failed at step S; the writer    |
|   | grandchild          |  "detail":D}`                                                  | then exits 1                          |
| 3 | (nobody)            | EOF                                                            | every write end is closed             |

Reading: EOF after (1) and no (2) = the grandchild's execve succeeded (the CLOEXEC write end
closed with the exec) = started. (2) at any point = ContainerCreateError(S, O, T, E, D).
EOF without (1) and without (2) = the intermediate died without a word (a bug, or a signal).
Steps: namespaces, fork, stdio, rootfs, pivot_root, cwd, user, exec.
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass

from podrun.errors import ContainerCreateError, KernelError

__all__ = ["send_pid", "send_error", "send_exception", "SyncResult", "parse", "read_all",
           "read_all_blocking"]


def _send(fd: int, msg: dict) -> None:
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[n:]


def send_pid(fd: int, pid: int) -> None:
    _send(fd, {"type": "pid", "pid": pid})


def send_error(fd: int, step: str, op: str, target: str, errno: int, detail: str = "") -> None:
    _send(fd, {"type": "error", "step": step, "op": op, "target": target, "errno": errno,
               "detail": detail[:512]})


def send_exception(fd: int, step: str, exc: BaseException) -> None:
    """Turn whatever the child raised into message (2); never raises itself."""
    try:
        if isinstance(exc, KernelError):
            send_error(fd, step, exc.op, exc.target, exc.errno, "")
        elif isinstance(exc, OSError):
            send_error(fd, step, step, exc.filename or "", exc.errno or 0, exc.strerror or str(exc))
        else:
            send_error(fd, step, step, "", 0, f"{type(exc).__name__}: {exc}")
    except BaseException:
        pass


@dataclass
class SyncResult:
    pid: int | None
    error: ContainerCreateError | None


def parse(data: bytes) -> SyncResult:
    pid: int | None = None
    for line in data.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("type") == "pid":
            pid = int(msg["pid"])
        elif msg.get("type") == "error":
            return SyncResult(pid, ContainerCreateError(
                msg.get("step", "?"), msg.get("op", "?"), msg.get("target", ""),
                int(msg.get("errno") or 0), msg.get("detail", "")))
    if pid is None:
        return SyncResult(None, ContainerCreateError(
            "fork", "start", "container process", 0, "child exited before reporting a pid"))
    return SyncResult(pid, None)


async def read_all(fd: int) -> bytes:
    """Read fd to EOF without blocking the event loop (fd is made non-blocking)."""
    os.set_blocking(fd, False)
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    done = loop.create_future()

    def on_readable() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                if not done.done():
                    done.set_exception(exc)
                return
            if not chunk:
                if not done.done():
                    done.set_result(None)
                return
            chunks.append(chunk)

    loop.add_reader(fd, on_readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)


def read_all_blocking(fd: int) -> bytes:
    """The same for a plain process (the CLI's `podrun exec`)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)

