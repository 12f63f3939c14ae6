"""The one seam for raw system calls: libc through ctypes, nothing else in podrun uses ctypes.

Python 3.11 has no os.unshare / os.setns, and mount(2), umount2(2), pivot_root(2) and
sethostname(2) were never in the os module, so they are called here with use_errno=True and
every failure becomes a KernelError subclass naming the operation, the object and the errno
(`mount overlay on /x/merged: EINVAL`).

Callers take a `Syscalls` object so that setup logic can be tested without root against
`RecordingSyscalls`, which only records what would have been done, in order
(youki `syscall/syscall.rs` `Syscall` trait + `syscall/test.rs` `TestHelperSyscall`).
The module-level functions use the real implementation (`LINUX`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from typing import Protocol

from podrun.errors import KernelError, MountError, NamespaceError

__all__ = [
    "CLONE_NEWNS", "CLONE_NEWUTS", "CLONE_NEWIPC", "CLONE_NEWPID", "CLONE_NEWNET",
    "CLONE_NEWUSER", "CLONE_NEWCGROUP",
    "MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_REMOUNT", "MS_BIND", "MS_REC",
    "MS_PRIVATE", "MS_SLAVE", "MS_RELATIME", "MS_NOATIME", "MS_NODIRATIME", "MS_STRICTATIME",
    "MNT_DETACH", "MNT_FORCE",
    "Syscalls", "LinuxSyscalls", "RecordingSyscalls", "LINUX",
    "unshare", "setns", "mount", "umount2", "pivot_root", "sethostname", "seccomp_set_filter",
]

# <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# <sys/mount.h>
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_FORCE = 1
MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.restype = ctypes.c_long
_SYS_pivot_root = 155  # x86_64; glibc has no pivot_root wrapper
_SYS_seccomp = 317     # glibc has no seccomp wrapper either
if os.uname().machine == "aarch64":
    _SYS_pivot_root = 41
    _SYS_seccomp = 277
_SECCOMP_SET_MODE_FILTER = 1

_NS_NAMES = {
    CLONE_NEWNS: "mnt", CLONE_NEWUTS: "uts", CLONE_NEWIPC: "ipc", CLONE_NEWPID: "pid",
    CLONE_NEWNET: "net", CLONE_NEWUSER: "user", CLONE_NEWCGROUP: "cgroup",
}


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _shown(path: str | None) -> str | None:
    """What a /proc/self/fd/N argument stands for (kernel/fspath.py mounts by fd), so errors
    and records name the real path instead of a descriptor number."""
    if path and path.startswith("/proc/self/fd/"):
        try:
            return os.readlink(path)
        except OSError:
            pass
    return path


def _flag_names(flags: int) -> str:
    return "|".join(n for f, n in _NS_NAMES.items() if flags & f) or hex(flags)


class Syscalls(Protocol):
    """What the kernel layer needs from libc; LinuxSyscalls does it, RecordingSyscalls records it."""

    mounts_for_real: bool  # False: nothing is mounted, so there is no mount to check afterwards

    def unshare(self, flags: int) -> None: ...
    def setns(self, fd: int, nstype: int, target: str = "") -> None: ...
    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None) -> None: ...
    def umount2(self, target: str, flags: int = 0) -> None: ...
    def pivot_root(self, new_root: str, put_old: str) -> None: ...
    def sethostname(self, name: str) -> None: ...


class LinuxSyscalls:
    """The real thing: each call raises a KernelError subclass on failure."""

    mounts_for_real = True

    def unshare(self, flags: int) -> None:
        if _libc.unshare(flags) != 0:
            raise NamespaceError("unshare", _flag_names(flags), ctypes.get_errno())

    def setns(self, fd: int, nstype: int, target: str = "") -> None:
        if _libc.setns(fd, nstype) != 0:
            raise NamespaceError("setns", target or _flag_names(nstype), ctypes.get_errno())

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None) -> None:
        if _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
            err = ctypes.get_errno()
            raise MountError(f"mount {_describe(_shown(source), fstype, flags)} on", _shown(target) or "", err)

    def umount2(self, target: str, flags: int = 0) -> None:
        if _libc.umount2(_b(target), flags) != 0:
            raise MountError("umount", target, ctypes.get_errno())

    def pivot_root(self, new_root: str, put_old: str) -> None:
        res = _libc.syscall(ctypes.c_long(_SYS_pivot_root), ctypes.c_char_p(_b(new_root)),
                            ctypes.c_char_p(_b(put_old)))
        if res != 0:
            raise MountError("pivot_root", new_root, ctypes.get_errno())

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        if _libc.sethostname(raw, len(raw)) != 0:
            raise KernelError("sethostname", name, ctypes.get_errno())


def _describe(source: str | None, fstype: str | None, flags: int) -> str:
    """The word in `mount X on /target`: the fs type, or bind/remount/propagation."""
    if flags & MS_REMOUNT:
        return "remount"
    if flags & MS_BIND:
        return f"bind {source}"
    if flags & (MS_PRIVATE | MS_SLAVE):
        return "propagation"
    return fstype or str(source)


@dataclass
class RecordingSyscalls:
    """A fake that records calls as tuples, for tests that assert "these mounts, in this order";
    a /proc/self/fd/N argument is recorded as the path it stands for."""

    calls: list[tuple] = field(default_factory=list)
    mounts_for_real = False

    def unshare(self, flags: int) -> None:
        self.calls.append(("unshare", flags))

    def setns(self, fd: int, nstype: int, target: str = "") -> None:
        self.calls.append(("setns", target, nstype))

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None) -> None:
        self.calls.append(("mount", _shown(source), _shown(target), fstype, flags, data))

    def umount2(self, target: str, flags: int = 0) -> None:
        self.calls.append(("umount2", target, flags))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self.calls.append(("pivot_root", new_root, put_old))

    def sethostname(self, name: str) -> None:
        self.calls.append(("sethostname", name))

    def mounts(self) -> list[tuple]:
        return [c for c in self.calls if c[0] == "mount"]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]  # <linux/filter.h>


def seccomp_set_filter(program: bytes, flags: int = 0) -> None:
    """seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): install a compiled classic-BPF program
    (struct sock_filter[], 8 bytes each) on this thread and every child it will have."""
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if _libc.syscall(ctypes.c_long(_SYS_seccomp), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                     ctypes.c_long(flags), ctypes.byref(prog)) != 0:
        raise KernelError("seccomp", "filter", ctypes.get_errno())


LINUX = LinuxSyscalls()
unshare = LINUX.unshare
setns = LINUX.setns
mount = LINUX.mount
umount2 = LINUX.umount2
pivot_root = LINUX.pivot_root
sethostname = LINUX.sethostname
