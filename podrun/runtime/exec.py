"""Run a command inside a running container (exec probes, exec hooks, `podrun exec`).

The same child as a container start with a "join only" plan (runc `setnsProcess` /
`linuxSetnsInit`): join the container's cgroup and every namespace of the target process — mnt
last, which also puts us at the container's root — and no setup ops; then the container's
user, capabilities, no_new_privs and seccomp filter (its recorded Identity).

exec_foreground (the CLI, a plain process): the CLI makes itself a child subreaper so the
command, orphaned by the intermediate child, is reparented to it and its exit status can be
read with a blocking waitpid. Signals are not forwarded (the command has its own session).
"""
from __future__ import annotations

import asyncio
import errno
import json
import os
import secrets
import signal

from podrun.errors import ContainerCreateError, PodrunError
from podrun.kernel import namespaces, procs
from podrun.runtime import sync
from podrun.runtime.launcher import StdioFds, launch, spawn, abandon
from podrun.runtime.plan import LaunchPlan, Stdio
from podrun.runtime.state import Identity

__all__ = ["exec_plan", "run_exec", "exec_foreground", "exec_foreground_pty", "MAX_OUTPUT",
           "ExecStartError", "exec_start_error"]

MAX_OUTPUT = 10 * 1024  # kubelet exec probe: combined output capped at 10 KiB


def exec_plan(target: procs.ProcessRef, argv: list[str], env: list[str], cwd: str = "/",
              shares_pid: bool = False, tty: bool = False, identity: Identity | None = None) -> LaunchPlan:
    """Join all of target's namespaces and its cgroup, as its user with its capabilities.
    shares_pid is accepted for symmetry: the pid namespace of the target is joined either way
    (it is the pod's when shared, the container's if not)."""
    kinds = ["cgroup", "ipc", "uts", "net", "pid", "mnt"]  # cgroup: /proc/self/cgroup agrees with the container
    if not procs.alive(target):
        raise ProcessLookupError(f"process {target.pid} is not running")
    plan = LaunchPlan(argv=list(argv), env=list(env), cwd=cwd or "/", rootfs=None,
                      join_ns={k: namespaces.ns_path(target.pid, k) for k in kinds},
                      new_ns=[], ops=[], tty=tty, name="podrun:exec")
    return (identity or Identity()).apply(plan)


class ExecStartError(PodrunError):
    """The command could not be started in the container (containerd's error for runc's)."""


def exec_start_error(err: ContainerCreateError) -> PodrunError:
    """An exec that failed at execve, in the words kubectl shows against containerd + runc:

    runc (libcontainer/setns_init_linux.go) looks the command up with Go's exec.LookPath first;
    its error goes up as "unable to start container process: ..." (container_linux.go), runc exec
    prefixes "exec failed: ", the shim "OCI runtime exec failed: ", gRPC ": unknown", and the CRI
    plugin "failed to exec in container: failed to start exec <exec id>: ". Other steps keep
    their own error.
    """
    if err.step != "exec":
        return err
    name, quoted = err.target, json.dumps(err.target, ensure_ascii=False)
    if err.detail == "executable file not found in $PATH":      # child.find_executable
        cause = f"exec: {quoted}: executable file not found in $PATH"
    elif "/" in name and err.errno in (errno.ENOENT, errno.ENOTDIR):
        cause = f"exec: {quoted}: stat {name}: {_errno_text(err.errno)}"
    elif "/" in name and err.errno == errno.EACCES:
        cause = f"exec: {quoted}: permission denied"
    else:                                                        # execve itself failed
        cause = f"exec {name}: {_errno_text(err.errno) if err.errno else err.detail}"
    return ExecStartError(f"failed to exec in container: failed to start exec \"{secrets.token_hex(32)}\": "
                          f"OCI runtime exec failed: exec failed: unable to start container process: "
                          f"{cause}: unknown")


def _errno_text(code: int) -> str:
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


