"""IP address management for the pod network: one lease file per address, on disk.

Layout (after CNI host-local's disk store, `plugins/ipam/host-local/backend/disk`):

    <lib>/ipam/<bridge>/10.89.0.7            holds the pod uid that has the address
    <lib>/ipam/<bridge>/last_reserved_ip     where the next search starts (round robin)

A lease file is created with O_CREAT|O_EXCL, so an address is never given twice, even by two
processes. Allocation goes round robin from the last address handed out, so a freed address is
not reused at once (stale ARP entries and open connections of the old pod point at it). The
network address, the gateway (the first host address, on the bridge) and the broadcast address
are never leased. Nothing here needs root: tests run it on a temporary directory.
"""
from __future__ import annotations

import errno
import ipaddress
import os

from podrun.errors import NetworkError

__all__ = ["Ipam"]

_LAST = "last_reserved_ip"


class Ipam:
    def __init__(self, directory: str, subnet: ipaddress.IPv4Network):
        self.dir = directory
        self.subnet = subnet
        self.gateway = subnet.network_address + 1

    def _first_last(self) -> tuple[int, int]:
        net = int(self.subnet.network_address)
        return net + 2, int(self.subnet.broadcast_address) - 1

    def leases(self) -> dict[str, str]:
        """address -> pod uid, for every lease on disk."""
        out: dict[str, str] = {}
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return out
        for name in names:
            if name == _LAST or name.endswith(".tmp"):
                continue
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out[name] = f.read().strip()
            except FileNotFoundError:
                continue
        return out

    def lookup(self, uid: str) -> str | None:
        return next((ip for ip, owner in sorted(self.leases().items()) if owner == uid), None)

    def allocate(self, uid: str) -> str:
        """The address leased to uid: its existing lease (a sandbox made again), else a new one."""
        have = self.lookup(uid)
        if have:
            return have
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        first, last = self._first_last()
        if last < first:
            raise NetworkError("allocate address in", str(self.subnet), errno.ENOSPC, "subnet too small")
        start = self._last_reserved() + 1
        if not first <= start <= last:
            start = first
        size = last - first + 1
        for i in range(size):
            ip = str(ipaddress.IPv4Address(first + (start - first + i) % size))
            try:
                fd = os.open(os.path.join(self.dir, ip), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise NetworkError("create lease", os.path.join(self.dir, ip), exc.errno or 0) from exc
            try:
                os.write(fd, uid.encode())
            finally:
                os.close(fd)
            self._set_last_reserved(ip)
            return ip
        raise NetworkError("allocate address in", str(self.subnet), errno.ENOSPC,
                           f"all {size} addresses are leased")

    def release(self, uid: str) -> list[str]:
        """Free every lease held by uid; returns the addresses freed. Idempotent."""
        freed = []
        for ip, owner in self.leases().items():
            if owner == uid:
                self._remove(ip)
                freed.append(ip)
        return freed

    def reconcile(self, live_uids: set[str] | list[str]) -> list[str]:
        """Free the leases of pods that no longer exist (a crashed daemon's leftovers)."""
        live = set(live_uids)
        freed = []
        for ip, owner in self.leases().items():
            if owner not in live:
                self._remove(ip)
                freed.append(ip)
        return freed

    def clear(self) -> None:
        """Remove every lease and the directory (system reset, nothing running)."""
        for ip in self.leases():
            self._remove(ip)
        for name in (_LAST,):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass

    def _remove(self, ip: str) -> None:
        try:
            os.unlink(os.path.join(self.dir, ip))
        except FileNotFoundError:
            pass

    def _last_reserved(self) -> int:
        try:
            with open(os.path.join(self.dir, _LAST)) as f:
                return int(ipaddress.IPv4Address(f.read().strip()))
        except (OSError, ValueError):
            return 0

    def _set_last_reserved(self, ip: str) -> None:
        path = os.path.join(self.dir, _LAST)
        with open(path + ".tmp", "w") as f:
            f.write(ip)
        os.replace(path + ".tmp", path)
