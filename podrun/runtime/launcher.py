"""The parent side of a launch: fork, read the sync pipe without blocking the loop, report.

os.fork() straight from the daemon (no re-exec of Python: the apply → Running budget is
100 ms). The daemon must be a child subreaper (kernel/procs.set_subreaper) so that the
container process, orphaned when the intermediate child exits, is reparented to it and can be
awaited with procs.wait_exit. Protocol: runtime/sync.py; child side: runtime/child.py.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import NoReturn

from podrun.kernel import procs
from podrun.runtime import child, sync
from podrun.runtime.plan import LaunchPlan

__all__ = ["Launched", "StdioFds", "launch", "spawn", "abandon"]


@dataclass
class Launched:
    """A started process; the *_fd are the parent's non-blocking pipe ends (None when not piped).

    The caller owns them: it relays stdout/stderr into log files and closes them at EOF.
    """

    pid: int
    start_time: int
    stdout_fd: int | None = None
    stderr_fd: int | None = None
    stdin_fd: int | None = None

    @property
    def ref(self) -> procs.ProcessRef:
        return procs.ProcessRef(self.pid, self.start_time)


@dataclass
class StdioFds:
    """fds given by the caller for the Stdio entries that say "fd"."""

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None


def _open_stdio(plan: LaunchPlan, given: StdioFds) -> tuple[tuple[int, int, int], list[int], dict[str, int]]:
    """(child fds 0-2, fds to close in the parent after fork, parent ends by name)."""
    to_close: list[int] = []
    parent: dict[str, int] = {}

    def null(flags: int) -> int:
        fd = os.open("/dev/null", flags | os.O_CLOEXEC)
        to_close.append(fd)
        return fd

    def pipe(name: str, child_reads: bool) -> int:
        r, w = os.pipe()
        parent[name] = w if child_reads else r
        to_close.append(r if child_reads else w)
        return r if child_reads else w

    spec = plan.stdio
    fd0 = {"null": lambda: null(os.O_RDONLY), "pipe": lambda: pipe("stdin", True),
           "fd": lambda: given.stdin}[spec.stdin]()
    fd1 = {"null": lambda: null(os.O_WRONLY), "pipe": lambda: pipe("stdout", False),
           "fd": lambda: given.stdout}[spec.stdout]()
    fd2 = {"null": lambda: null(os.O_WRONLY), "pipe": lambda: pipe("stderr", False),
           "fd": lambda: given.stderr, "stdout": lambda: fd1}[spec.stderr]()
    if None in (fd0, fd1, fd2):
        for fd in to_close + list(parent.values()):
            os.close(fd)
        raise ValueError("stdio spec says 'fd' but no fd was given")
    return (fd0, fd1, fd2), to_close, parent  # type: ignore[return-value]


def spawn(plan: LaunchPlan, given: StdioFds | None = None) -> tuple[int, int, dict[str, int]]:
    """Fork the intermediate child; returns (its pid, sync read end, parent stdio ends).

    Shared by the asyncio launch() and the CLI's blocking exec_foreground().
    """
    stdio, to_close, parent = _open_stdio(plan, given or StdioFds())
    r, w = os.pipe()  # both O_CLOEXEC: the grandchild's copy closes on execve → EOF = started
    try:
        pid = os.fork()
    except BaseException:
        for fd in (r, w, *to_close, *parent.values()):
            os.close(fd)
        raise
    if pid == 0:
        _child(plan, r, w, stdio, parent)
    os.close(w)
    for fd in to_close:
        os.close(fd)
    return pid, r, parent


def _child(plan: LaunchPlan, r: int, w: int, stdio: tuple[int, int, int],
           parent: dict[str, int]) -> NoReturn:
    gc.disable()  # no finalizers of the daemon's objects may run between fork and exec
    try:
        os.close(r)
        for fd in parent.values():
            os.close(fd)
    except BaseException:
        pass
    child.run_intermediate(plan, w, stdio)
    os._exit(1)  # not reached: run_intermediate ends in os._exit


def abandon(parent: dict[str, int]) -> None:
    for fd in parent.values():
        try:
            os.close(fd)
        except OSError:
            pass


async def launch(plan: LaunchPlan, given: StdioFds | None = None) -> Launched:
    """Start the plan's process; raise ContainerCreateError when the child reports an error.

    Step 1 fork; step 2 read the sync pipe to EOF (pid, then EOF or Error); step 3 reap the
    intermediate; step 4 on Error reap the failed grandchild too and raise.
    """
    pid, r, parent = spawn(plan, given)
    try:
        data = await sync.read_all(r)
    finally:
        os.close(r)
        await procs.wait_exit(pid)  # the intermediate exits right after reporting
    result = sync.parse(data)
    if result.error is not None:
        abandon(parent)
        if result.pid is not None:
            await procs.wait_exit(result.pid)
        raise result.error
    assert result.pid is not None
    start_time = procs.read_start_time(result.pid) or 0  # a zombie keeps its stat until reaped
    for name in ("stdout", "stderr"):
        if name in parent:
            os.set_blocking(parent[name], False)
    return Launched(result.pid, start_time, parent.get("stdout"), parent.get("stderr"),
                    parent.get("stdin"))