async def run_exec(plan: LaunchPlan, timeout: float | None = None,
                   stdin: bytes | None = None) -> tuple[int, bytes]:
    """Run to completion; (exit code, first 10 KiB of stdout+stderr). On timeout the command's
    whole session (it called setsid) is SIGKILLed, reaped, and asyncio.TimeoutError raised.

    The pid cannot be reused before we reap it, so killpg on it is race-free here.
    """
    plan.stdio = Stdio(stdin="pipe" if stdin is not None else "null", stdout="pipe", stderr="stdout")
    try:
        launched = await launch(plan)
    except ContainerCreateError as exc:
        raise exec_start_error(exc) from None
    out = bytearray()
    loop = asyncio.get_running_loop()
    fd = launched.stdout_fd
    assert fd is not None

    def on_output() -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                loop.remove_reader(fd)
                return
            out.extend(chunk[: max(0, MAX_OUTPUT - len(out))])  # keep the first 10 KiB, drain the rest

    loop.add_reader(fd, on_output)
    feeder = None
    if launched.stdin_fd is not None:
        feeder = loop.run_in_executor(None, _feed, launched.stdin_fd, stdin or b"")
    try:
        status = await asyncio.wait_for(procs.wait_exit(launched.pid), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        # Timed out, or the caller gave up (a hook cut short by a delete): end the command's
        # whole session and reap it, so nothing is left in the container's PID namespace.
        try:
            os.killpg(launched.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await asyncio.shield(procs.wait_exit(launched.pid))
        raise
    finally:
        if feeder is not None:
            try:
                await asyncio.wait_for(feeder, 1)
            except (asyncio.TimeoutError, OSError):
                pass
        on_output()  # whatever is left; a background child may keep the pipe open, so no EOF wait
        loop.remove_reader(fd)
        os.close(fd)
    return status.exit_code, bytes(out)


def _feed(fd: int, data: bytes) -> None:
    try:
        os.set_blocking(fd, True)
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass
    finally:
        os.close(fd)


def exec_foreground(plan: LaunchPlan, stdin_fd: int, stdout_fd: int, stderr_fd: int) -> int:
    """Blocking exec for the CLI: returns the command's exit code (128+N if killed by N).

    Raises ContainerCreateError when joining fails, ExecStartError when the command cannot run.
    """
    pid = _start_foreground(plan, stdin_fd, stdout_fd, stderr_fd)
    return _wait_code(pid)


def _start_foreground(plan: LaunchPlan, stdin_fd: int, stdout_fd: int, stderr_fd: int) -> int:
    """Spawn the join-only child with the given fds on 0-2; the command's pid once it runs."""
    procs.set_subreaper()
    plan.stdio = Stdio("fd", "fd", "fd")
    pid, r, parent = spawn(plan, StdioFds(stdin_fd, stdout_fd, stderr_fd))
    try:
        data = sync.read_all_blocking(r)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    result = sync.parse(data)
    abandon(parent)
    if result.error is not None:
        if result.pid is not None:
            os.waitpid(result.pid, 0)
        raise exec_start_error(result.error)
    assert result.pid is not None
    return result.pid


def _wait_code(pid: int, options: int = 0) -> int | None:
    while True:
        try:
            got, status = os.waitpid(pid, options)
        except InterruptedError:
            continue
        if got == 0:
            return None
        return procs.decode_wait_status(status).exit_code


TIOCGPTPEER = 0x5441   # Linux 4.13: open the slave of a master without a path lookup
TIOCSPTLCK = 0x40045431


def open_pty(root: str | None) -> tuple[int, int]:
    """A pty pair from the devpts under `root` (the container's own, /proc/PID/root/dev/pts:
    `tty` inside then names it, as runc's console does), else from ours."""
    if root:
        import fcntl
        import struct
        try:
            master = os.open(os.path.join(root, "dev/pts/ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            master = -1
        if master >= 0:
            try:
                fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
                slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
                return master, slave
            except OSError:
                os.close(master)
    return os.openpty()


def exec_foreground_pty(plan: LaunchPlan, in_fd: int = 0, out_fd: int = 1, root: str | None = None) -> int:
    """`exec -it`: the command gets a new pseudo-terminal as its controlling terminal (child.py
    does setsid + TIOCSCTTY when plan.tty and fd 0 is a tty); our own terminal goes raw, bytes
    are relayed both ways until the command exits, the window size follows ours (SIGWINCH).
    Ctrl-C is just a \x03 byte here: the pty's line discipline turns it into SIGINT inside.
    """
    import fcntl
    import select
    import termios
    import tty as ttymod

    master, slave = open_pty(root)
    plan.tty = True

    def copy_winsize() -> None:
        try:
            ws = fcntl.ioctl(in_fd, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(master, termios.TIOCSWINSZ, ws)
        except OSError:
            pass

    copy_winsize()
    try:
        pid = _start_foreground(plan, slave, slave, slave)
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    os.close(slave)
    old_attrs = None
    try:
        old_attrs = termios.tcgetattr(in_fd)
        ttymod.setraw(in_fd, termios.TCSANOW)
    except termios.error:
        old_attrs = None
    old_winch = signal.signal(signal.SIGWINCH, lambda *_: copy_winsize())
    code: int | None = None
    stdin_open = True
    try:
        while True:
            rfds = [master] + ([in_fd] if stdin_open else [])
            try:
                ready, _, _ = select.select(rfds, [], [], 0.1)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every slave fd is closed
                    data = b""
                if not data:
                    break
                _write_all(out_fd, data)
            if stdin_open and in_fd in ready:
                data = os.read(in_fd, 65536)
                if data:
                    _write_all(master, data)
                else:
                    stdin_open = False
            if code is None:
                code = _wait_code(pid, os.WNOHANG)
                if code is not None:
                    _drain(master, out_fd)  # a background child may keep the slave open
                    break
    finally:
        signal.signal(signal.SIGWINCH, old_winch)
        if old_attrs is not None:
            termios.tcsetattr(in_fd, termios.TCSADRAIN, old_attrs)
        os.close(master)
    if code is None:
        code = _wait_code(pid)
    assert code is not None
    return code


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue


def _drain(master: int, out_fd: int) -> None:
    import select
    while select.select([master], [], [], 0.05)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(out_fd, data)
