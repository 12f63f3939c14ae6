"""A container's launch described as data: LaunchPlan = argv, env, namespaces and SetupOps.

Pure: `container_plan()` turns a Kubernetes v1 container (defaults filled) plus the sandbox,
the image and the prepared volumes into a LaunchPlan without changing the system (it only reads
the image's /etc/passwd and /etc/group and, unless given, the runtime's own capabilities), so
every rule here is unit-tested without root. `runtime/child.py` executes the ops in one loop
(bubblewrap `SetupOp` / `setup_newroot`: "bind if it exists" is a flag, not a branch).

Op targets are paths inside the container; sources are host paths; the child opens both by fd
and never follows a symlink out of the root or, for a subPath, out of its volume. subPath and
subPathExpr are checked here as the kubelet's makeMounts does (runtime/volumes.py then makes
them). Ops run in list order, after the overlay is mounted on `rootfs` and before pivot_root:

    Overlay (nodev)  Proc  /dev (tmpfs nodev + host nodes)  Sysfs (ro)  MaskPath…  ReadonlyPath…
    pod files (/etc/hosts …)  termination-log  volumes (emptyDir nodev)  [root remounted ro]

`join_cgroup()` adds the container's cgroup, a cgroup namespace and, right after Sysfs, a
Cgroupfs op: its own cgroups at /sys/fs/cgroup.

The security settings (user, groups, capabilities, no_new_privs, masked paths, read-only root)
come from runtime/security.py. Device nodes a container root could mknod (CAP_MKNOD is in the
default set) are useless on the nodev root, /dev and emptyDirs; the nodes bound from the host
are their own mounts and keep the host's flags. A privileged container gets none of this:
every capability, the host's device nodes, /sys read-write, no masked paths (runc/containerd
privileged).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from podrun.api.expansion import expand
from podrun.kernel import capabilities as caps
from podrun.kernel.seccomp import Filter
from podrun.kernel.syscalls import MS_NODEV, MS_NOEXEC, MS_NOSUID
from podrun.paths import Roots
from podrun.runtime import seccomp_profile, security
from podrun.runtime.security import CreateContainerConfigError

if TYPE_CHECKING:
    from podrun.runtime.state import SandboxInfo

__all__ = [
    "Bind", "Overlay", "Proc", "Sysfs", "Tmpfs", "Devpts", "Symlink", "MakeDir", "MakeFile",
    "RemountRO", "MaskPath", "ReadonlyPath", "HostDevices", "Cgroupfs", "SetupOp", "Stdio", "LaunchPlan",
    "DEFAULT_PATH", "DEV_NODES", "dev_ops", "confinement_ops", "container_plan", "node_capabilities",
    "read_user_db", "resolve_command", "build_env", "prepare_instance_dir", "InvalidSubPath", "subpath_of",
    "CreateContainerConfigError", "join_cgroup",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"


@dataclass(frozen=True)
class Bind:
    """Bind host `source` (with `subpath` below it, made as directories if missing) on target;
    the target is made as a file or a directory like the source. All by fd: runtime/child.py."""

    source: str
    target: str
    readonly: bool = False
    recursive: bool = True
    allow_missing: bool = False  # skip silently when source does not exist (bubblewrap ALLOW_NOTEXIST)
    subpath: str = ""            # volumeMount.subPath or expanded subPathExpr, never leaves source
    nodev: bool = False          # remounted nodev: device nodes made in it cannot be opened
    volume_mount: str = field(default="", compare=False)  # its name, for the kubelet's messages


@dataclass(frozen=True)
class Overlay:
    """The container root: overlay of the read-only image over this run's upper dir."""

    lower: str
    upper: str
    work: str
    target: str  # host path (the merged dir), not a container path
    flags: int = 0  # MS_NODEV unless privileged


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


@dataclass(frozen=True)
class MaskPath:
    """Hide target: /dev/null bound over a file, an empty read-only tmpfs over a directory;
    nothing when it does not exist (runc `maskPath`)."""

    target: str


@dataclass(frozen=True)
class ReadonlyPath:
    """Bind target onto itself and remount it read-only; nothing when missing (runc `readonlyPath`)."""

    target: str


@dataclass(frozen=True)
class HostDevices:
    """Bind every device node of the host's `source` into target (privileged: containerd
    `WithHostDevices`); pts/, shm/, mqueue/, fd/, console and ptmx are the container's own."""

    target: str = "/dev"
    source: str = "/dev"


@dataclass(frozen=True)
class Cgroupfs:
    """The container's own cgroups at target, mounted from inside its cgroup namespace
    (kernel/cgroupfs.py `mount_view`): read-only unless privileged, as containerd gives them.
    hierarchies: v1 (directory name, mount options) per hierarchy; () = one cgroup2 mount."""

    target: str = "/sys/fs/cgroup"
    hierarchies: tuple[tuple[str, str], ...] = ()
    readonly: bool = True


