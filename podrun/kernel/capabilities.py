"""Capabilities: what root inside a container may still ask of the host's kernel.

A container's root is the host kernel's uid 0; what stops it from loading modules, mounting,
setting the clock or rebooting is its capability sets (capabilities(7)) and no_new_privs. The
child confines itself in this order, between pivot_root and execve (runc
`libcontainer/capabilities` + `finalizeNamespace`, containerd's CVE-2022-24769 fix):

  1. `drop_bounding(keep)`: PR_CAPBSET_DROP every capability not kept. It needs CAP_SETPCAP,
     so it comes while we are still full root; and it is what really binds root, because on
     execve root's new permitted set is its bounding set (plus inheritable, cleared next);
  2. `clear_inheritable()`: inheritable empty, and with it ambient, which the kernel keeps a
     subset of permitted ∩ inheritable: nothing rides an execve on inheritable file caps;
  3. setgroups/setgid/setuid (the caller): for a non-root uid the kernel clears permitted and
     effective here and again at execve, so a non-root container runs with no capability;
  4. `set_permitted_effective(keep)` for uid 0: the live sets match the bounding set;
  5. `set_no_new_privs()` last: setuid binaries and file capabilities grant nothing after it.

Names are the kernel's ("CAP_CHOWN"); numbers are ABI (<linux/capability.h>) kept here as a
table so that python-prctl's naming (it calls 40 "last_cap") stays out of podrun. The calls go
through python-prctl; the ambient set needs no call of its own (step 2).
"""
from __future__ import annotations

import functools

import prctl

from podrun.errors import KernelError

__all__ = ["NAMES", "number", "known", "current", "mask", "names_in_mask", "drop_bounding",
           "clear_inheritable", "set_permitted_effective", "set_no_new_privs"]

# Index = capability number, <linux/capability.h> (Linux 5.9 added 40).
NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
_NUMBERS = {name: i for i, name in enumerate(NAMES)}


def number(name: str) -> int:
    """CAP_NET_ADMIN -> 12; KeyError for a name this table does not know."""
    return _NUMBERS[name]


@functools.lru_cache(maxsize=1)
def _last_cap(path: str = "/proc/sys/kernel/cap_last_cap") -> int:
    try:
        with open(path) as f:
            return min(int(f.read()), len(NAMES) - 1)
    except (OSError, ValueError):
        return len(NAMES) - 1


def known() -> list[str]:
    """Every capability the running kernel knows (0 … /proc/sys/kernel/cap_last_cap)."""
    return list(NAMES[: _last_cap() + 1])


def names_in_mask(bits: int) -> list[str]:
    """The known names whose bit is set, in number order."""
    return [name for name in known() if bits >> number(name) & 1]


def mask(names: list[str] | tuple[str, ...]) -> int:
    """The bit mask of names, as /proc/PID/status prints it in hex (CapEff, CapBnd …)."""
    return sum(1 << number(n) for n in set(names))


def current(status: str = "/proc/self/status") -> list[str]:
    """The capabilities this process holds (its CapEff): what `privileged` and `add: [ALL]`
    give, since a child can be granted no more (containerd `pkg/cap.Current`)."""
    with open(status) as f:
        for line in f:
            if line.startswith("CapEff:"):
                return names_in_mask(int(line.split()[1], 16))
    return []


def _fail(op: str, target: str, exc: OSError) -> KernelError:
    return KernelError(op, target, exc.errno or 0)


def drop_bounding(keep: list[str]) -> None:
    """Step 1: remove from the bounding set every known capability not in keep."""
    kept = {number(n) for n in keep}
    for cap in range(_last_cap() + 1):
        if cap in kept:
            continue
        try:
            prctl.capbset_drop(cap)
        except OSError as exc:
            raise _fail("capbset drop", NAMES[cap], exc) from exc


def clear_inheritable() -> None:
    """Step 2: inheritable (and so ambient) empty."""
    try:
        prctl.set_caps((list(range(_last_cap() + 1)), prctl.CAP_INHERITABLE, False))
    except OSError as exc:
        raise _fail("capset", "inheritable", exc) from exc


def set_permitted_effective(keep: list[str]) -> None:
    """Step 4 (uid 0): permitted = effective = keep, in one capset."""
    kept = sorted({number(n) for n in keep})
    dropped = [cap for cap in range(_last_cap() + 1) if cap not in kept]
    flags = [prctl.CAP_PERMITTED, prctl.CAP_EFFECTIVE]
    try:
        prctl.set_caps((kept, flags, True), (dropped, flags, False))
    except OSError as exc:
        raise _fail("capset", "permitted,effective", exc) from exc


def set_no_new_privs() -> None:
    """Step 5: PR_SET_NO_NEW_PRIVS, inherited by every descendant and irreversible."""
    try:
        prctl.set_no_new_privs(1)
    except OSError as exc:
        raise _fail("prctl", "no_new_privs", exc) from exc
