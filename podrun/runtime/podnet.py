"""The pod network: one bridge on the node, a veth pair and one IPv4 address per pod.

    host                                   pod netns (held by the pause process)
    PODRUN_BRIDGE (podrun0) 10.89.0.1/16
      └─ veth<8 hex of uid> ─── veth ───── eth0 10.89.0.N/16, default via 10.89.0.1; lo up

Configuration from the environment: PODRUN_BRIDGE (default podrun0), PODRUN_SUBNET (default
10.89.0.0/16; the gateway is its first address, on the bridge). Leases live under
<lib>/ipam/<bridge>/ (runtime/ipam.py).

Pods reach each other over the bridge (layer 2) and the host reaches them through the bridge's
own address, so neither needs IP forwarding or NAT: nothing here touches ip_forward or the
firewall. Before the bridge is created the subnet is checked against every route and address
of the host, and refused when it overlaps one.

Everything a teardown needs is derived from the pod uid (the veth name, the lease), so it works
from nothing but the uid after a daemon crash, and it is idempotent. The bridge goes when the
last lease is released.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os

from podrun.errors import PodrunError
from podrun.fsutil import read_json
from podrun.kernel import network as net
from podrun.runtime.ipam import Ipam

__all__ = ["PodNetwork", "SubnetOverlap", "veth_name", "check_overlap", "pods_on_disk",
           "DEFAULT_BRIDGE", "DEFAULT_SUBNET"]

DEFAULT_BRIDGE = "podrun0"
DEFAULT_SUBNET = "10.89.0.0/16"   # not one of the common ones (docker 172.17, k8s 10.244, 10.96)
POD_IFNAME = "eth0"


class SubnetOverlap(PodrunError):
    """The pod subnet overlaps a route or address of the host."""


def veth_name(pod_uid: str) -> str:
    """The host end of a pod's veth pair: `veth` + the first 8 hex digits of the uid."""
    return "veth" + pod_uid.replace("-", "")[:8]


def check_overlap(subnet: ipaddress.IPv4Network, routes: list[tuple[ipaddress.IPv4Network, str]],
                  bridge: str) -> None:
    """Refuse a subnet that overlaps a host route or address on another interface.

    The default route (0.0.0.0/0) overlaps everything and is more specific than nothing, so it
    is ignored; so is anything on our own bridge (its address and connected route).
    """
    for dst, dev in routes:
        if dev == bridge or dst.prefixlen == 0:
            continue
        if subnet.overlaps(dst):
            what = "address" if dst.prefixlen == 32 else "route"
            raise SubnetOverlap(f"subnet {subnet} overlaps the {what} {dst} on {dev}: set PODRUN_SUBNET")


def pods_on_disk(pods_dir: str) -> set[str]:
    """The uids of the pods stored under pods_dir that are not being deleted (for reconcile)."""
    uids = set()
    for entry in os.listdir(pods_dir) if os.path.isdir(pods_dir) else []:
        try:
            meta = (read_json(os.path.join(pods_dir, entry, "pod.json")) or {}).get("metadata") or {}
        except (OSError, ValueError):
            continue
        if meta.get("uid") and not meta.get("deletionTimestamp"):
            uids.add(meta["uid"])
    return uids


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        subnet = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise PodrunError(f"PODRUN_SUBNET={text}: {exc}") from exc
    if subnet.prefixlen > 30:
        raise PodrunError(f"PODRUN_SUBNET={text}: a pod subnet needs at least a /30")
    return subnet


class PodNetwork:
    def __init__(self, lib_root: str, bridge: str | None = None, subnet: str | None = None,
                 host_ip: str | None = None):
        self.bridge = bridge or os.environ.get("PODRUN_BRIDGE") or DEFAULT_BRIDGE
        if len(self.bridge) > 15:
            raise PodrunError(f"PODRUN_BRIDGE={self.bridge}: an interface name has at most 15 characters")
        self.subnet = parse_subnet(subnet or os.environ.get("PODRUN_SUBNET") or DEFAULT_SUBNET)
        self.gateway = str(self.subnet.network_address + 1)
        self.ipam = Ipam(os.path.join(lib_root, "ipam", self.bridge), self.subnet)
        self.host_ip = host_ip
        # One pod at a time: bridge creation and removal must not race a setup.
        self._lock = asyncio.Lock()

    async def setup(self, pod_uid: str, pause_pid: int) -> str:
        """Give the pause process's netns an eth0 on the bridge; returns the pod IP.

        Step 1 the bridge (checked and created if missing), step 2 the lease, step 3 the veth
        pair with its pod end created inside the pod's netns, step 4 eth0's address and default
        route. Any failure undoes steps 2 and 3 before it is raised.
        """
        netns_path = f"/proc/{pause_pid}/ns/net"
        host_end = veth_name(pod_uid)
        async with self._lock:
            async with net.rtnl() as ipr:
                br = await self._ensure_bridge(ipr)
                ip = self.ipam.allocate(pod_uid)
                try:
                    await net.delete_link(ipr, host_end)   # a crashed sandbox's, for this uid
                    await net.add_veth(ipr, host_end, POD_IFNAME, netns_path, br)
                    async with net.rtnl(netns_path) as pod_ipr:
                        await net.configure_interface(pod_ipr, POD_IFNAME, ip, self.subnet.prefixlen,
                                                      self.gateway)
                except BaseException:
                    await net.delete_link(ipr, host_end)
                    self.ipam.release(pod_uid)
                    raise
        return ip

    async def teardown(self, pod_uid: str) -> None:
        """Delete the pod's veth, release its lease, and the bridge after the last pod. Idempotent."""
        async with self._lock:
            async with net.rtnl() as ipr:
                try:
                    await net.delete_link(ipr, veth_name(pod_uid))
                finally:
                    self.ipam.release(pod_uid)
                if not self.ipam.leases():
                    await self._remove_bridge(ipr)

    async def reconcile(self, live_uids: set[str] | list[str]) -> list[str]:
        """Free the leases and veths of pods that no longer exist; returns the freed addresses."""
        live = set(live_uids)
        async with self._lock:
            freed = self.ipam.reconcile(live)
            keep = {veth_name(u) for u in live}
            async with net.rtnl() as ipr:
                for port in await net.bridge_ports(ipr, self.bridge):
                    if port.startswith("veth") and port not in keep:
                        await net.delete_link(ipr, port)
        return freed

    async def remove_bridge_if_unused(self) -> bool:
        """Remove the bridge when no pod holds a lease and no port is attached; True if removed."""
        async with self._lock:
            if self.ipam.leases():
                return False
            async with net.rtnl() as ipr:
                return await self._remove_bridge(ipr)

    async def reset(self) -> bool:
        """`podrun system reset`, with no pod on the node: every lease and the bridge go."""
        async with self._lock:
            self.ipam.clear()
            async with net.rtnl() as ipr:
                for port in await net.bridge_ports(ipr, self.bridge):
                    if port.startswith("veth"):
                        await net.delete_link(ipr, port)
                return await net.delete_link(ipr, self.bridge)

    async def _remove_bridge(self, ipr) -> bool:
        if await net.bridge_ports(ipr, self.bridge):
            return False
        return await net.delete_link(ipr, self.bridge)

    async def _ensure_bridge(self, ipr) -> int:
        if await net.link_index(ipr, self.bridge) is None:
            check_overlap(self.subnet, await net.ipv4_routes(ipr), self.bridge)
        return await net.ensure_bridge(ipr, self.bridge, self.gateway, self.subnet.prefixlen)
