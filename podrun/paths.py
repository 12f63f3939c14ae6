"""Where podrun keeps things: three roots, every path derived here.

run  (/run/podrun)      sockets, daemon lock, pods/NS_UID/ per pod (pod.json, status.json, ...)
lib  (/var/lib/podrun)  images, per-container writable layers, emptyDir volumes, leases
log  (/var/log/podrun)  pods/NS_NAME_UID/CONTAINER/RESTART.log

`--root DIR` or PODRUN_ROOT=DIR moves all three under DIR/{run,lib,log} (tests use this);
PODRUN_RUN_ROOT / PODRUN_LIB_ROOT / PODRUN_LOG_ROOT move one.

Nobody but root may enter them (`Roots.make_private`): image layers and containers' writable
layers hold setuid files and device nodes, emptyDirs are 0777, logs may hold secrets. Docker's
fix for CVE-2021-41091 is the same (its data root's subdirectories 0710/0701).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Roots", "PRIVATE_MODE", "NAME_MAX"]

PRIVATE_MODE = 0o700
NAME_MAX = 255  # bytes in one path component (ext4, xfs, btrfs, tmpfs)


@dataclass(frozen=True)
class Roots:
    run: str = "/run/podrun"
    lib: str = "/var/lib/podrun"
    log: str = "/var/log/podrun"

    @classmethod
    def from_env(cls, root: str | None = None) -> "Roots":
        root = root or os.environ.get("PODRUN_ROOT")
        if root:
            root = os.path.abspath(root)
            base = cls(os.path.join(root, "run"), os.path.join(root, "lib"), os.path.join(root, "log"))
        else:
            base = cls()
        return cls(
            os.environ.get("PODRUN_RUN_ROOT", base.run),
            os.environ.get("PODRUN_LIB_ROOT", base.lib),
            os.environ.get("PODRUN_LOG_ROOT", base.log),
        )

    def env(self) -> dict[str, str]:
        """The environment that makes a child podrun process use these roots."""
        return {"PODRUN_RUN_ROOT": self.run, "PODRUN_LIB_ROOT": self.lib, "PODRUN_LOG_ROOT": self.log}

    # modes
    def private_dirs(self) -> list[str]:
        """The roots and the stores under them that nobody else may traverse: each one closed,
        so a store moved out of its root (a symlink, a mount) stays closed too."""
        return [self.run, self.lib, self.log, self.pods_dir, self.images_dir, self.bin_dir,
                os.path.join(self.lib, "pods"), os.path.join(self.log, "pods")]   # pods' layers, volumes, logs

    def make_private(self) -> None:
        """Create each private directory 0700 and set 0700 on those that exist with another mode:
        at every daemon start and before the CLI touches the image store, so a root made by an
        older version, by hand or as an intermediate directory of os.makedirs (0755) is closed."""
        for path in self.private_dirs():
            os.makedirs(path, mode=PRIVATE_MODE, exist_ok=True)
            if os.stat(path).st_mode & 0o7777 != PRIVATE_MODE:
                os.chmod(path, PRIVATE_MODE)

    # daemon
    @property
    def socket(self) -> str:
        return os.path.join(self.run, "podrun.sock")

    @property
    def daemon_lock(self) -> str:
        return os.path.join(self.run, "daemon.lock")

    @property
    def daemon_json(self) -> str:
        return os.path.join(self.run, "daemon.json")

    @property
    def daemon_log(self) -> str:
        return os.path.join(self.run, "daemon.log")

    # pods
    @property
    def pods_dir(self) -> str:
        return os.path.join(self.run, "pods")

    def pod_dir(self, pod: dict) -> str:
        """pods/NS_UID: named by the uid, never the pod's name (a name may have 253 characters,
        NS_NAME would pass the 255-byte limit of a file name)."""
        meta = pod["metadata"]
        return os.path.join(self.pods_dir, f"{meta['namespace']}_{meta['uid']}")

    def pod_file(self, pod: dict) -> str:
        return os.path.join(self.pod_dir(pod), "pod.json")

    def status_file(self, pod: dict) -> str:
        return os.path.join(self.pod_dir(pod), "status.json")

    def events_file(self, pod: dict) -> str:
        return os.path.join(self.pod_dir(pod), "events.json")

    def sandbox_file(self, pod: dict) -> str:
        return os.path.join(self.pod_dir(pod), "sandbox.json")

    def container_file(self, pod: dict, container: str) -> str:
        return os.path.join(self.pod_dir(pod), "containers", f"{container}.json")

    def attach_socket(self, container_id: str) -> str:
        """A container run's attach socket: short, a unix socket path has 108 bytes at most."""
        return os.path.join(self.run, "attach", container_id[:16])

    # lib
    @property
    def images_dir(self) -> str:
        return os.path.join(self.lib, "images")

    @property
    def seccomp_dir(self) -> str:
        """Localhost seccomp profiles: localhostProfile is relative to it (the kubelet's <root>/seccomp)."""
        return os.path.join(self.lib, "seccomp")

    @property
    def bin_dir(self) -> str:
        return os.path.join(self.lib, "bin")

    @property
    def pki_dir(self) -> str:
        """The API's CA, server and admin client certificates and keys (0600 keys)."""
        return os.path.join(self.lib, "pki")

    @property
    def kubeconfig(self) -> str:
        """The admin kubeconfig for the HTTPS API (`podrun kubeconfig`), 0600."""
        return os.path.join(self.lib, "kubeconfig")

    def pod_lib_dir(self, uid: str) -> str:
        return os.path.join(self.lib, "pods", uid)

    def volume_dir(self, uid: str, volume: str) -> str:
        return os.path.join(self.pod_lib_dir(uid), "volumes", volume)

    def instance_dir(self, uid: str, container: str, restart: int) -> str:
        """One container run's writable layer: upper/, work/, merged/, termination-log."""
        return os.path.join(self.pod_lib_dir(uid), "containers", container, str(restart))

    # logs
    def pod_log_dir(self, namespace: str, name: str, uid: str) -> str:
        """kubelet's pods/NS_NAME_UID, the name shortened so that the whole stays within the
        255 bytes of a file name (namespace <= 63, uid 36: a name keeps 154 characters at least);
        the uid keeps it unique."""
        room = NAME_MAX - len(namespace.encode()) - len(uid.encode()) - 2
        return os.path.join(self.log, "pods", f"{namespace}_{name.encode()[:room].decode(errors='ignore')}_{uid}")

    def log_file(self, namespace: str, name: str, uid: str, container: str, restart: int) -> str:
        return os.path.join(self.pod_log_dir(namespace, name, uid), container, f"{restart}.log")
