"""The child side of a launch: everything between fork and execve, in plain Python.

Runs in a forked copy of the daemon, so: no asyncio, no logging, no threads, no locks — only
os and kernel/ functions (runc `init.go` + `nsexec.c`; youki `process/`). Every failure is
reported on the sync fd as Error{step, op, target, errno} (runtime/sync.py) and ends in
os._exit(1); nothing here ever returns into the daemon's code.

    intermediate (run_intermediate)          grandchild (run_init), PID 1 of the new pid ns
    0. write 0 to each cgroup.procs: born    4. setsid, fds 0-2, close the rest
       in its cgroup, before any namespace   5. / rprivate, SetupOps in one loop, root
    1. reset signals, name itself               remounted read-only if asked, pivot_root
    2. open all ns fds, then setns each      6. chdir(cwd); bounding set cut to the plan's
    3. unshare(mnt [, pid]) (sandbox: net,      capabilities, inheritable + ambient cleared;
       ipc, uts [, pid], hostname, lo up),      groups/gid/uid; root: permitted = effective =
       fork, send pid, _exit(0)                 the list; no_new_privs
                                             7. execve(argv[0] looked up in the plan's PATH)

The intermediate exists because unshare(CLONE_NEWPID) and setns(pid) only apply to children;
when it exits the grandchild is reparented to the daemon (a child subreaper). A join-only plan
(rootfs None: exec) skips step 5 and does everything else the same way, so an exec'd command
gets the container's cgroup, user, capabilities and no_new_privs (runc `setnsProcess`). Why the
capability steps come in that order: kernel/capabilities.py.
"""
from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import termios
from typing import NoReturn

from podrun.errors import CgroupError, MountError
from podrun.kernel import capabilities, mounts, namespaces, procs, rlimits
from podrun.kernel import syscalls as sc
from podrun.runtime import sync
from podrun.runtime.plan import (DEFAULT_PATH, Bind, Devpts, HostDevices, LaunchPlan, MakeDir, MakeFile,
                                 MaskPath, Overlay, Proc, ReadonlyPath, RemountRO, SetupOp, Symlink,
                                 Sysfs, Tmpfs)

__all__ = ["run_intermediate", "run_init", "join_cgroups", "apply_op", "find_executable"]

_PROC_FLAGS = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC


