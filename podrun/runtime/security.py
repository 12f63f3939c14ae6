"""The effective security settings of one container: user, groups, capabilities, confinement.

Pure: `resolve()` turns the pod's and the container's securityContext, the image's User and
the image's /etc/passwd and /etc/group (read by the caller) into a `ContainerSecurity`, which
runtime/plan.py writes into the LaunchPlan. Each rule names its upstream:

  merge            container over pod for runAsUser, runAsGroup, runAsNonRoot, seLinuxOptions,
                   windowsOptions, seccompProfile, appArmorProfile; the rest is the container's
                   (kubelet `pkg/securitycontext/util.go` DetermineEffectiveSecurityContext);
                   fsGroup and supplementalGroups are pod-only;
  user             runAsUser/runAsGroup over the image's "user[:group]"; a bare uid takes its
                   group from /etc/passwd, else 0 (containerd CRI `generateUserString` +
                   `oci.WithUser`/`WithUserID`);
  runAsNonRoot     checked against runAsUser, else the image's user, with the kubelet's messages
                   (kuberuntime `security_context_others.go` verifyRunAsNonRoot);
  groups           fsGroup, then supplementalGroups (kuberuntime
                   `determineEffectiveSecurityContext`);
  capabilities     containerd's default 14, then add ALL, drop ALL, add each, drop each, in that
                   order (containerd CRI `opts/spec_linux.go` WithCapabilities); ALL and
                   privileged mean the runtime's own set (containerd `cap.Current`);
  no_new_privs     allowPrivilegeEscalation: false (securitycontext AddNoNewPrivileges); never
                   for privileged or CAP_SYS_ADMIN (the field's documented rule);
  masked/readonly  containerd's default paths unless privileged or procMount Unmasked
                   (securitycontext ConvertToRuntimeMaskedPaths, containerd `oci/spec.go`);
  seccomp          seccompProfile (container over pod), else the node's default; Localhost
                   without localhostProfile is refused (kuberuntime `helpers.go`
                   fieldSeccompProfile); privileged gets none (containerd CRI `sputil`
                   GenerateSeccompSpecOpts). runtime/seccomp_profile.py makes the filter.

Every refusal is a CreateContainerConfigError: the kubelet's waiting reason of the same name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from podrun.errors import PodrunError

__all__ = [
    "CreateContainerConfigError", "UnknownCapability", "RunAsNonRootError",
    "DEFAULT_CAPABILITIES", "MASKED_PATHS", "READONLY_PATHS",
    "UserDB", "NodeCapabilities", "SeccompProfile", "ContainerSecurity",
    "effective_context", "capability_set", "resolve_user", "verify_run_as_non_root",
    "supplementary_groups", "no_new_privs", "seccomp_profile", "format_pod", "resolve",
]


class CreateContainerConfigError(PodrunError):
    """The spec cannot be turned into a plan; the kubelet's waiting reason of the same name."""


class UnknownCapability(CreateContainerConfigError):
    """`unknown capability "CAP_FOO"` (runc's wording)."""


class RunAsNonRootError(CreateContainerConfigError):
    """runAsNonRoot is set and the container would run as root, or cannot be shown not to."""


# containerd `oci/spec.go` populateDefaultUnixSpec (the same 14 as runc's and Docker's).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

# containerd `oci/spec.go` MaskedPaths and ReadonlyPaths.
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

_POD_FALLBACK = ("runAsUser", "runAsGroup", "runAsNonRoot", "seLinuxOptions", "windowsOptions",
                 "seccompProfile", "appArmorProfile")


@dataclass(frozen=True)
class UserDB:
    """The image's /etc/passwd as (name, uid, gid) and /etc/group as (name, gid)."""

    passwd: tuple[tuple[str, int, int], ...] = ()
    groups: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class NodeCapabilities:
    """known: every capability the running kernel has; current: the runtime's own."""

    known: tuple[str, ...]
    current: tuple[str, ...]


@dataclass(frozen=True)
class SeccompProfile:
    """Which profile: RuntimeDefault, Localhost (a path under the node's seccomp directory) or
    Unconfined (none)."""

    type: str = "Unconfined"
    localhost_profile: str = ""


@dataclass(frozen=True)
class ContainerSecurity:
    uid: int
    gid: int
    groups: list[int]
    capabilities: list[str]
    no_new_privs: bool
    privileged: bool
    readonly_root: bool
    masked_paths: tuple[str, ...] = MASKED_PATHS
    readonly_paths: tuple[str, ...] = READONLY_PATHS
    seccomp: SeccompProfile = SeccompProfile()


def _pod_sc(pod: dict) -> dict:
    return (pod.get("spec") or {}).get("securityContext") or {}


def effective_context(pod: dict, container: dict) -> dict:
    """The container's securityContext with the pod-level fallbacks filled in."""
    pod_sc = _pod_sc(pod)
    eff = dict(container.get("securityContext") or {})
    for key in _POD_FALLBACK:
        if eff.get(key) is None and pod_sc.get(key) is not None:
            eff[key] = pod_sc[key]
    return eff


def _normalize(name: str, known: tuple[str, ...]) -> str:
    """NET_ADMIN and CAP_NET_ADMIN (any case) -> CAP_NET_ADMIN; unknown names are refused."""
    upper = str(name).upper()
    cap = upper if upper.startswith("CAP_") else "CAP_" + upper
    if cap not in known:
        raise UnknownCapability(f'unknown capability "{cap}"')
    return cap


