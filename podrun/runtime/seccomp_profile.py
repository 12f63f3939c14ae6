"""The seccomp profiles a container can get: the runtime's default, or a Localhost file.

`runtime_default(capabilities)` is podrun's RuntimeDefault, written from the rules of
containerd's default (`contrib/seccomp/seccomp_default.go`, itself Docker's
`profiles/seccomp/default.json`): an allow-list with EPERM for everything else. What that leaves
out is the point: keyctl/add_key/request_key (the kernel keyring is not namespaced), kexec_load,
reboot, module loading, mount and namespace creation, bpf and perf_event_open, userfaultfd,
io_uring, the clock setters, open_by_handle_at, most personality flags, AF_ALG and AF_VSOCK
sockets. A capability the container holds gives back the syscalls it guards (the table
_BY_CAPABILITY); without CAP_SYS_ADMIN, clone may not ask for a namespace and clone3 (whose flags
sit in memory a filter cannot read) answers ENOSYS so that libc falls back to clone.

The allow-list is grouped by theme below so that it can be reviewed; the set is containerd's.

`localhost(path)` reads a Localhost profile (the runtime-spec's JSON); `filter_for()` turns the
selection made by runtime/security.py into a compiled kernel/seccomp.Filter, or None.
"""
from __future__ import annotations

import errno
import json
import os
from typing import TYPE_CHECKING

from podrun.errors import PodrunError
from podrun.kernel import seccomp
from podrun.kernel.syscalls import (CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                                    CLONE_NEWUSER, CLONE_NEWUTS)

if TYPE_CHECKING:
    from podrun.runtime.security import SeccompProfile

__all__ = ["ALLOWED", "NODE_DEFAULT_ENV", "SeccompProfileError", "runtime_default", "localhost",
           "filter_for", "node_default"]

NODE_DEFAULT_ENV = "PODRUN_SECCOMP_DEFAULT"

