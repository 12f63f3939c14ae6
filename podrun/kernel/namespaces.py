"""Linux namespaces: which kinds exist, where a process's live under /proc, and how to join them.

A pod's sandbox (the pause process) holds the net, ipc and uts namespaces (and pid when the pod
shares its process namespace); every container joins those and creates its own mount (and pid)
namespace. Order matters when joining: open every /proc/PID/ns/* file first and only then
setns, because joining the mount or pid namespace changes what /proc/PID means afterwards
(runc `nsexec.c` `join_namespaces`; youki `namespaces.rs` `ORDERED_NAMESPACES`). The mount
namespace is joined last since it also moves our root and cwd into the target's root.
"""
from __future__ import annotations

import os
from typing import Iterable

from podrun.errors import NamespaceError
from podrun.kernel import syscalls as sc

__all__ = ["KINDS", "JOIN_ORDER", "CLONE_FLAGS", "ns_path", "ns_inode", "open_namespaces",
           "join_namespaces", "unshare", "clone_flags", "loopback_up"]

KINDS = ("net", "ipc", "uts", "pid", "mnt", "cgroup", "user")

# runc joins the user namespace specially; we never use it. mnt last: see the docstring.
JOIN_ORDER = ("cgroup", "ipc", "uts", "net", "pid", "mnt")

CLONE_FLAGS = {
    "mnt": sc.CLONE_NEWNS, "uts": sc.CLONE_NEWUTS, "ipc": sc.CLONE_NEWIPC,
    "pid": sc.CLONE_NEWPID, "net": sc.CLONE_NEWNET, "cgroup": sc.CLONE_NEWCGROUP,
    "user": sc.CLONE_NEWUSER,
}


def ns_path(pid: int, kind: str) -> str:
    """/proc/PID/ns/KIND; the pid namespace a process lives in is `pid` (not pid_for_children)."""
    return f"/proc/{pid}/ns/{kind}"


def ns_inode(path: str) -> int:
    """The namespace's identity: two processes share a namespace iff these inodes are equal."""
    try:
        return os.stat(path).st_ino
    except OSError as exc:
        raise NamespaceError("stat namespace", path, exc.errno or 0) from exc


def clone_flags(kinds: Iterable[str]) -> int:
    flags = 0
    for kind in kinds:
        flags |= CLONE_FLAGS[kind]
    return flags


def open_namespaces(paths: dict[str, str]) -> list[tuple[str, int, str]]:
    """Open every namespace file first (runc order), returned as (kind, fd, path) in JOIN_ORDER.

    On failure every fd opened so far is closed and a NamespaceError names the path.
    """
    opened: list[tuple[str, int, str]] = []
    try:
        for kind in sorted(paths, key=lambda k: JOIN_ORDER.index(k) if k in JOIN_ORDER else 99):
            path = paths[kind]
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise NamespaceError("open namespace", path, exc.errno or 0) from exc
            opened.append((kind, fd, path))
    except BaseException:
        for _, fd, _ in opened:
            os.close(fd)
        raise
    return opened


def join_namespaces(opened: list[tuple[str, int, str]], syscalls: sc.Syscalls = sc.LINUX) -> None:
    """setns into each opened namespace in order, closing each fd once joined."""
    try:
        for kind, fd, path in opened:
            syscalls.setns(fd, CLONE_FLAGS[kind], f"{kind} namespace {path}")
    finally:
        for _, fd, _ in opened:
            try:
                os.close(fd)
            except OSError:
                pass


def unshare(kinds: Iterable[str], syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Create new namespaces of these kinds for the caller (pid: for its next children)."""
    flags = clone_flags(kinds)
    if flags:
        syscalls.unshare(flags)


_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def loopback_up() -> None:
    """Bring `lo` up in the caller's (fresh) network namespace, stdlib only (safe after fork).

    A new network namespace starts with lo down; pods expect localhost to work.
    """
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            ifr = fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, struct.pack("16sH14x", b"lo", 0))
            flags = struct.unpack("16sH14x", ifr)[1]
            fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))
        except OSError as exc:
            raise NamespaceError("set link up", "lo", exc.errno or 0) from exc