def _reset_signals() -> None:
    """Undo what Python and the daemon set up: exec keeps SIG_IGN and the blocked mask
    (CPython `subprocess` restore_signals does the same for SIGPIPE/SIGXFSZ)."""
    try:
        signal.set_wakeup_fd(-1)  # the daemon loop's wakeup fd must not see our signals
    except (ValueError, OSError):
        pass
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD,
                signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (ValueError, OSError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def join_cgroups(procs_files: list[str]) -> None:
    """Step 0: move this process into each cgroup ("0" = the writer); children inherit it."""
    for path in procs_files:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        except OSError as exc:
            raise CgroupError("join", path, exc.errno or 0) from exc


def run_intermediate(plan: LaunchPlan, sync_fd: int, stdio: tuple[int, int, int]) -> NoReturn:
    """Steps 0-3; stdio are the fds that become 0, 1, 2 of the grandchild."""
    step = "cgroup"
    try:
        join_cgroups(plan.cgroup_procs)
        capabilities.known()  # read cap_last_cap from the host's /proc while we still see it
        step = "namespaces"
        _reset_signals()
        procs.set_name(plan.name)
        namespaces.join_namespaces(namespaces.open_namespaces(plan.join_ns))
        namespaces.unshare(plan.new_ns)
        if plan.hostname is not None:
            sc.sethostname(plan.hostname)
        if plan.loopback_up:
            namespaces.loopback_up()
        step = "fork"
        pid = os.fork()
        if pid == 0:
            run_init(plan, sync_fd, stdio)
        sync.send_pid(sync_fd, pid)
    except BaseException as exc:
        sync.send_exception(sync_fd, step, exc)
        os._exit(1)
    os._exit(0)


def run_init(plan: LaunchPlan, sync_fd: int, stdio: tuple[int, int, int]) -> NoReturn:
    """Steps 4-7 in the grandchild; exits only by execve or os._exit(1)."""
    step = "stdio"
    try:
        os.setsid()
        sync_fd = _setup_stdio(sync_fd, stdio, plan.tty)
        if plan.rootfs:
            step = "rootfs"
            mounts.make_rprivate()
            for op in plan.ops:
                apply_op(op, plan.rootfs)
            if plan.readonly_root:
                mounts.remount_ro(plan.rootfs)  # the overlay only: binds on it stay writable
            step = "pivot_root"
            mounts.pivot_into(plan.rootfs)
        step = "cwd"
        _chdir(plan.cwd)
        step = "rlimits"
        rlimits.apply_container_rlimits()    # a fixed set, not the daemon's (kernel/rlimits.py)
        step = "capabilities"
        if plan.capabilities is not None:
            capabilities.drop_bounding(plan.capabilities)
            capabilities.clear_inheritable()
        step = "user"
        os.setgroups(plan.supplementary_groups)
        os.setgid(plan.gid)
        os.setuid(plan.uid)
        step = "capabilities"
        if plan.capabilities is not None and plan.uid == 0:
            capabilities.set_permitted_effective(plan.capabilities)
        if plan.no_new_privs:
            capabilities.set_no_new_privs()
        step = "exec"
        env = dict(e.partition("=")[::2] for e in plan.env)
        path = find_executable(plan.argv[0] if plan.argv else "", plan.env_value("PATH", DEFAULT_PATH))
        os.execve(path, plan.argv, env)
    except BaseException as exc:
        if step == "exec" and isinstance(exc, OSError) and not isinstance(exc, MountError):
            sync.send_error(sync_fd, "exec", "exec", plan.argv[0] if plan.argv else "",
                            exc.errno or 0, exc.strerror or "")
        else:
            sync.send_exception(sync_fd, step, exc)
    os._exit(1)


def _setup_stdio(sync_fd: int, stdio: tuple[int, int, int], tty: bool) -> int:
    """Put stdio on 0-2 and close every other fd but the sync fd; returns the sync fd's number.

    Sources are first moved to fds >= 3 so that dup2 onto 0-2 cannot clobber one another.
    """
    sync_fd = fcntl.fcntl(sync_fd, fcntl.F_DUPFD_CLOEXEC, 3)
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in stdio]
    for target, fd in enumerate(moved):
        os.dup2(fd, target, inheritable=True)
    for fd in sorted(set(moved)):
        os.close(fd)
    os.closerange(3, sync_fd)
    os.closerange(sync_fd + 1, 1 << 20)
    if tty and os.isatty(0):  # `exec -t` without -i has /dev/null on 0: no terminal to take
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    return sync_fd


def _chdir(cwd: str) -> None:
    try:
        os.chdir(cwd)
    except FileNotFoundError:
        os.makedirs(cwd, 0o755, exist_ok=True)  # runc creates a missing cwd too
        os.chdir(cwd)


def find_executable(name: str, path: str) -> str:
    """argv[0] as given when it has a '/', else the first executable file on PATH."""
    if "/" in name:
        return name
    for d in (path or "").split(":"):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OSError(errno.ENOENT, "executable file not found in $PATH", name)


def _tmpfs_data(op: Tmpfs) -> str:
    parts = [f"mode={op.mode:o}"]
    if op.size:
        parts.append(f"size={op.size}")
    if op.options:
        parts.append(op.options)
    return ",".join(parts)