# The syscalls every container may make, by theme. "32"/"64"-suffixed and old-ABI names are the
# same calls on 32-bit ABIs (x86 and x32 share the filter of an x86_64 node).
ALLOWED: dict[str, tuple[str, ...]] = {
    "processes and threads": (
        "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
        "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "process_mrelease",
        "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
        "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
        "futex", "futex_time64", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake",
        "membarrier", "prctl", "capget", "capset", "seccomp", "uretprobe", "map_shadow_stack",
        "get_thread_area", "set_thread_area",
    ),
    "scheduling and priorities": (
        "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
        "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
        "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "getpriority", "setpriority", "ioprio_get", "ioprio_set",
        "getcpu",
    ),
    "user and group ids": (
        "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
        "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
        "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
        "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
        "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
    ),
    "signals": (
        "rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
        "sigaltstack", "sigprocmask", "sigreturn", "signalfd", "signalfd4", "pause", "alarm",
    ),
    "clocks and timers (reading; setting needs CAP_SYS_TIME)": (
        "time", "gettimeofday", "clock_gettime", "clock_gettime64", "clock_getres",
        "clock_getres_time64", "clock_nanosleep", "clock_nanosleep_time64", "nanosleep",
        "clock_adjtime", "clock_adjtime64", "adjtimex", "times", "getitimer", "setitimer",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
        "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
    ),
    "limits, usage and system information": (
        "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "sysinfo", "uname",
        "getrandom",
    ),
    "memory": (
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
        "mlock", "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "memfd_create", "memfd_secret", "mseal",
    ),
    "paths and inodes": (
        "open", "openat", "openat2", "creat", "close", "close_range",
        "access", "faccessat", "faccessat2", "stat", "stat64", "lstat", "lstat64", "fstat",
        "fstat64", "fstatat64", "newfstatat", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64",
        "chdir", "fchdir", "getcwd", "mkdir", "mkdirat", "mknod", "mknodat", "rmdir",
        "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
        "unlink", "unlinkat", "readlink", "readlinkat", "getdents", "getdents64",
        "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32",
        "fchownat", "lchown", "lchown32", "umask", "truncate", "truncate64", "ftruncate",
        "ftruncate64", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
        "name_to_handle_at", "inotify_init", "inotify_init1", "inotify_add_watch",
        "inotify_rm_watch", "fanotify_mark", "statmount", "listmount",
    ),
    "extended attributes": (
        "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "listxattr", "llistxattr",
        "flistxattr", "listxattrat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
        "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    ),
    "reading and writing file descriptors": (
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
        "preadv2", "pwritev2", "lseek", "_llseek", "dup", "dup2", "dup3", "fcntl", "fcntl64",
        "ioctl", "flock", "fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "fadvise64",
        "fadvise64_64", "fallocate", "readahead", "sendfile", "sendfile64", "splice", "tee",
        "vmsplice", "copy_file_range", "pipe", "pipe2", "eventfd", "eventfd2", "cachestat",
    ),
    "waiting on descriptors": (
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait",
        "epoll_wait_old", "epoll_pwait", "epoll_pwait2",
    ),
    "asynchronous I/O (not io_uring)": (
        "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64",
    ),
    "sockets (socket(2) itself is filtered by family below)": (
        "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
        "getpeername", "getsockopt", "setsockopt", "shutdown", "send", "sendto", "sendmsg",
        "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "socketcall",
    ),
    "System V IPC and POSIX message queues (namespaced)": (
        "ipc", "msgget", "msgctl", "msgsnd", "msgrcv", "semget", "semctl", "semop", "semtimedop",
        "semtimedop_time64", "shmget", "shmctl", "shmat", "shmdt", "mq_open", "mq_unlink",
        "mq_getsetattr", "mq_notify", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
        "mq_timedreceive_time64",
    ),
    "sandboxing and security modules": (
        "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
        "lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules",
    ),
}

# Kernel >= 4.8: a seccomp filter can no longer be bypassed with ptrace, so it is allowed.
_PTRACE = ("ptrace", "process_vm_readv", "process_vm_writev")

_BY_ARCH = {
    "x86_64": ("arch_prctl", "modify_ldt"),
    "aarch64": ("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
                "cacheflush", "set_tls"),
}
_ARCHITECTURES = {
    "x86_64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "aarch64": ("SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"),
}

# What each capability gives back (it is in the container's bounding set).
_BY_CAPABILITY: dict[str, tuple[str, ...]] = {
    "CAP_DAC_READ_SEARCH": ("open_by_handle_at",),
    "CAP_SYS_ADMIN": ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                      "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
                      "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
                      "setns", "syslog", "umount", "umount2", "unshare"),
    "CAP_SYS_BOOT": ("reboot",),
    "CAP_SYS_CHROOT": ("chroot",),
    "CAP_SYS_MODULE": ("delete_module", "init_module", "finit_module"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                       "process_vm_writev", "ptrace"),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_TIME": ("settimeofday", "stime", "clock_settime", "clock_settime64"),
    "CAP_SYS_TTY_CONFIG": ("vhangup",),
    "CAP_SYS_NICE": ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
    "CAP_SYSLOG": ("syslog",),
    "CAP_BPF": ("bpf",),
    "CAP_PERFMON": ("perf_event_open",),
}

_NEW_NAMESPACES = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
                   | CLONE_NEWNET | CLONE_NEWCGROUP)
_AF_ALG, _AF_VSOCK = 38, 40
# personality(2) may only be PER_LINUX, PER_LINUX32, UNAME26 with either, or 0xffffffff (a query).
_PERSONALITIES = (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)


def _allow(names, *args: dict) -> dict:
    return {"names": sorted(names), "action": "SCMP_ACT_ALLOW", "args": list(args)}


def _arg(index: int, op: str, value: int, value_two: int = 0) -> dict:
    return {"index": index, "value": value, "valueTwo": value_two, "op": op}


def _kernel_at_least(release: str, want: tuple[int, int]) -> bool:
    parts = []
    for p in release.split("-")[0].split(".")[:2]:
        digits = "".join(c for c in p if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts) >= want


