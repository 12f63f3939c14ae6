"""Mounts and the container root: bind, overlay, tmpfs, remount read-only, pivot_root.

Everything here runs inside the container's own mount namespace (after unshare(CLONE_NEWNS))
except the emptyDir tmpfs, which is mounted on the host. Order rules:
  1. make / recursively private first, so nothing we mount propagates back to the host
     (runc `rootfs_linux.go` `prepareRoot`);
  2. mount the overlay on the new root, then everything else *inside* it;
  3. every mount inside the root goes by file descriptor: the target is opened (made when
     missing) component by component without the kernel ever following a symlink
     (kernel/fspath.py), the source is an O_PATH fd, and mount(2) gets `/proc/self/fd/N` for
     both; a bind is then looked up again and must be the source, or the launch fails (runc
     `mountViaFds`, kubelet `doBindSubPath`);
  4. pivot_root(".", ".") then umount2(".", MNT_DETACH): the old root is stacked under the new
     one and lazily detached, no put_old directory needed (runc `pivotRoot`).
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from podrun.errors import MountError
from podrun.kernel import fspath
from podrun.kernel import syscalls as sc

__all__ = ["Mount", "mount", "bind_into", "remount", "remount_ro", "make_rprivate", "pivot_into",
           "unmount", "is_mountpoint", "mountpoints_under"]


@dataclass(frozen=True)
class Mount:
    """One mount(2) call as data."""

    source: str | None
    target: str
    fstype: str | None
    flags: int = 0
    data: str | None = None


def mount(m: Mount, syscalls: sc.Syscalls = sc.LINUX) -> None:
    syscalls.mount(m.source, m.target, m.fstype, m.flags, m.data)


def bind_into(source_fd: int, root_fd: int, target: str, recursive: bool = True,
              add_flags: int = 0, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Bind what source_fd is on `target` inside root_fd (made as a file or a directory like the
    source), check that the path now shows the source, then remount it with add_flags
    (MS_RDONLY, MS_NODEV: a bind ignores them, runc remounts too)."""
    dest = fspath.make_in_root(root_fd, target, is_file=not fspath.is_dir(source_fd))
    try:
        syscalls.mount(fspath.proc_path(source_fd), fspath.proc_path(dest), None,
                       sc.MS_BIND | (sc.MS_REC if recursive else 0), None)
    finally:
        os.close(dest)
    # dest is the directory under the new mount; looking the path up again reaches the mount
    landed = fspath.open_in_root(root_fd, target)
    try:
        if syscalls.mounts_for_real and not fspath.same_file(landed, source_fd):
            raise MountError("check bind on", fspath.describe(landed), errno.EXDEV)
        if add_flags:
            remount(fspath.proc_path(landed), add_flags, syscalls)
    finally:
        os.close(landed)


# statvfs f_flag bits that are also mount flags and must be repeated on a bind remount, or
# they are cleared (a locked one, EPERM: runc `getUnprivilegedMountFlags`).
_KEEP = {os.ST_RDONLY: sc.MS_RDONLY, os.ST_NOSUID: sc.MS_NOSUID, os.ST_NODEV: sc.MS_NODEV,
         os.ST_NOEXEC: sc.MS_NOEXEC, os.ST_NOATIME: sc.MS_NOATIME,
         os.ST_NODIRATIME: sc.MS_NODIRATIME, os.ST_RELATIME: sc.MS_RELATIME}


def remount(target: str, add_flags: int, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Remount an existing bind mount with add_flags on top of the flags it has."""
    try:
        f_flag = os.statvfs(target).f_flag
    except OSError:
        f_flag = 0
    keep = sum(ms for st, ms in _KEEP.items() if f_flag & st)
    syscalls.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | keep | add_flags, None)


def remount_ro(target: str, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Make an existing bind mount read-only, keeping its other flags."""
    remount(target, sc.MS_RDONLY, syscalls)


def make_rprivate(syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Stop mount propagation between this mount namespace and the host's."""
    syscalls.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE, None)


def pivot_into(new_root: str, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Make new_root (a mount point) the root; the old root is detached (runc `pivotRoot`)."""
    try:
        os.chdir(new_root)
    except OSError as exc:
        raise MountError("chdir", new_root, exc.errno or 0) from exc
    syscalls.pivot_root(".", ".")
    # The old root is now mounted on top of "."; make it private so the detach below does not
    # propagate, then lazily unmount it.
    syscalls.mount(None, ".", None, sc.MS_REC | sc.MS_SLAVE, None)
    syscalls.umount2(".", sc.MNT_DETACH)
    os.chdir("/")


def unmount(target: str, detach: bool = True, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Unmount target; EINVAL (not a mount point) and ENOENT are not errors: teardown is idempotent."""
    try:
        syscalls.umount2(target, sc.MNT_DETACH if detach else 0)
    except MountError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOENT):
            raise


def is_mountpoint(path: str) -> bool:
    return os.path.abspath(path) in mountpoints_under(os.path.abspath(path))


def mountpoints_under(prefix: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points at or below prefix, read from mountinfo (leak checks, teardown)."""
    prefix = os.path.abspath(prefix)
    out = []
    with open(mountinfo) as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
                out.append(point)
    return out