def apply_op(op: SetupOp, root: str, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Execute one SetupOp inside `root` (bubblewrap `setup_newroot`'s switch)."""
    match op:
        case Overlay(lower=lower, upper=upper, work=work, target=target, flags=flags):
            syscalls.mount("overlay", target, "overlay", flags,
                           f"lowerdir={lower},upperdir={upper},workdir={work}")
        case Proc(target=target):
            syscalls.mount("proc", mounts.ensure_target(root, target, False), "proc", _PROC_FLAGS)
        case Sysfs(target=target, readonly=ro):
            dest = mounts.ensure_target(root, target, False)
            try:
                syscalls.mount("sysfs", dest, "sysfs", _PROC_FLAGS | (sc.MS_RDONLY if ro else 0))
            except MountError:  # e.g. EPERM without our own net ns: runc falls back to rbind
                mounts.bind("/sys", dest, readonly=ro, recursive=True, syscalls=syscalls)
        case Tmpfs():
            dest = mounts.ensure_target(root, op.target, False)
            syscalls.mount("tmpfs", dest, "tmpfs", op.flags, _tmpfs_data(op))
        case Devpts(target=target):
            syscalls.mount("devpts", mounts.ensure_target(root, target, False), "devpts",
                           sc.MS_NOSUID | sc.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
        case Symlink(link_target=link_target, path=path):
            dest = mounts.secure_join(root, path)
            os.makedirs(os.path.dirname(dest), 0o755, exist_ok=True)
            if not (os.path.islink(dest) and os.readlink(dest) == link_target):
                os.symlink(link_target, dest)
        case MakeDir(path=path, mode=mode):
            os.chmod(mounts.ensure_target(root, path, False), mode)
        case MakeFile(path=path, mode=mode):
            os.chmod(mounts.ensure_target(root, path, True), mode)
        case Bind():
            _bind(op, root, syscalls)
        case RemountRO(target=target):
            mounts.remount_ro(mounts.secure_join(root, target), syscalls)
        case MaskPath(target=target):
            _mask(mounts.secure_join(root, target), syscalls)
        case ReadonlyPath(target=target):
            dest = mounts.secure_join(root, target)
            if os.path.lexists(dest):
                mounts.bind(dest, dest, readonly=True, recursive=True, syscalls=syscalls)
        case HostDevices(target=target, source=source):
            for node in host_device_nodes(source):
                dest = mounts.ensure_target(root, os.path.join(target, node), True)
                mounts.bind(os.path.join(source, node), dest, recursive=False, syscalls=syscalls)
        case _:
            raise TypeError(f"unknown setup op {op!r}")


def _bind(op: Bind, root: str, syscalls: sc.Syscalls) -> None:
    source = op.source
    if op.subpath:
        # Resolved inside the volume so a symlink planted by a container cannot point the
        # bind at the host (CVE-2017-1002101); created when missing (kubelet subpath rules).
        source = mounts.secure_join(op.source, op.subpath)
        os.makedirs(source, 0o755, exist_ok=True)
    if not os.path.exists(source):
        if op.allow_missing:
            return
        raise MountError("bind", source, errno.ENOENT)
    is_file = op.is_file or not os.path.isdir(source)
    dest = mounts.ensure_target(root, op.target, is_file)
    mounts.bind(source, dest, readonly=op.readonly, recursive=op.recursive, syscalls=syscalls)
    if op.nodev:
        _remount_adding(dest, sc.MS_NODEV, syscalls)


# statvfs f_flag bits that a bind remount must repeat, or they are cleared (mounts.remount_ro
# keeps the same ones for its read-only remount).
_STATVFS_TO_MS = {os.ST_RDONLY: sc.MS_RDONLY, os.ST_NOSUID: sc.MS_NOSUID, os.ST_NODEV: sc.MS_NODEV,
                  os.ST_NOEXEC: sc.MS_NOEXEC, os.ST_NOATIME: sc.MS_NOATIME,
                  os.ST_NODIRATIME: sc.MS_NODIRATIME, os.ST_RELATIME: sc.MS_RELATIME}


def _remount_adding(target: str, flags: int, syscalls: sc.Syscalls) -> None:
    """Remount a bind mount with flags added to the ones it has."""
    try:
        f_flag = os.statvfs(target).f_flag
    except OSError:
        f_flag = 0
    keep = sum(ms for st, ms in _STATVFS_TO_MS.items() if f_flag & st)
    syscalls.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | keep | flags, None)


def _mask(dest: str, syscalls: sc.Syscalls) -> None:
    """runc `maskPath`: /dev/null over a file (reads return nothing, writes vanish), an empty
    read-only tmpfs over a directory. The host's /dev/null: we have not pivoted yet."""
    if not os.path.lexists(dest):
        return
    if os.path.isdir(dest):
        syscalls.mount("tmpfs", dest, "tmpfs", sc.MS_RDONLY, None)
    else:
        syscalls.mount("/dev/null", dest, None, sc.MS_BIND, None)


# Directories and nodes of the host's /dev a privileged container does not take: its own
# devpts, shm and fd links (runc/libcontainer `devices.HostDevices` skips the same).
_NOT_HOST_DEVICES = {"pts", "shm", "mqueue", "fd", "console", "ptmx", ".lxc", ".udev"}


def host_device_nodes(source: str = "/dev") -> list[str]:
    """Relative paths of the character and block devices under source, symlinks not followed."""
    found = []
    for parent, dirs, files in os.walk(source):
        rel = os.path.relpath(parent, source)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in _NOT_HOST_DEVICES]
        for name in files:
            path = os.path.join(parent, name)
            if rel == "." and name in _NOT_HOST_DEVICES:
                continue
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                found.append(os.path.normpath(os.path.join(rel, name)))
    return sorted(found)