def runtime_default(capabilities: list[str] | tuple[str, ...], machine: str | None = None,
                    kernel: str | None = None) -> dict:
    """podrun's RuntimeDefault for a container holding `capabilities` (its bounding set)."""
    uname = os.uname()
    machine = machine or uname.machine
    kernel = kernel or uname.release
    caps = set(capabilities)
    allowed = {name for group in ALLOWED.values() for name in group} | set(_BY_ARCH.get(machine, ()))
    if _kernel_at_least(kernel, (4, 8)):
        allowed |= set(_PTRACE)
    for cap, names in _BY_CAPABILITY.items():
        if cap in caps:
            allowed |= set(names)
    rules = [_allow(allowed)]
    # socket(2) for every family but AF_ALG (38) and AF_VSOCK (40), as three single-condition
    # rules: two conditions on one argument would OR, not AND (containerd's comment).
    rules += [_allow(["socket"], _arg(0, "SCMP_CMP_LT", _AF_ALG)),
              _allow(["socket"], _arg(0, "SCMP_CMP_EQ", _AF_ALG + 1)),
              _allow(["socket"], _arg(0, "SCMP_CMP_GT", _AF_VSOCK))]
    rules += [_allow(["personality"], _arg(0, "SCMP_CMP_EQ", p)) for p in _PERSONALITIES]
    if "CAP_SYS_ADMIN" not in caps:
        flags_arg = 1 if machine.startswith("s390") else 0  # s390 swaps clone's first two arguments
        rules.append(_allow(["clone"], _arg(flags_arg, "SCMP_CMP_MASKED_EQ", _NEW_NAMESPACES, 0)))
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": list(_ARCHITECTURES.get(machine, ())),
            "syscalls": rules}


class SeccompProfileError(PodrunError):
    """A Localhost profile that cannot be read or decoded: the container is not created
    (CreateContainerError, with containerd's `WithProfile` words)."""


def _go_error(op: str, path: str, exc: OSError) -> str:
    """Go's *PathError text: `open /x: no such file or directory`."""
    return f"{op} {path}: {os.strerror(exc.errno).lower() if exc.errno else exc}"


def localhost(path: str) -> dict:
    """The profile in the file at path (containerd `contrib/seccomp` WithProfile)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError as exc:
        raise SeccompProfileError(f"cannot load seccomp profile {json.dumps(path)}: "
                                  f"{_go_error('read', path, exc)}") from exc
    except OSError as exc:
        raise SeccompProfileError(f"cannot load seccomp profile {json.dumps(path)}: "
                                  f"{_go_error('open', path, exc)}") from exc
    try:
        profile = json.loads(data)
        if not isinstance(profile, dict):
            raise ValueError("a seccomp profile is a JSON object")
    except ValueError as exc:
        raise SeccompProfileError(f"decoding seccomp profile failed {json.dumps(path)}: {exc}") from exc
    return profile


def node_default(environ: dict[str, str] | None = None) -> str:
    """The profile of a container that asks for none: RuntimeDefault (like Docker, podman and
    the kubelet's --seccomp-default), or Kubernetes' own Unconfined when the node says so."""
    value = (environ if environ is not None else os.environ).get(NODE_DEFAULT_ENV, "")
    return "Unconfined" if value == "Unconfined" else "RuntimeDefault"


def filter_for(choice: "SeccompProfile", capabilities: list[str], seccomp_dir: str) -> seccomp.Filter | None:
    """The compiled filter of a selection; None for Unconfined."""
    if choice.type == "RuntimeDefault":
        profile = runtime_default(capabilities)
    elif choice.type == "Localhost":
        profile = localhost(os.path.join(seccomp_dir, choice.localhost_profile))
    else:
        return None
    try:
        return seccomp.compile(profile)
    except seccomp.ProfileError as exc:
        raise SeccompProfileError(f"failed to setup seccomp: {exc}") from exc
