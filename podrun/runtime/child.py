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

The seccomp filter (compiled by the daemon, exec'd commands get the container's) is loaded at 6
before the capability drop when there is no no_new_privs (the kernel then wants CAP_SYS_ADMIN),
else at 7 right before execve (runc `standard_init_linux.go`): as few syscalls as can be after it.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import termios
from typing import Iterator, NoReturn

from podrun.errors import CgroupError, MountError
from podrun.kernel import capabilities, fspath, mounts, namespaces, procs, rlimits, seccomp
from podrun.kernel import syscalls as sc
from podrun.kernel.cgroupfs import mount_view
from podrun.runtime import sync
from podrun.runtime.plan import (DEFAULT_PATH, Bind, Devpts, HostDevices, LaunchPlan, MakeDir, MakeFile,
                                 MaskPath, Overlay, Proc, ReadonlyPath, RemountRO, SetupOp, Symlink,
                                 Sysfs, Tmpfs, Cgroupfs)

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
        if plan.seccomp is not None and not plan.no_new_privs:
            step = "seccomp"  # runc: without no_new_privs loading needs CAP_SYS_ADMIN, so before the drop
            seccomp.load(plan.seccomp)
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
        if plan.seccomp is not None and plan.no_new_privs:
            step = "seccomp"  # runc: as close to execve as it can be
            seccomp.load(plan.seccomp)
            step = "exec"
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
    """Execute one SetupOp inside `root` (bubblewrap `setup_newroot`'s switch).

    Every path inside the root is opened by fd, never followed out of it, and mounted as
    /proc/self/fd/N (kernel/fspath.py); the root itself is opened per op, after the overlay is
    on it.
    """
    if isinstance(op, Overlay):  # on the daemon's own instance directory, not in the root
        syscalls.mount("overlay", op.target, "overlay", op.flags,
                       f"lowerdir={op.lower},upperdir={op.upper},workdir={op.work}")
        return
    root_fd = fspath.open_host(root, directory=True)
    try:
        _apply_in_root(op, root_fd, syscalls)
    except OSError as exc:  # from the fd walk, which knows only a component: name the op's path
        where = getattr(op, "target", None) or getattr(op, "path", "")
        raise MountError("open in root", root.rstrip("/") + "/" + where.lstrip("/"), exc.errno or 0) from exc
    finally:
        os.close(root_fd)


def _apply_in_root(op: SetupOp, root_fd: int, syscalls: sc.Syscalls) -> None:
    match op:
        case Proc(target=target):
            _mount_fs(root_fd, target, "proc", "proc", _PROC_FLAGS, None, syscalls)
        case Sysfs(target=target, readonly=ro):
            try:
                _mount_fs(root_fd, target, "sysfs", "sysfs", _PROC_FLAGS | (sc.MS_RDONLY if ro else 0),
                          None, syscalls)
            except MountError:  # e.g. EPERM without our own net ns: runc falls back to rbind
                _bind_host("/sys", root_fd, target, recursive=True,
                           add_flags=sc.MS_RDONLY if ro else 0, syscalls=syscalls)
        case Tmpfs():
            _mount_fs(root_fd, op.target, "tmpfs", "tmpfs", op.flags, _tmpfs_data(op), syscalls)
        case Devpts(target=target):
            _mount_fs(root_fd, target, "devpts", "devpts", sc.MS_NOSUID | sc.MS_NOEXEC,
                      "newinstance,ptmxmode=0666,mode=0620", syscalls)
        case Symlink(link_target=link_target, path=path):
            path = os.path.normpath("/" + path)
            with _opened(fspath.make_in_root(root_fd, os.path.dirname(path), False)) as parent:
                name = os.path.basename(path)
                try:
                    same = os.readlink(name, dir_fd=parent) == link_target
                except OSError:
                    same = False
                if not same:
                    os.symlink(link_target, name, dir_fd=parent)
        case MakeDir(path=path, mode=mode):
            with _opened(fspath.make_in_root(root_fd, path, False)) as fd:
                os.chmod(fspath.proc_path(fd), mode)
        case MakeFile(path=path, mode=mode):
            with _opened(fspath.make_in_root(root_fd, path, True)) as fd:
                os.chmod(fspath.proc_path(fd), mode)
        case Bind():
            _bind(op, root_fd, syscalls)
        case RemountRO(target=target):
            with _opened(fspath.open_in_root(root_fd, target)) as fd:
                mounts.remount_ro(fspath.proc_path(fd), syscalls)
        case MaskPath(target=target):
            _mask(root_fd, target, syscalls)
        case ReadonlyPath(target=target):
            try:
                fd = fspath.open_in_root(root_fd, target)
            except FileNotFoundError:
                return
            with _opened(fd):
                mounts.bind_into(fd, root_fd, target, recursive=True, add_flags=sc.MS_RDONLY,
                                 syscalls=syscalls)
        case HostDevices(target=target, source=source):
            for node in host_device_nodes(source):
                _bind_host(os.path.join(source, node), root_fd, os.path.join(target, node),
                           recursive=False, add_flags=0, syscalls=syscalls)
        case Cgroupfs(target=target, hierarchies=hierarchies, readonly=ro):
            # resolved by fd inside the root like every other target; the view then works on the
            # path that fd names: it lies in the fresh /sys of a root only this child can reach
            with _opened(fspath.make_in_root(root_fd, target, False)) as fd:
                mount_view(os.readlink(fspath.proc_path(fd)), hierarchies, ro, syscalls)
        case _:
            raise TypeError(f"unknown setup op {op!r}")


