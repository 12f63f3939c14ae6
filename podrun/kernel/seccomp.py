"""Seccomp filters: an OCI profile compiled to BPF once, loaded by the child just before execve.

A profile is the runtime-spec's `linux.seccomp` object, the JSON that Docker, containerd and
runc read (`defaultAction`, `defaultErrnoRet`, `architectures`, `flags`, and `syscalls`, each
`{names, action, errnoRet, args: [{index, value, valueTwo, op}]}`). `compile()` builds it with
libseccomp (through pyseccomp, a ctypes binding of the system's libseccomp.so.2) and exports the
classic-BPF program, so the work is done once in the daemon; `load()` installs the bytes in the
child with one seccomp(2) call and needs neither libseccomp nor any allocation worth the name.

The rules are runc's (`libcontainer/seccomp/seccomp_linux.go` InitSeccomp + specconv):
  - SCMP_ACT_ERRNO and SCMP_ACT_TRACE return `errnoRet` (`defaultErrnoRet` for the default
    action), EPERM when unset; SCMP_ACT_KILL kills the thread;
  - a syscall name libseccomp does not know is skipped (the profile may be newer than it);
  - a rule whose action is the default action is skipped (libseccomp refuses it);
  - conditions on distinct arguments are ANDed in one rule; when one argument index appears
    twice, each condition becomes a rule of its own (so they OR);
  - the native architecture is always in the filter, `architectures` adds the others.
SCMP_ACT_NOTIFY needs a listener agent, which podrun has not: such a profile is refused.

Knows nothing of Kubernetes: which profile a container gets is runtime/security.py's business.
"""
from __future__ import annotations

import base64
import errno
import functools
import json
import os
from dataclasses import dataclass
from typing import Any

from podrun.errors import KernelError
from podrun.kernel import syscalls

__all__ = ["Filter", "ProfileError", "compile", "load", "mode", "FILTER_FLAGS"]

# <linux/seccomp.h> SECCOMP_FILTER_FLAG_*, as named in the runtime-spec's `flags`.
FILTER_FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
}
_OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
        "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
_MAX_ARGS = 6


class ProfileError(ValueError):
    """The profile cannot be compiled: an unknown action, architecture, operator or flag."""


@dataclass(frozen=True)
class Filter:
    """A compiled filter: struct sock_filter[] (8 bytes an instruction) and the load flags."""

    program: bytes
    flags: int = 0

    @property
    def instructions(self) -> int:
        return len(self.program) // 8

    def to_dict(self) -> dict[str, Any]:
        return {"program": base64.b64encode(self.program).decode(), "flags": self.flags}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Filter | None":
        if not d:
            return None
        return cls(base64.b64decode(d["program"]), int(d.get("flags", 0)))


def _action(lib: Any, name: Any, errno_ret: Any) -> int:
    ret = errno.EPERM if errno_ret is None else int(errno_ret)
    simple = {"SCMP_ACT_KILL": lib.KILL, "SCMP_ACT_KILL_THREAD": lib.KILL,
              "SCMP_ACT_KILL_PROCESS": lib.KILL_PROCESS, "SCMP_ACT_TRAP": lib.TRAP,
              "SCMP_ACT_ALLOW": lib.ALLOW, "SCMP_ACT_LOG": lib.LOG}
    if name in simple:
        return simple[name]
    if name == "SCMP_ACT_ERRNO":
        return lib.ERRNO(ret)
    if name == "SCMP_ACT_TRACE":
        return lib.TRACE(ret)
    if name == "SCMP_ACT_NOTIFY":
        raise ProfileError("seccomp action SCMP_ACT_NOTIFY needs a listener, which podrun does not provide")
    raise ProfileError(f"invalid seccomp action {name!r}")


def _arch(lib: Any, name: Any) -> int:
    """SCMP_ARCH_X86_64 -> libseccomp's token for it."""
    short = str(name).removeprefix("SCMP_ARCH_")
    arch = getattr(lib.Arch, short, None) if short != str(name) and short != "NATIVE" else None
    if arch is None:
        raise ProfileError(f"invalid seccomp architecture {name!r}")
    return arch


def _conditions(lib: Any, args: list[dict]) -> list[list[Any]]:
    """The condition sets, one per rule (runc: a repeated index splits them into single rules)."""
    conds = []
    for a in args:
        op = _OPS.get(a.get("op"))
        index = int(a.get("index", 0))
        if op is None:
            raise ProfileError(f"invalid seccomp operator {a.get('op')!r}")
        if not 0 <= index < _MAX_ARGS:
            raise ProfileError(f"invalid seccomp argument index {index}")
        conds.append((index, lib.Arg(index, op, int(a.get("value", 0)), int(a.get("valueTwo", 0)))))
    indexes = [i for i, _ in conds]
    if len(set(indexes)) < len(indexes):
        return [[c] for _, c in conds]
    return [[c for _, c in conds]]


def _flags(profile: dict) -> int:
    flags = 0
    for name in profile.get("flags") or []:
        if name not in FILTER_FLAGS:
            raise ProfileError(f"invalid seccomp flag {name!r}")
        flags |= FILTER_FLAGS[name]
    return flags


def _export(flt: Any) -> bytes:
    fd = os.memfd_create("podrun-seccomp", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as f:
            flt.export_bpf(f)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _build(profile: dict) -> Filter:
    import pyseccomp as lib  # the daemon's side only: the child loads bytes
    default = _action(lib, profile.get("defaultAction"), profile.get("defaultErrnoRet"))
    flt = lib.SyscallFilter(default)
    for name in profile.get("architectures") or []:
        arch = _arch(lib, name)
        if not flt.exist_arch(arch):
            flt.add_arch(arch)
    for rule in profile.get("syscalls") or []:
        action = _action(lib, rule.get("action"), rule.get("errnoRet"))
        if action == default:
            continue
        names = list(rule.get("names") or []) + ([rule["name"]] if rule.get("name") else [])
        condition_sets = _conditions(lib, rule.get("args") or [])
        for name in names:
            number = lib.resolve_syscall(lib.Arch.NATIVE, str(name))
            if number == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp
                continue
            for conds in condition_sets:
                try:
                    flt.add_rule(action, number, *conds)
                except OSError as exc:
                    raise ProfileError(f"seccomp rule for {name}: {exc.strerror}") from exc
    return Filter(_export(flt), _flags(profile))


@functools.lru_cache(maxsize=64)
def _compile_cached(text: str) -> Filter:
    return _build(json.loads(text))


def compile(profile: dict) -> Filter:  # noqa: A001 - the word libseccomp and runc use
    """The profile's BPF program; the same profile is compiled once per process."""
    if not isinstance(profile, dict):
        raise ProfileError("a seccomp profile is a JSON object")
    try:
        return _compile_cached(json.dumps(profile, sort_keys=True))
    except ProfileError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type
        raise ProfileError(f"invalid seccomp profile: {exc}") from exc


def load(flt: Filter) -> None:
    """Install the filter on the calling process (inherited by every child and kept across
    execve). Without CAP_SYS_ADMIN the kernel requires no_new_privs to be set first."""
    syscalls.seccomp_set_filter(flt.program, flt.flags)


def mode(pid: int | str = "self") -> int:
    """The Seccomp: field of /proc/PID/status: 0 none, 1 strict, 2 filter."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except OSError as exc:
        raise KernelError("read", f"/proc/{pid}/status", exc.errno or 0) from exc
    return 0
