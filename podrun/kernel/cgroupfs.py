"""A container's own view of its cgroups at /sys/fs/cgroup, mounted from inside its cgroup
namespace (kernel/cgroups.py makes and fills the cgroups; this only shows them).

In a cgroup namespace the kernel roots every cgroup mount at the namespace's root cgroup, so a
container that unshared its namespace after joining its cgroup sees its own cgroup as "/", its
limits in the files at the top, and nothing of its siblings or parents (runc `mountCgroupV2`,
and `mountCgroupV1` with a cgroup namespace):

  v2  one cgroup2 mount;
  v1  a tmpfs holding one cgroup mount per hierarchy podrun uses, named as the host names its
      mount point ("cpu,cpuacct") and mounted with every controller the hierarchy has (a v1
      mount must name them all), a symlink per comounted controller ("cpu" -> "cpu,cpuacct"),
      the tmpfs made read-only last.

Read-only unless the container is privileged, as containerd gives it.
"""
from __future__ import annotations

import os

from podrun.kernel import syscalls as sc
from podrun.kernel.cgroups import V1_CONTROLLERS, Layout

__all__ = ["view_hierarchies", "mount_view"]

_FLAGS = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_RELATIME


def view_hierarchies(layout: Layout) -> tuple[tuple[str, str], ...]:
    """v1: (directory name, mount options) of each hierarchy a podrun cgroup is created in;
    v2: () — one cgroup2 mount."""
    if layout.version == 2:
        return ()
    points = dict.fromkeys(layout.mounts[c] for c in V1_CONTROLLERS if layout.has(c))
    return tuple((os.path.basename(point), ",".join(c for c, p in sorted(layout.mounts.items()) if p == point))
                 for point in points)


def mount_view(dest: str, hierarchies: tuple[tuple[str, str], ...], readonly: bool,
               syscalls: sc.Syscalls = sc.LINUX) -> None:
    """Mount the caller's cgroups on dest (see the module docstring); the caller is already in
    the container's cgroup namespace and mount namespace."""
    ro = sc.MS_RDONLY if readonly else 0
    if not hierarchies:
        syscalls.mount("cgroup2", dest, "cgroup2", _FLAGS | ro, None)
        return
    syscalls.mount("tmpfs", dest, "tmpfs", _FLAGS, "mode=755")
    for name, options in hierarchies:
        os.makedirs(os.path.join(dest, name), 0o755, exist_ok=True)
        syscalls.mount("cgroup", os.path.join(dest, name), "cgroup", _FLAGS | ro, options)
        for controller in options.split(","):
            link = os.path.join(dest, controller)
            if controller != name and "=" not in controller and not os.path.lexists(link):
                os.symlink(name, link)
    if readonly:
        syscalls.mount(None, dest, None, sc.MS_BIND | sc.MS_REMOUNT | _FLAGS | ro, None)
