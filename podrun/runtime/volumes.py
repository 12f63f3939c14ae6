"""Pod volumes on the host: emptyDir (a directory, or a tmpfs for medium Memory) and hostPath.

`prepare_volumes` runs in the daemon before any container starts and returns name → host path;
runtime/plan.py turns volumeMounts into Bind ops on those paths. hostPath `type` checks follow
the kubelet (`pkg/volume/hostpath/host_path.go` checkType / the FileTypeChecker messages).
Teardown unmounts emptyDir tmpfs lazily and removes emptyDir directories; hostPath contents are
never touched.

`prepare_subpaths` is the kubelet's subPath step of makeMounts, in the daemon before a container
is created: each subPath (or expanded subPathExpr) is made below its volume with the volume's
mode, and one that leads out of it (a symlink planted by the pod) fails the container with
CreateContainerConfigError and the kubelet's words. The container's child opens the same path
by fd again at mount time (runtime/child.py), so a change in between cannot redirect it.

With the pod's fsGroup an emptyDir belongs to that group and is setgid (mode 2777), so files
made in it inherit the group every container has as a supplementary group (kubelet
`pkg/volume/volume_linux.go` SetVolumeOwnership; hostPath is left alone, as there). Containers
bind emptyDirs nodev (runtime/plan.py); a Memory emptyDir is a nodev tmpfs already.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
from typing import Callable

from podrun.errors import PodrunError
from podrun.kernel import fspath, mounts
from podrun.kernel import syscalls as sc
from podrun.runtime.plan import Bind, InvalidSubPath, LaunchPlan

__all__ = ["VolumeError", "HostPathTypeError", "parse_quantity", "prepare_volumes",
           "teardown_volumes", "check_host_path", "prepare_subpaths"]


class VolumeError(PodrunError):
    """A volume cannot be set up (the kubelet's FailedMount)."""


class HostPathTypeError(VolumeError):
    """`hostPath type check failed: /x is not a directory`."""


_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def parse_quantity(q: str | int) -> int:
    """Kubernetes quantity → bytes, minimal set: plain, k/M/G/T and Ki/Mi/Gi/Ti."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kMGT]i?|)\s*", str(q))
    if not m:
        raise VolumeError(f"invalid quantity {q!r}")
    return int(float(m.group(1)) * _SUFFIX[m.group(2)])


_KIND_CHECKS = {
    "Socket": (stat.S_ISSOCK, "socket"),
    "CharDevice": (stat.S_ISCHR, "character device"),
    "BlockDevice": (stat.S_ISBLK, "block device"),
}


def check_host_path(path: str, kind: str) -> None:
    """Apply hostPath `type`, creating for *OrCreate; raise HostPathTypeError like the kubelet."""
    def fail(what: str) -> HostPathTypeError:
        return HostPathTypeError(f"hostPath type check failed: {path} is not a {what}")

    if not kind:
        return
    if kind == "DirectoryOrCreate":
        if not os.path.exists(path):
            os.makedirs(path, mode=0o755, exist_ok=True)
        if not os.path.isdir(path):
            raise fail("directory")
    elif kind == "Directory":
        if not os.path.isdir(path):
            raise fail("directory")
    elif kind == "FileOrCreate":
        if not os.path.exists(path):
            if not os.path.isdir(os.path.dirname(path) or "/"):
                raise HostPathTypeError(
                    f"hostPath type check failed: {os.path.dirname(path)} does not exist")
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
        if not os.path.isfile(path):
            raise fail("file")
    elif kind == "File":
        if not os.path.isfile(path):
            raise fail("file")
    elif kind in _KIND_CHECKS:
        test, what = _KIND_CHECKS[kind]
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise fail(what) from None
        if not test(mode):
            raise fail(what)
    else:
        raise HostPathTypeError(f"hostPath type check failed: unknown type {kind!r} for {path}")


def prepare_volumes(pod: dict, roots_volume_dir: Callable[[str], str]) -> dict[str, str]:
    """Create every volume of the pod; returns volume name → host path for the Bind ops."""
    out: dict[str, str] = {}
    spec = pod.get("spec") or {}
    fs_group = (spec.get("securityContext") or {}).get("fsGroup")
    for vol in spec.get("volumes") or []:
        name = vol["name"]
        if "emptyDir" in vol:
            out[name] = _empty_dir(roots_volume_dir(name), vol.get("emptyDir") or {})
            if fs_group is not None:
                _set_ownership(out[name], int(fs_group))
        elif "hostPath" in vol:
            hp = vol["hostPath"]
            check_host_path(hp["path"], hp.get("type") or "")
            out[name] = hp["path"]
        else:
            raise VolumeError(f"volume {name!r}: unsupported volume type "
                              f"{', '.join(k for k in vol if k != 'name')}")
    return out


def _empty_dir(path: str, spec: dict) -> str:
    os.makedirs(path, mode=0o777, exist_ok=True)
    os.chmod(path, 0o777)  # kubelet: emptyDir is world-writable so non-root containers can use it
    if spec.get("medium") == "Memory" and not mounts.is_mountpoint(path):
        data = "mode=0777"
        if spec.get("sizeLimit"):
            data += f",size={parse_quantity(spec['sizeLimit'])}"
        sc.mount("tmpfs", path, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, data)
    return path


def _set_ownership(path: str, fs_group: int) -> None:
    """Every entry gets group fsGroup and rw for the group, directories also x and setgid; the
    root, 0777 already, becomes 2777. Symlinks are re-grouped, never followed."""
    for parent, dirs, files in os.walk(path):
        _regroup(parent, fs_group, 0o2770)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            _regroup(os.path.join(parent, name), fs_group, 0o660)


def _regroup(path: str, fs_group: int, mask: int) -> None:
    os.lchown(path, -1, fs_group)
    mode = os.lstat(path).st_mode
    if not stat.S_ISLNK(mode):
        os.chmod(path, stat.S_IMODE(mode) | mask)


def prepare_subpaths(plan: LaunchPlan, container_name: str) -> None:
    """Make every subPath of the plan inside its volume, or raise InvalidSubPath with the
    kubelet's message, which names no host path (kubelet_pods.go makeMounts)."""
    for op in plan.ops:
        if isinstance(op, Bind) and op.subpath:
            _prepare_subpath(op, container_name)


def _prepare_subpath(op: Bind, container_name: str) -> None:
    try:
        volume = fspath.open_host(op.source, directory=True)
        try:
            # kubelet SafeMakeDir(subPath, volumePath, mode of the volume)
            os.close(fspath.make_beneath(volume, op.subpath, stat.S_IMODE(os.fstat(volume).st_mode)))
        finally:
            os.close(volume)
    except OSError:
        # kubelet: an existing path (symlinks followed) that is not within the volume fails in
        # PrepareSafeSubpath; a missing one fails in SafeMakeDir
        which = ("prepare subPath" if os.path.exists(os.path.join(op.source, op.subpath))
                 else "create subPath directory")
        raise InvalidSubPath(f'failed to {which} for volumeMount "{op.volume_mount}" '
                             f'of container "{container_name}"') from None


def teardown_volumes(pod: dict, dirs: dict[str, str]) -> None:
    """Unmount and remove emptyDirs; idempotent; hostPath volumes are left exactly as they are."""
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        if "emptyDir" not in vol or vol["name"] not in dirs:
            continue
        path = dirs[vol["name"]]
        for point in sorted(mounts.mountpoints_under(path), reverse=True):
            mounts.unmount(point, detach=True)
        shutil.rmtree(path, ignore_errors=True)
