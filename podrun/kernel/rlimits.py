"""Resource limits: the daemon's own, and the fixed set every container starts with.

The daemon raises its open-file limit at start, whatever the shell that started it had (a
`ulimit -n 256` shell took the API down with one 100-container pod): soft and hard to
DAEMON_NOFILE (the 1048576 of containerd's and docker's units until 2023), never above
fs.nr_open, never lowering what it already has.

Containers do not inherit that: each starts with CONTAINER_RLIMITS, as containerd 2.x's pods
get the systemd default its unit no longer overrides (containerd PR #8924): RLIMIT_NOFILE
1024 soft, 524288 hard. Other limits are the daemon's.
"""
from __future__ import annotations

import resource

__all__ = ["DAEMON_NOFILE", "CONTAINER_RLIMITS", "raise_daemon_nofile", "nofile_warning", "apply_container_rlimits"]

DAEMON_NOFILE = 1048576
CONTAINER_RLIMITS = ((resource.RLIMIT_NOFILE, 1024, 524288),)


def _nr_open() -> int:
    try:
        with open("/proc/sys/fs/nr_open") as f:
            return int(f.read())
    except (OSError, ValueError):
        return DAEMON_NOFILE


def raise_daemon_nofile() -> tuple[int, int]:
    """Raise this process's RLIMIT_NOFILE; returns the (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(DAEMON_NOFILE, _nr_open())
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):           # no CAP_SYS_RESOURCE: the soft limit up to the hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def nofile_warning(limits: tuple[int, int]) -> str | None:
    """What to log when the daemon is left with a low limit (a hard limit it could not raise)."""
    if limits[0] >= 4096:
        return None
    return (f"open files limit {limits[0]}:{limits[1]} could not be raised (no CAP_SYS_RESOURCE): "
            f"pods with many containers may fail to start; raise the hard limit (ulimit -Hn)")


def apply_container_rlimits() -> None:
    """In the child before exec, while it still has CAP_SYS_RESOURCE."""
    for kind, soft, hard in CONTAINER_RLIMITS:
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):       # the hard limit cannot be raised here: keep it
            cur = resource.getrlimit(kind)[1]
            resource.setrlimit(kind, (min(soft, cur), cur))
