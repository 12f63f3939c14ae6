"""Processes: identity, signals without pid-reuse races, and waiting for exits on a pidfd.

A pid alone is not an identity: after an exit the number is reused. Every stored pid carries
its start time (field 22 of /proc/PID/stat, in clock ticks since boot; runc
`InitProcessStartTime`, crun `read_pid_stat`), and signals go through a pidfd opened after the
identity check, so that a signal can never hit a process that took over the number.

The daemon is a child subreaper (prctl PR_SET_CHILD_SUBREAPER): container processes are forked
by a short-lived intermediate child and reparented to the daemon when it exits, so the daemon
can waitpid() them and read their exit status.
"""
from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import prctl

__all__ = ["ProcessRef", "ExitStatus", "read_start_time", "ref_of", "alive", "send_signal",
           "wait_exit", "decode_wait_status", "set_subreaper", "set_name", "reap_strays"]


@dataclass(frozen=True)
class ProcessRef:
    """A process identity: (pid, start time in clock ticks since boot)."""

    pid: int
    start_time: int


@dataclass(frozen=True)
class ExitStatus:
    """How a process ended. exit_code is 128+N when killed by signal N (the kubelet's rule).

    exit_code -1 with signal None means the status could not be collected (the process was not
    our child, or someone else reaped it).
    """

    exit_code: int
    signal: int | None = None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and ')' : everything after the last ')' is space separated,
    # starting with field 3 (state).
    return raw[raw.rindex(")") + 2:].split()


def read_start_time(pid: int) -> int | None:
    """Field 22 (starttime) of /proc/PID/stat, None when the process does not exist."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def ref_of(pid: int) -> ProcessRef:
    start = read_start_time(pid)
    if start is None:
        raise ProcessLookupError(pid)
    return ProcessRef(pid, start)


def alive(ref: ProcessRef) -> bool:
    """True when the pid exists, has the same start time and is not a zombie."""
    fields = _stat_fields(ref.pid)
    return bool(fields) and fields[0] not in ("Z", "X") and int(fields[19]) == ref.start_time


def send_signal(ref: ProcessRef, sig: int) -> bool:
    """Signal the process only if it is still the one we mean; False if it is gone."""
    try:
        pidfd = os.pidfd_open(ref.pid)
    except ProcessLookupError:
        return False
    try:
        # Checked after the pidfd is open: from here the pidfd pins this exact process.
        if read_start_time(ref.pid) != ref.start_time:
            return False
        signal.pidfd_send_signal(pidfd, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)


def decode_wait_status(status: int) -> ExitStatus:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ExitStatus(128 + sig, sig)
    return ExitStatus(os.WEXITSTATUS(status), None)


async def wait_exit(pid: int) -> ExitStatus:
    """Await the exit of a process and reap it if it is ours, without polling.

    A pidfd becomes readable when the process exits (trio's `Process.wait` does the same);
    works for our children and for orphans reparented to us as subreaper. For a process that
    is not our child (e.g. adopted after a daemon restart) it still waits for the exit but
    returns ExitStatus(-1): only the parent can read the status.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        pidfd = -1
    loop = asyncio.get_running_loop()
    ours = True
    _awaited.add(pid)
    try:
        while True:
            if ours:
                try:
                    got, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    ours = False
                else:
                    if got:
                        return decode_wait_status(status)
            if pidfd < 0:
                return ExitStatus(-1, None)
            readable = loop.create_future()
            loop.add_reader(pidfd, lambda: readable.done() or readable.set_result(None))
            try:
                await readable
            finally:
                loop.remove_reader(pidfd)
            if not ours:
                return ExitStatus(-1, None)
    finally:
        _awaited.discard(pid)
        if pidfd >= 0:
            os.close(pidfd)


# Pids someone is awaiting with wait_exit: the stray reaper leaves them alone.
_awaited: set[int] = set()


def reap_strays(seen: set[int]) -> set[int]:
    """Reap zombie children nobody awaits, if they were already zombies at the previous call.

    A subreaper inherits every orphan below it; one left unreaped pins its PID namespace (the
    namespace's PID 1 cannot finish exiting while a zombie of the namespace waits). Waiting one
    round before reaping leaves a just-launched process time to be awaited by its owner.
    Returns the zombies to pass as `seen` next time.
    """
    zombies = set()
    try:
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
            children = [int(p) for p in f.read().split()]
    except OSError:
        return set()
    for pid in children:
        fields = _stat_fields(pid)
        if fields and fields[0] == "Z" and pid not in _awaited:
            zombies.add(pid)
    for pid in zombies & seen:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return zombies - seen


def set_subreaper() -> None:
    """Orphaned descendants are reparented to us, not to init, so we can reap them."""
    prctl.set_child_subreaper(1)


def set_name(name: str) -> None:
    """The name `ps -o comm` shows (15 bytes max), e.g. podrun:init."""
    prctl.set_name(name[:15])
