"""Paths opened one component at a time, as O_PATH file descriptors the kernel never follows.

A path string checked and then used can change in between: a process of the pod that swaps a
directory for a symlink (renameat2 RENAME_EXCHANGE) between the check and mount(2) makes the
mount follow the symlink out of the volume or the container root (CVE-2017-1002101,
CVE-2021-30465). So the mount code holds file descriptors instead and mounts
`/proc/self/fd/N` (runc `utils.WithProcfd` / `mountViaFds`; kubelet `doSafeOpen`, which mounts
`/proc/<kubelet pid>/fd/N`).

Each component is opened with openat(dirfd, name, O_PATH | O_NOFOLLOW) relative to the fd of
its parent, so the kernel never follows a symlink: a symlink met on the way is read
(readlinkat on its own fd, never by name again) and its text resolved by us,
  - in a root (`in_root`): as if that directory were "/" — an absolute target restarts at the
    root and ".." stops there (openat2's RESOLVE_IN_ROOT, filepath-securejoin's SecureJoin):
    container mount targets;
  - beneath a base (`beneath`): ".." above the base, or an absolute target that is not the
    base's own path or below it, is an escape and fails with EXDEV (openat2's RESOLVE_BENEATH):
    subPath inside its volume, where the kubelet refuses rather than clamps.
Magic links (/proc/self/root…) are only text here, so they never lead out either
(RESOLVE_NO_MAGICLINKS). Missing components are made with mkdirat relative to the parent's fd
and opened again with O_NOFOLLOW, so a name swapped for a symlink after mkdir is refused.
"""
from __future__ import annotations

import errno
import os
import posixpath
import stat

__all__ = ["open_in_root", "make_in_root", "open_beneath", "make_beneath", "open_host",
           "proc_path", "describe", "same_file", "is_dir"]

_O_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40  # the kernel's MAXSYMLINKS


def proc_path(fd: int) -> str:
    """The magic link that names exactly what fd is: mount(2) on it cannot be redirected."""
    return f"/proc/self/fd/{fd}"


def describe(fd: int) -> str:
    """The path fd is at now, for messages only."""
    try:
        return os.readlink(proc_path(fd))
    except OSError:
        return proc_path(fd)


def open_host(path: str, directory: bool = False) -> int:
    """O_PATH fd of a host path the daemon chose (a volume's directory, /dev/null, the pod's
    hosts file); symlinks in it are followed once, here, and never again."""
    return os.open(path, os.O_PATH | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0))


def same_file(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def is_dir(fd: int) -> bool:
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def open_in_root(root_fd: int, path: str) -> int:
    """O_PATH fd of path inside root_fd, symlinks resolved as if root_fd were "/"."""
    return _open(root_fd, path, beneath=False, create=None)


def make_in_root(root_fd: int, path: str, is_file: bool, mode: int = 0o755) -> int:
    """open_in_root, creating what is missing: directories (mode, umask applies), and the last
    component as an empty file (0644) when is_file."""
    return _open(root_fd, path, beneath=False, create="file" if is_file else "dir", mode=mode)


def open_beneath(base_fd: int, path: str) -> int:
    """O_PATH fd of path below base_fd; leaving it (absolute symlink, ".." past it) is EXDEV."""
    return _open(base_fd, path, beneath=True, create=None)


def make_beneath(base_fd: int, path: str, mode: int) -> int:
    """open_beneath, creating missing directories with exactly `mode` (kubelet SafeMakeDir
    chmods each one it made, so umask does not apply)."""
    return _open(base_fd, path, beneath=True, create="dir", mode=mode, exact_mode=True)


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def _open(top: int, path: str, beneath: bool, create: str | None, mode: int = 0o755,
          exact_mode: bool = False) -> int:
    fd, missing = _walk(top, path, beneath)
    if not missing:
        return fd
    try:
        if create is None or ".." in missing:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return _create(fd, missing, create == "file", mode, exact_mode)
    finally:
        os.close(fd)


def _walk(top: int, path: str, beneath: bool) -> tuple[int, list[str]]:
    """Follow path from top; returns (an fd we own, the components not found) — the fd is the
    whole path when nothing is missing, else the deepest existing directory."""
    parts = _split(posixpath.normpath("/" + path)) if not beneath else _split(path)
    chain = [os.dup(top)]          # the directories walked so far; chain[0] is top
    links = 0
    try:
        while parts:
            part = parts.pop(0)
            if part == "..":
                if len(chain) > 1:
                    os.close(chain.pop())
                elif beneath:
                    raise OSError(errno.EXDEV, "path escapes its base", path)
                continue
            try:
                fd = os.open(part, _O_PATH, dir_fd=chain[-1])
            except FileNotFoundError:
                return chain.pop(), [part, *parts]
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                chain.append(fd)
                continue
            try:
                target = os.readlink("", dir_fd=fd)  # the link we hold, not the name again
            finally:
                os.close(fd)
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            if target.startswith("/"):
                if beneath:
                    target = _below(top, target, path)
                while len(chain) > 1:
                    os.close(chain.pop())
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
        return chain.pop(), []
    finally:
        for fd in chain:
            os.close(fd)


def _below(base: int, target: str, path: str) -> str:
    """An absolute link target beneath base, as a path relative to it (the kubelet accepts a
    link whose resolved path is within the volume: subpath_linux.go doBindSubPath); anything
    else is EXDEV. The walk restarts from the base fd, never from this string."""
    base_path = describe(base).rstrip("/")
    target = posixpath.normpath(target)
    if target != base_path and not target.startswith(base_path + "/"):
        raise OSError(errno.EXDEV, "path escapes its base", path)
    return target[len(base_path):]


def _create(parent: int, missing: list[str], is_file: bool, mode: int, exact_mode: bool) -> int:
    """Make missing below parent, one component at a time; returns the O_PATH fd of the last."""
    cur = os.dup(parent)
    try:
        for i, part in enumerate(missing):
            last = i == len(missing) - 1
            if last and is_file:
                os.close(os.open(part, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                 0o644, dir_fd=cur))
                nxt = os.open(part, _O_PATH, dir_fd=cur)
                if stat.S_ISLNK(os.fstat(nxt).st_mode):
                    os.close(nxt)
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), part)
            else:
                try:
                    os.mkdir(part, mode, dir_fd=cur)
                except FileExistsError:
                    pass
                # O_DIRECTORY with O_PATH|O_NOFOLLOW: a symlink put there since is ENOTDIR
                nxt = os.open(part, _O_PATH | os.O_DIRECTORY, dir_fd=cur)
                if exact_mode:
                    os.chmod(proc_path(nxt), mode)
            os.close(cur)
            cur = nxt
        return cur
    except BaseException:
        os.close(cur)
        raise
