"""Mounts and the container root: bind, overlay, tmpfs, remount read-only, pivot_root.

Everything here runs inside the container's own mount namespace (after unshare(CLONE_NEWNS))
except the emptyDir tmpfs, which is mounted on the host. Order rules:
  1. make / recursively private first, so nothing we mount propagates back to the host
     (runc `rootfs_linux.go` `prepareRoot`);
  2. mount the overlay on the new root, then everything else *inside* it;
  3. create missing mount targets without ever following a symlink out of the new root
     (`secure_join`, as github.com/cyphar/filepath-securejoin does for runc);
  4. pivot_root(".", ".") then umount2(".", MNT_DETACH): the old root is stacked under the new
     one and lazily detached, no put_old directory needed (runc `pivotRoot`).
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from podrun.errors import MountError
from podrun.kernel import syscalls as sc

__all__ = ["Mount", "mount", "bind", "remount_ro", "make_rprivate", "pivot_into", "unmount",
           "secure_join", "ensure_target", "is_mountpoint", "mountpoints_under"]


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


def bind(source: str, target: str, readonly: bool = False, recursive: bool = True,
         syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Bind source on target; read-only needs a second, remount call (bind ignores MS_RDONLY)."""
    flags = sc.MS_BIND | (sc.MS_REC if recursive else 0)
    syscalls.mount(source, target, None, flags, None)
    if readonly:
        remount_ro(target, syscalls)


# statvfs f_flag bits that are also mount flags and must be kept on remount (runc
# `getUnprivilegedMountFlags`: a remount that drops a locked flag fails with EPERM).
_KEEP = {os.ST_NOSUID: sc.MS_NOSUID, os.ST_NODEV: sc.MS_NODEV, os.ST_NOEXEC: sc.MS_NOEXEC,
         os.ST_NOATIME: sc.MS_NOATIME, os.ST_NODIRATIME: sc.MS_NODIRATIME,
         os.ST_RELATIME: sc.MS_RELATIME}


def remount_ro(target: str, syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Make an existing bind mount read-only, keeping its other flags."""
    keep = 0
    try:
        f_flag = os.statvfs(target).f_flag
        keep = sum(ms for st, ms in _KEEP.items() if f_flag & st)
    except OSError:
        pass
    syscalls.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | keep, None)


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


def secure_join(root: str, path: str) -> str:
    """root + path with every symlink resolved as if root were "/": the result never leaves root.

    Existing components are resolved (absolute links restart at root, ".." stops at root);
    missing components are appended as they are. Like filepath-securejoin's SecureJoin.
    """
    root = os.path.abspath(root)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        current = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(current)
        except OSError:  # not a link, or missing: take the name as is
            resolved.append(part)
            continue
        links += 1
        if links > 255:
            raise MountError("resolve", os.path.join(root, path.lstrip("/")), errno.ELOOP)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return os.path.join(root, *resolved)


def ensure_target(root: str, path: str, is_file: bool) -> str:
    """Resolve path inside root safely and create it (mkdir -p, or touch for a file bind)."""
    full = secure_join(root, path)
    if os.path.lexists(full):
        return full
    parent = os.path.dirname(full) if is_file else full
    try:
        os.makedirs(parent, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise MountError("mkdir", parent, exc.errno or 0) from exc
    if is_file:
        try:
            os.close(os.open(full, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
        except OSError as exc:
            raise MountError("create", full, exc.errno or 0) from exc
    return full


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
