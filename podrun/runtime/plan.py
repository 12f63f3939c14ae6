"""A container's launch described as data: LaunchPlan = argv, env, namespaces and SetupOps.

Pure: `container_plan()` turns a Kubernetes v1 container (defaults filled) plus the sandbox,
the image and the prepared volumes into a LaunchPlan without touching the system, so every rule
here is unit-tested without root. `runtime/child.py` executes the ops in one loop
(bubblewrap `SetupOp` / `setup_newroot`: "bind if it exists" is a flag, not a branch).

Op targets are paths inside the container; sources are host paths. Ops run in list order, after
the overlay is mounted on `rootfs` and before pivot_root.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from podrun.api.expansion import expand
from podrun.errors import PodrunError

if TYPE_CHECKING:
    from podrun.runtime.sandbox import SandboxInfo

__all__ = [
    "Bind", "Overlay", "Proc", "Sysfs", "Tmpfs", "Devpts", "Symlink", "MakeDir", "MakeFile",
    "RemountRO", "SetupOp", "Stdio", "LaunchPlan", "DEFAULT_PATH", "dev_ops", "container_plan",
    "resolve_command", "build_env", "prepare_instance_dir", "InvalidSubPath",
    "CreateContainerConfigError",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"


@dataclass(frozen=True)
class Bind:
    """Bind host `source` (joined with `subpath` safely, created as a dir if missing) on target."""

    source: str
    target: str
    readonly: bool = False
    recursive: bool = True
    allow_missing: bool = False  # skip silently when source does not exist (bubblewrap ALLOW_NOTEXIST)
    is_file: bool = False        # target is created as an empty file, not a directory
    subpath: str = ""            # volumeMount.subPath, resolved inside source by the child


@dataclass(frozen=True)
class Overlay:
    """The container root: overlay of the read-only image over this run's upper dir."""

    lower: str
    upper: str
    work: str
    target: str  # host path (the merged dir), not a container path


@dataclass(frozen=True)
class Proc:
    target: str = "/proc"


@dataclass(frozen=True)
class Sysfs:
    target: str = "/sys"
    readonly: bool = True  # falls back to a read-only rbind of the host /sys when mount fails


@dataclass(frozen=True)
class Tmpfs:
    target: str
    size: str | None = None
    mode: int = 0o755
    options: str = ""     # extra comma-separated data, e.g. "nr_inodes=..."
    flags: int = 0        # MS_NOSUID etc. (syscalls constants)


@dataclass(frozen=True)
class Devpts:
    target: str = "/dev/pts"


@dataclass(frozen=True)
class Symlink:
    link_target: str  # what the link points to
    path: str         # where the link is created


@dataclass(frozen=True)
class MakeDir:
    path: str
    mode: int = 0o755


@dataclass(frozen=True)
class MakeFile:
    path: str
    mode: int = 0o644


@dataclass(frozen=True)
class RemountRO:
    target: str


SetupOp = Union[Bind, Overlay, Proc, Sysfs, Tmpfs, Devpts, Symlink, MakeDir, MakeFile, RemountRO]


@dataclass(frozen=True)
class Stdio:
    """What the child's fds 0-2 are: stdin "null"|"pipe"|"fd"; stdout "pipe"|"null"|"fd";
    stderr "pipe"|"stdout" (merged into stdout)|"null"|"fd". "fd" = given to launch()."""

    stdin: str = "null"
    stdout: str = "pipe"
    stderr: str = "pipe"


@dataclass
class LaunchPlan:
    argv: list[str]
    env: list[str]
    cwd: str = "/"
    rootfs: str | None = None                              # host dir that becomes /; None = join only (exec)
    join_ns: dict[str, str] = field(default_factory=dict)  # kind -> /proc/PID/ns/KIND
    new_ns: list[str] = field(default_factory=list)        # kinds to unshare: mnt, pid
    ops: list[SetupOp] = field(default_factory=list)
    uid: int = 0
    gid: int = 0
    supplementary_groups: list[int] = field(default_factory=list)
    stdio: Stdio = field(default_factory=Stdio)
    tty: bool = False                                      # make stdin the controlling terminal
    name: str = "podrun:ctr"                               # process name until exec (ps shows the design)
    hostname: str | None = None                            # set after unshare(uts): sandbox only
    loopback_up: bool = False                              # bring lo up after unshare(net): sandbox only

    def env_value(self, name: str, default: str = "") -> str:
        for entry in self.env:
            k, _, v = entry.partition("=")
            if k == name:
                return v
        return default