@contextlib.contextmanager
def _opened(fd: int) -> Iterator[int]:
    try:
        yield fd
    finally:
        os.close(fd)


def _mount_fs(root_fd: int, target: str, source: str, fstype: str, flags: int, data: str | None,
              syscalls: sc.Syscalls) -> None:
    """A new filesystem (proc, tmpfs, …) on target inside the root, made when missing."""
    with _opened(fspath.make_in_root(root_fd, target, False)) as dest:
        syscalls.mount(source, fspath.proc_path(dest), fstype, flags, data)


def _bind_host(source: str, root_fd: int, target: str, recursive: bool, add_flags: int,
               syscalls: sc.Syscalls) -> None:
    with _opened(_open_source(source)) as src:
        mounts.bind_into(src, root_fd, target, recursive=recursive, add_flags=add_flags,
                         syscalls=syscalls)


def _open_source(source: str, directory: bool = False) -> int:
    try:
        return fspath.open_host(source, directory)
    except OSError as exc:
        raise MountError("bind", source, exc.errno or 0) from exc


def _bind(op: Bind, root_fd: int, syscalls: sc.Syscalls) -> None:
    try:
        src = _open_source(op.source, directory=bool(op.subpath))
    except MountError as exc:
        if op.allow_missing and exc.errno == errno.ENOENT:
            return
        raise
    if op.subpath:
        with _opened(src) as volume:
            src = _open_subpath(volume, op)
    flags = (sc.MS_RDONLY if op.readonly else 0) | (sc.MS_NODEV if op.nodev else 0)
    with _opened(src):
        mounts.bind_into(src, root_fd, op.target, recursive=op.recursive, add_flags=flags,
                         syscalls=syscalls)


def _open_subpath(volume_fd: int, op: Bind) -> int:
    """The subPath below the volume, made when missing with the volume's mode (kubelet
    SafeMakeDir); a symlink out of the volume fails closed with EXDEV. The daemon has already
    checked and made it (runtime/volumes.py prepare_subpaths): this is what makes it true at
    mount time too, whatever a process of the pod did in between."""
    try:
        return fspath.make_beneath(volume_fd, op.subpath, stat.S_IMODE(os.fstat(volume_fd).st_mode))
    except OSError as exc:
        raise MountError("subPath", os.path.join(op.source, op.subpath), exc.errno or 0) from exc


def _mask(root_fd: int, target: str, syscalls: sc.Syscalls) -> None:
    """runc `maskPath`: /dev/null over a file (reads return nothing, writes vanish), an empty
    read-only tmpfs over a directory; nothing when missing. The host's /dev/null: we have not
    pivoted yet."""
    try:
        fd = fspath.open_in_root(root_fd, target)
    except FileNotFoundError:
        return
    with _opened(fd):
        if fspath.is_dir(fd):
            syscalls.mount("tmpfs", fspath.proc_path(fd), "tmpfs", sc.MS_RDONLY, None)
        else:
            with _opened(_open_source("/dev/null")) as null:
                syscalls.mount(fspath.proc_path(null), fspath.proc_path(fd), None, sc.MS_BIND, None)


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
