"""The exception tree of podrun. Every error a user can see is a PodrunError.

    PodrunError
    ├── InvalidManifest(file, doc, field_path, reason)   bad input, caught before anything starts
    ├── NotFound                                          no such pod / image / container
    ├── AlreadyExists
    ├── Conflict                                          e.g. a changed spec of an existing pod
    ├── DaemonUnavailable                                 the CLI cannot reach or start the daemon
    ├── KernelError(op, target, errno)                    a failed system call, named
    │   ├── MountError
    │   ├── NamespaceError
    │   ├── CgroupError
    │   └── NetworkError
    ├── ContainerCreateError(step, op, target, errno)     the container child failed before exec
    ├── ImageError                                        bad image store content or archive
    └── IllegalTransition(from, to)                       a bug: a container state edge not allowed
"""
from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "PodrunError", "InvalidManifest", "NotFound", "AlreadyExists", "Conflict",
    "DaemonUnavailable", "KernelError", "MountError", "NamespaceError", "CgroupError",
    "NetworkError", "ContainerCreateError", "ImageError", "IllegalTransition", "errno_name",
]


def errno_name(err: int) -> str:
    """EINVAL for 22; the number itself when unknown."""
    return _errno.errorcode.get(err, str(err))


class PodrunError(Exception):
    """Base of every podrun error; str() is the one line shown to the user."""


class InvalidManifest(PodrunError):
    def __init__(self, file: str, doc: int, field_path: str, reason: str):
        self.file, self.doc, self.field_path, self.reason = file, doc, field_path, reason
        where = f"{file}: document {doc}"
        super().__init__(f"{where}: {field_path}: {reason}" if field_path else f"{where}: {reason}")


class NotFound(PodrunError):
    pass


class AlreadyExists(PodrunError):
    pass


class Conflict(PodrunError):
    pass


class DaemonUnavailable(PodrunError):
    pass


class ImageError(PodrunError):
    pass


class KernelError(PodrunError):
    """A failed kernel operation: `mount overlay on /x/rootfs: EINVAL`."""

    def __init__(self, op: str, target: str, errno: int, detail: str = ""):
        self.op, self.target, self.errno = op, target, errno
        msg = f"{op} {target}: {errno_name(errno)}" if target else f"{op}: {errno_name(errno)}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)

    @classmethod
    def from_oserror(cls, op: str, target: str, exc: OSError) -> "KernelError":
        return cls(op, target, exc.errno or 0, exc.strerror or "")


class MountError(KernelError):
    pass


class NamespaceError(KernelError):
    pass


class CgroupError(KernelError):
    pass


class NetworkError(KernelError):
    pass


class ContainerCreateError(PodrunError):
    """The container child failed at `step` doing `op` on `target`; reason CreateContainerError."""

    def __init__(self, step: str, op: str, target: str, errno: int, detail: str = ""):
        self.step, self.op, self.target, self.errno, self.detail = step, op, target, errno, detail
        text = os.strerror(errno) if errno else detail
        msg = f"{step}: {op} {target}: {errno_name(errno)}" if errno else f"{step}: {op} {target}: {detail}"
        if errno and text:
            msg += f" ({text})"
        super().__init__(msg)


class IllegalTransition(PodrunError):
    def __init__(self, from_state: str, to_state: str):
        self.from_state, self.to_state = from_state, to_state
        super().__init__(f"illegal container state transition {from_state} -> {to_state}")