class CreateContainerConfigError(PodrunError):
    """The spec cannot be turned into a plan; the kubelet's waiting reason of the same name."""


class InvalidSubPath(CreateContainerConfigError):
    """subPath is absolute or climbs with '..' (kubelet `validateSubPath`)."""


def dev_ops(dev: str = "/dev") -> list[SetupOp]:
    """A minimal /dev like runc's default: tmpfs, host device nodes bound, devpts, symlinks."""
    ops: list[SetupOp] = [Tmpfs(dev, size="65536k", mode=0o755, flags=2)]  # MS_NOSUID
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        ops.append(Bind(f"/dev/{node}", f"{dev}/{node}", is_file=True, recursive=False))
    ops += [
        Devpts(f"{dev}/pts"),
        Symlink("pts/ptmx", f"{dev}/ptmx"),
        Tmpfs(f"{dev}/shm", size="65536k", mode=0o1777, flags=2 | 4 | 8),  # nosuid,nodev,noexec
        Symlink("/proc/self/fd", f"{dev}/fd"),
        Symlink("/proc/self/fd/0", f"{dev}/stdin"),
        Symlink("/proc/self/fd/1", f"{dev}/stdout"),
        Symlink("/proc/self/fd/2", f"{dev}/stderr"),
    ]
    return ops


def resolve_command(container: dict, image_config: dict) -> list[str]:
    """Kubernetes: command replaces Entrypoint, args replaces Cmd; command alone drops Cmd."""
    command, args = container.get("command"), container.get("args")
    entrypoint = list(image_config.get("Entrypoint") or [])
    cmd = list(image_config.get("Cmd") or [])
    if command:
        return list(command) + list(args or [])
    if args:
        return entrypoint + list(args)
    return entrypoint + cmd


_FIELD_REFS = {
    "metadata.name": lambda pod, sb: pod.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda pod, sb: pod.get("metadata", {}).get("namespace", "default"),
    "metadata.uid": lambda pod, sb: pod.get("metadata", {}).get("uid", ""),
    "status.podIP": lambda pod, sb: getattr(sb, "pod_ip", None) or "",
    "status.hostIP": lambda pod, sb: getattr(sb, "host_ip", None) or "",
    "spec.nodeName": lambda pod, sb: pod.get("spec", {}).get("nodeName") or os.uname().nodename,
    "spec.serviceAccountName": lambda pod, sb: pod.get("spec", {}).get("serviceAccountName") or "default",
}


def build_env(pod: dict, container: dict, image_config: dict, sandbox: Any) -> list[str]:
    """Image Env, then the container's env expanded against earlier entries; PATH/HOSTNAME defaults.

    kubelet `kubelet_pods.go` makeEnvironmentVariables: $(VAR) sees only entries defined before.
    """
    order: list[str] = []
    values: dict[str, str] = {}

    def put(k: str, v: str) -> None:
        if k not in values:
            order.append(k)
        values[k] = v

    for entry in image_config.get("Env") or []:
        k, _, v = entry.partition("=")
        put(k, v)
    for var in container.get("env") or []:
        name = var["name"]
        if "value" in var or "valueFrom" not in var:
            put(name, expand(str(var.get("value", "")), dict(values)))
            continue
        ref = (var["valueFrom"] or {}).get("fieldRef")
        if ref and ref.get("fieldPath") in _FIELD_REFS:
            put(name, _FIELD_REFS[ref["fieldPath"]](pod, sandbox))
    if "PATH" not in values:
        put("PATH", DEFAULT_PATH)
    if "HOSTNAME" not in values:
        put("HOSTNAME", getattr(sandbox, "hostname", "") or pod.get("metadata", {}).get("name", ""))
    return [f"{k}={values[k]}" for k in order]


def _check_subpath(sub: str) -> str:
    if not sub:
        return ""
    if sub.startswith("/") or ".." in sub.split("/"):
        raise InvalidSubPath(f"invalid subPath {sub!r}: must be a relative path without '..'")
    return sub