SetupOp = Union[Bind, Overlay, Proc, Sysfs, Tmpfs, Devpts, Symlink, MakeDir, MakeFile, RemountRO,
                MaskPath, ReadonlyPath, HostDevices, Cgroupfs]


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
    capabilities: list[str] | None = None                  # kept in bounding/permitted/effective; None = untouched
    no_new_privs: bool = False
    cgroup_procs: list[str] = field(default_factory=list)  # cgroup.procs files joined before anything else
    readonly_root: bool = False                            # remount rootfs read-only after the ops
    seccomp: Filter | None = None                          # loaded last before execve; None = unconfined

    def env_value(self, name: str, default: str = "") -> str:
        for entry in self.env:
            k, _, v = entry.partition("=")
            if k == name:
                return v
        return default


class InvalidSubPath(CreateContainerConfigError):
    """subPath/subPathExpr is absolute, climbs with '..', names an unset variable, or leads out
    of its volume: the kubelet's makeMounts errors."""


DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")  # runc's default devices


def dev_ops(dev: str = "/dev", host_devices: bool = False) -> list[SetupOp]:
    """A minimal /dev like runc's default: a nodev tmpfs, host device nodes bound, devpts,
    symlinks; host_devices (privileged): every host node, and no nodev."""
    ops: list[SetupOp] = [Tmpfs(dev, size="65536k", mode=0o755,
                                flags=MS_NOSUID | (0 if host_devices else MS_NODEV))]
    if host_devices:
        ops.append(HostDevices(dev))
    else:
        ops += [Bind(f"/dev/{node}", f"{dev}/{node}", recursive=False) for node in DEV_NODES]
    ops += [
        Devpts(f"{dev}/pts"),
        Symlink("pts/ptmx", f"{dev}/ptmx"),
        Tmpfs(f"{dev}/shm", size="65536k", mode=0o1777, flags=MS_NOSUID | MS_NODEV | MS_NOEXEC),
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
            put(name, expand(str(var.get("value", "")), values))   # no copy per entry: linear
            continue
        ref = (var["valueFrom"] or {}).get("fieldRef")
        if ref and ref.get("fieldPath") in _FIELD_REFS:
            put(name, _FIELD_REFS[ref["fieldPath"]](pod, sandbox))
    if "PATH" not in values:
        put("PATH", DEFAULT_PATH)
    if "HOSTNAME" not in values:
        put("HOSTNAME", getattr(sandbox, "hostname", "") or pod.get("metadata", {}).get("name", ""))
    return [f"{k}={values[k]}" for k in order]


def _spec_env(container: dict, env: list[str]) -> dict[str, str]:
    """The variables the kubelet expands subPathExpr against: the container's own `env` with
    their final values (kubelet opts.Envs), not the image's Env nor the runtime's defaults."""
    names = {v.get("name") for v in container.get("env") or []}
    return {k: v for k, _, v in (e.partition("=") for e in env) if k in names}


def subpath_of(vm: dict, env: dict[str, str]) -> str:
    """volumeMount.subPath, or subPathExpr expanded from env, checked as the kubelet does
    before it mounts (kubelet_pods.go makeMounts, kubecontainer.ExpandContainerVolumeMounts)."""
    sub = vm.get("subPath") or ""
    if vm.get("subPathExpr"):
        missing: set[str] = set()

        def lookup(name: str) -> str:
            if not env.get(name):
                missing.add(name)
            return env.get(name, "")
        sub = expand(vm["subPathExpr"], lookup)
        if missing:
            raise InvalidSubPath(f"missing value for {', '.join(sorted(missing))}")
    if not sub:
        return ""
    if sub.startswith("/"):
        raise InvalidSubPath(f"error SubPath `{sub}` must not be an absolute path")
    if ".." in sub.split("/"):  # volume/validation ValidatePathNoBacksteps
        raise InvalidSubPath(f"unable to provision SubPath `{sub}`: must not contain '..'")
    return sub


def _read_table(path: str, fields: int) -> list[list[str]]:
    """The colon-separated lines of an /etc file with at least `fields` fields; [] if absent."""
    try:
        with open(path) as f:
            rows = [line.rstrip("\n").split(":") for line in f if not line.startswith("#")]
    except OSError:
        return []
    return [r for r in rows if len(r) >= fields and all(x.isdigit() for x in r[2:fields])]


def read_user_db(rootfs: str) -> security.UserDB:
    """The image's /etc/passwd and /etc/group, for user and group names (containerd reads the
    container's own files, not the host's)."""
    passwd = _read_table(os.path.join(rootfs, "etc/passwd"), 4)
    groups = _read_table(os.path.join(rootfs, "etc/group"), 3)
    return security.UserDB(tuple((r[0], int(r[2]), int(r[3])) for r in passwd),
                           tuple((r[0], int(r[2])) for r in groups))


def node_capabilities() -> security.NodeCapabilities:
    """What the kernel knows and what this runtime holds (for privileged and add: [ALL])."""
    return security.NodeCapabilities(tuple(caps.known()), tuple(caps.current()))


def confinement_ops(sec: security.ContainerSecurity) -> list[SetupOp]:
    """Masked then read-only paths; both lists are empty for privileged or procMount Unmasked."""
    return [*(MaskPath(p) for p in sec.masked_paths), *(ReadonlyPath(p) for p in sec.readonly_paths)]


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


def _empty_dirs(pod: dict) -> set[str]:
    return {v["name"] for v in (pod.get("spec") or {}).get("volumes") or [] if "emptyDir" in v}


def container_plan(pod: dict, container: dict, sandbox: "SandboxInfo", image: Any,
                   instance_dir: str, volumes: dict[str, str],
                   node: security.NodeCapabilities | None = None, seccomp_dir: str | None = None) -> LaunchPlan:
    """The LaunchPlan for one container run (see the module docstring for the op order).

    Raises CreateContainerConfigError (runAsNonRoot, an unknown user or capability, a bad subPath),
    or SeccompProfileError (a Localhost seccomp profile that cannot be read: CreateContainerError).
    """
    cfg = image.config or {}
    merged = os.path.join(instance_dir, "merged")
    env = build_env(pod, container, cfg, sandbox)
    mapping = dict(e.partition("=")[::2] for e in env)
    argv = [expand(a, mapping) for a in resolve_command(container, cfg)]
    sec = security.resolve(pod, container, str(cfg.get("User") or ""), read_user_db(image.rootfs),
                           node or node_capabilities(), seccomp_profile.node_default())
    seccomp_filter = seccomp_profile.filter_for(sec.seccomp, list(sec.capabilities),
                                                seccomp_dir or Roots.from_env().seccomp_dir)
    nodev = 0 if sec.privileged else MS_NODEV

    ops: list[SetupOp] = [
        Overlay(image.rootfs, os.path.join(instance_dir, "upper"), os.path.join(instance_dir, "work"),
                merged, flags=nodev),
        Proc("/proc"),
        *dev_ops("/dev", host_devices=sec.privileged),
        Sysfs("/sys", readonly=not sec.privileged),
        *confinement_ops(sec),
    ]
    files = getattr(sandbox, "files", {}) or {}
    for name, target in (("hosts", "/etc/hosts"), ("hostname", "/etc/hostname"),
                         ("resolv.conf", "/etc/resolv.conf")):
        if files.get(name):
            ops.append(Bind(files[name], target, recursive=False))
    ops.append(Bind(os.path.join(instance_dir, "termination-log"),
                    container.get("terminationMessagePath") or DEFAULT_TERMINATION_MESSAGE_PATH,
                    recursive=False))
    empty_dirs = _empty_dirs(pod)
    for vm in container.get("volumeMounts") or []:
        sub = subpath_of(vm, _spec_env(container, env))
        # hostPath stays as the host mounted it; emptyDir is pod scratch space: nodev
        ops.append(Bind(volumes[vm["name"]], vm["mountPath"], subpath=sub, volume_mount=vm["name"],
                        nodev=vm["name"] in empty_dirs and not sec.privileged))
        if vm.get("readOnly"):
            ops.append(RemountRO(vm["mountPath"]))

    join = dict(getattr(sandbox, "ns_paths", {}) or {})
    new_ns = ["mnt"] if "pid" in join else ["mnt", "pid"]
    return LaunchPlan(
        argv=argv, env=env, cwd=container.get("workingDir") or cfg.get("WorkingDir") or "/",
        rootfs=merged, join_ns=join, new_ns=new_ns, ops=ops, uid=sec.uid, gid=sec.gid,
        supplementary_groups=list(sec.groups),
        stdio=Stdio(stdin="pipe" if container.get("stdin") else "null"),
        tty=bool(container.get("tty")), name=f"podrun:{container.get('name', 'ctr')}"[:15],
        capabilities=list(sec.capabilities), no_new_privs=sec.no_new_privs,
        readonly_root=sec.readonly_root, seccomp=seccomp_filter,
    )


def join_cgroup(plan: LaunchPlan, cgroup: Any) -> LaunchPlan:
    """Start the container in `cgroup` (a kernel/cgroups.py Cgroup) and in a cgroup namespace
    rooted there (unshared after joining: runtime/child.py steps 0 and 3), with its own cgroups
    shown at /sys/fs/cgroup right after /sys, read-only as /sys is (containerd: a private
    cgroupns and a `ro` cgroup mount; kernel/cgroupfs.py)."""
    from podrun.kernel.cgroupfs import view_hierarchies
    plan.cgroup_procs = cgroup.procs_files()
    if "cgroup" not in plan.new_ns:
        plan.new_ns.append("cgroup")
    for i, op in enumerate(plan.ops):
        if isinstance(op, Sysfs):
            view = Cgroupfs(os.path.join(op.target, "fs/cgroup"), view_hierarchies(cgroup.layout), op.readonly)
            plan.ops.insert(i + 1, view)
            break
    return plan