def capability_set(sc: dict, node: NodeCapabilities) -> list[str]:
    """The capabilities the container keeps in its bounding/permitted/effective sets."""
    if sc.get("privileged"):
        return list(node.current)
    spec = sc.get("capabilities") or {}
    add = [str(c) for c in spec.get("add") or []]
    drop = [str(c) for c in spec.get("drop") or []]
    caps = list(DEFAULT_CAPABILITIES)
    if any(c.upper() == "ALL" for c in add):
        caps = list(node.current)
    if any(c.upper() == "ALL" for c in drop):
        caps = []
    for name in (c for c in add if c.upper() != "ALL"):
        cap = _normalize(name, node.known)
        if cap not in caps:
            caps.append(cap)
    dropped = {_normalize(c, node.known) for c in drop if c.upper() != "ALL"}
    return [c for c in caps if c not in dropped]


def _find_user(user: str, db: UserDB) -> tuple[int, int]:
    if not user:
        return 0, 0
    if user.isdigit():
        uid = int(user)
        return uid, next((g for _, u, g in db.passwd if u == uid), 0)
    for name, uid, gid in db.passwd:
        if name == user:
            return uid, gid
    raise CreateContainerConfigError(f"unable to find user {user}: no matching entries in passwd file")


def _find_group(group: str, db: UserDB) -> int:
    if group.isdigit():
        return int(group)
    for name, gid in db.groups:
        if name == group:
            return gid
    raise CreateContainerConfigError(f"unable to find group {group}: no matching entries in group file")


def resolve_user(sc: dict, image_user: str, db: UserDB) -> tuple[int, int]:
    """(uid, gid) the container runs as."""
    if sc.get("runAsUser") is not None:
        user, group = str(sc["runAsUser"]), ""
    else:
        user, _, group = image_user.partition(":")
    if sc.get("runAsGroup") is not None:
        group = str(sc["runAsGroup"])
    uid, gid = _find_user(user, db)
    return uid, _find_group(group, db) if group else gid


def format_pod(pod: dict) -> str:
    """The kubelet's format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def verify_run_as_non_root(pod: dict, container: dict, sc: dict, image_user: str) -> None:
    """Refuse root when runAsNonRoot; the image's uid counts only when it is numeric."""
    if not sc.get("runAsNonRoot"):
        return
    where = f"(pod: {json.dumps(format_pod(pod))}, container: {container.get('name', '')})"
    if sc.get("runAsUser") is not None:
        if int(sc["runAsUser"]) == 0:
            raise RunAsNonRootError(f"container's runAsUser breaks non-root policy {where}")
        return
    user = image_user.partition(":")[0]
    if not user or (user.isdigit() and int(user) == 0):  # no User in the image: root
        raise RunAsNonRootError(f"container has runAsNonRoot and image will run as root {where}")
    if not user.isdigit():
        raise RunAsNonRootError(f"container has runAsNonRoot and image has non-numeric user ({user}), "
                                f"cannot verify user is non-root {where}")


def supplementary_groups(pod: dict) -> list[int]:
    """fsGroup first, then supplementalGroups, without repeats."""
    pod_sc = _pod_sc(pod)
    groups = ([pod_sc["fsGroup"]] if pod_sc.get("fsGroup") is not None else []) + \
        list(pod_sc.get("supplementalGroups") or [])
    return list(dict.fromkeys(int(g) for g in groups))


def no_new_privs(sc: dict, capabilities: list[str]) -> bool:
    if sc.get("privileged") or "CAP_SYS_ADMIN" in capabilities:
        return False
    return sc.get("allowPrivilegeEscalation") is False


def seccomp_profile(sc: dict, privileged: bool, node_default: str = "RuntimeDefault") -> SeccompProfile:
    """The profile of the effective context `sc` (whose seccompProfile is the container's, else
    the pod's); node_default when neither sets one (the kubelet's --seccomp-default)."""
    if privileged:
        return SeccompProfile("Unconfined")
    spec = sc.get("seccompProfile")
    kind = spec.get("type") if isinstance(spec, dict) else node_default
    if kind == "RuntimeDefault":
        return SeccompProfile("RuntimeDefault")
    if kind == "Localhost":
        if not spec.get("localhostProfile"):
            raise CreateContainerConfigError("localhostProfile must be set if seccompProfile type is Localhost.")
        return SeccompProfile("Localhost", str(spec["localhostProfile"]))
    return SeccompProfile("Unconfined")


def resolve(pod: dict, container: dict, image_user: str, db: UserDB,
            node: NodeCapabilities, seccomp_default: str = "RuntimeDefault") -> ContainerSecurity:
    """Everything above for one container; raises CreateContainerConfigError."""
    sc = effective_context(pod, container)
    verify_run_as_non_root(pod, container, sc, image_user)
    uid, gid = resolve_user(sc, image_user, db)
    caps = capability_set(sc, node)
    privileged = bool(sc.get("privileged"))
    confined = not privileged and sc.get("procMount") != "Unmasked"
    return ContainerSecurity(
        uid=uid, gid=gid, groups=supplementary_groups(pod), capabilities=caps,
        no_new_privs=no_new_privs(sc, caps), privileged=privileged,
        readonly_root=bool(sc.get("readOnlyRootFilesystem")),
        masked_paths=MASKED_PATHS if confined else (),
        readonly_paths=READONLY_PATHS if confined else (),
        seccomp=seccomp_profile(sc, privileged, seccomp_default))