def _user(container: dict, pod: dict, image_config: dict, rootfs: str) -> tuple[int, int]:
    """runAsUser/runAsGroup (container over pod) over the image's User ("uid[:gid]" or a name)."""
    sc = {**(pod.get("spec", {}).get("securityContext") or {}), **(container.get("securityContext") or {})}
    uid, gid = 0, None
    user = str(image_config.get("User") or "")
    name, _, group = user.partition(":")
    if name.isdigit():
        uid = int(name)
    elif name:
        uid, gid = _lookup_passwd(rootfs, name)
    if group.isdigit():
        gid = int(group)
    if sc.get("runAsUser") is not None:
        uid = int(sc["runAsUser"])
    if sc.get("runAsGroup") is not None:
        gid = int(sc["runAsGroup"])
    return uid, gid if gid is not None else (0 if uid == 0 else uid)


def _lookup_passwd(rootfs: str, name: str) -> tuple[int, int]:
    try:
        with open(os.path.join(rootfs, "etc/passwd")) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) >= 4 and parts[0] == name:
                    return int(parts[2]), int(parts[3])
    except OSError:
        pass
    raise CreateContainerConfigError(f"unable to find user {name}: no matching entries in passwd file")


def prepare_instance_dir(instance_dir: str) -> dict[str, str]:
    """Create upper/, work/, merged/ and an empty termination-log (0666) for one container run.

    Done by the parent before fork (the child must not need the host filesystem for this).
    """
    paths = {k: os.path.join(instance_dir, k) for k in ("upper", "work", "merged")}
    for p in paths.values():
        os.makedirs(p, mode=0o755, exist_ok=True)
    log = os.path.join(instance_dir, "termination-log")
    fd = os.open(log, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    os.fchmod(fd, 0o666)  # umask would strip it; non-root containers must be able to write it
    os.close(fd)
    paths["termination-log"] = log
    return paths


def container_plan(pod: dict, container: dict, sandbox: "SandboxInfo", image: Any,
                   instance_dir: str, volumes: dict[str, str]) -> LaunchPlan:
    """The LaunchPlan for one container run (see the module docstring for the op order)."""
    cfg = image.config or {}
    merged = os.path.join(instance_dir, "merged")
    env = build_env(pod, container, cfg, sandbox)
    mapping = dict(e.partition("=")[::2] for e in env)
    argv = [expand(a, mapping) for a in resolve_command(container, cfg)]
    uid, gid = _user(container, pod, cfg, image.rootfs)

    ops: list[SetupOp] = [
        Overlay(image.rootfs, os.path.join(instance_dir, "upper"), os.path.join(instance_dir, "work"), merged),
        Proc("/proc"),
        *dev_ops("/dev"),
        Sysfs("/sys", readonly=True),
    ]
    files = getattr(sandbox, "files", {}) or {}
    for name, target in (("hosts", "/etc/hosts"), ("hostname", "/etc/hostname"),
                         ("resolv.conf", "/etc/resolv.conf")):
        if files.get(name):
            ops.append(Bind(files[name], target, is_file=True, recursive=False))
    ops.append(Bind(os.path.join(instance_dir, "termination-log"),
                    container.get("terminationMessagePath") or DEFAULT_TERMINATION_MESSAGE_PATH,
                    is_file=True, recursive=False))
    for vm in container.get("volumeMounts") or []:
        source = volumes[vm["name"]]
        sub = _check_subpath(vm.get("subPath") or "")
        is_file = not sub and os.path.isfile(source)
        ops.append(Bind(source, vm["mountPath"], is_file=is_file, subpath=sub))
        if vm.get("readOnly"):
            ops.append(RemountRO(vm["mountPath"]))

    join = dict(getattr(sandbox, "ns_paths", {}) or {})
    new_ns = ["mnt"] if "pid" in join else ["mnt", "pid"]
    return LaunchPlan(
        argv=argv, env=env, cwd=container.get("workingDir") or cfg.get("WorkingDir") or "/",
        rootfs=merged, join_ns=join, new_ns=new_ns, ops=ops, uid=uid, gid=gid,
        supplementary_groups=[int(g) for g in
                              (pod.get("spec", {}).get("securityContext") or {}).get("supplementalGroups") or []],
        stdio=Stdio(stdin="pipe" if container.get("stdin") else "null"),
        tty=bool(container.get("tty")), name=f"podrun:{container.get('name', 'ctr')}"[:15],
    )
