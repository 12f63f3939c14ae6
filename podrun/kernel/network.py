"""Network links, addresses and routes over rtnetlink (pyroute2), on the host or in a pod's netns.

A pod's network namespace starts with only `lo`; the pod gets a veth pair whose host end is a
port of the node's bridge and whose other end is created directly inside the pod's namespace as
`eth0` (one RTM_NEWLINK with the peer's IFLA_NET_NS_FD), so no interface named eth0 ever exists
on the host, even for a moment. Order matters: an interface that changes namespace loses its
addresses and routes, so the pod end is configured (up, address, default route via the bridge)
only once it is in the pod's namespace, through a netlink socket opened there.

pyroute2 0.9's synchronous IPRoute runs its own event loop and fails inside a running one, so
everything here is `async` on AsyncIPRoute. A socket in another namespace is opened by a
short-lived thread that setns()es into it and back (setns(CLONE_NEWNET) is per thread); the
socket keeps the namespace it was created in. pyroute2's own `netns=` forks a child for that,
which a threaded daemon should not do.

Every failure is a NetworkError(op, target, errno). Imports nothing from api/lifecycle/status.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import threading
from contextlib import asynccontextmanager, contextmanager
from typing import AsyncIterator, Iterator

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from podrun.errors import NamespaceError, NetworkError
from podrun.kernel import syscalls as sc

__all__ = ["rtnl", "netns_socket", "link_index", "link_names", "ensure_bridge", "delete_link",
           "add_veth", "configure_interface", "ipv4_routes", "bridge_ports", "NetworkError"]

_NETLINK_ROUTE = 0


@contextmanager
def _errors(op: str, target: str) -> Iterator[None]:
    """Translate pyroute2 and OS errors into NetworkError at the boundary."""
    try:
        yield
    except NetworkError:
        raise
    except NetlinkError as exc:
        raise NetworkError(op, target, exc.code) from exc
    except OSError as exc:
        raise NetworkError(op, target, exc.errno or 0, exc.strerror or "") from exc


def netns_socket(netns_path: str) -> socket.socket:
    """A NETLINK_ROUTE socket living in the network namespace at netns_path (/proc/PID/ns/net).

    Done in a throw-away thread: it joins the namespace, opens the socket, and goes back, so
    neither the caller's thread nor a pooled one is ever left in a pod's namespace.
    """
    result: dict[str, object] = {}

    def work() -> None:
        own = target = -1
        try:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            sc.setns(target, sc.CLONE_NEWNET, netns_path)
            try:
                result["sock"] = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_ROUTE)
            finally:
                sc.setns(own, sc.CLONE_NEWNET, "/proc/thread-self/ns/net")
        except (OSError, NamespaceError) as exc:
            result["error"] = exc
        finally:
            for fd in (own, target):
                if fd >= 0:
                    os.close(fd)

    t = threading.Thread(target=work, name="podrun-netns")
    t.start()
    t.join()
    err = result.get("error")
    if isinstance(err, NamespaceError):
        raise NetworkError("open netlink socket in", netns_path, err.errno) from err
    if isinstance(err, OSError):
        raise NetworkError("open netlink socket in", netns_path, err.errno or 0) from err
    sock = result["sock"]
    assert isinstance(sock, socket.socket)
    return sock


@asynccontextmanager
async def rtnl(netns_path: str | None = None) -> AsyncIterator[AsyncIPRoute]:
    """An AsyncIPRoute on the host's namespace, or on the one at netns_path."""
    target = netns_path or "host network namespace"
    fileno = None
    if netns_path:
        fileno = netns_socket(netns_path).detach()
    with _errors("open netlink", target):
        ipr = AsyncIPRoute(fileno=fileno) if fileno is not None else AsyncIPRoute()
        await ipr.__aenter__()
    try:
        yield ipr
    finally:
        await ipr.__aexit__(None, None, None)


async def link_index(ipr: AsyncIPRoute, name: str) -> int | None:
    with _errors("look up link", name):
        found = await ipr.link_lookup(ifname=name)
    return found[0] if found else None


async def link_names(ipr: AsyncIPRoute) -> dict[str, int | None]:
    """Every link's name with the index of its master (bridge), or None."""
    out: dict[str, int | None] = {}
    with _errors("list links", ""):
        async for link in await ipr.link("dump"):
            out[link.get("ifname")] = link.get("master")
    return out


async def bridge_ports(ipr: AsyncIPRoute, bridge: str) -> list[str]:
    idx = await link_index(ipr, bridge)
    if idx is None:
        return []
    return [name for name, master in (await link_names(ipr)).items() if master == idx]


async def ensure_bridge(ipr: AsyncIPRoute, name: str, address: str, prefixlen: int) -> int:
    """The bridge `name`, created if missing, holding address/prefixlen and up. Idempotent."""
    idx = await link_index(ipr, name)
    if idx is None:
        with _errors("create bridge", name):
            try:
                await ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as exc:
                if exc.code != 17:  # EEXIST: made meanwhile, fine
                    raise
        idx = await link_index(ipr, name)
        if idx is None:
            raise NetworkError("create bridge", name, 19)
    with _errors("list addresses of", name):
        have = [a.get("address") async for a in await ipr.addr("dump", index=idx)]
    if address not in have:
        with _errors(f"add address {address}/{prefixlen} to", name):
            await ipr.addr("add", index=idx, address=address, prefixlen=prefixlen)
    with _errors("set link up", name):
        await ipr.link("set", index=idx, state="up")
    return idx


async def delete_link(ipr: AsyncIPRoute, name: str) -> bool:
    """Delete link `name` (a veth takes its peer with it); False if it was not there."""
    idx = await link_index(ipr, name)
    if idx is None:
        return False
    with _errors("delete link", name):
        try:
            await ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code == 19:  # ENODEV: gone meanwhile (its namespace was destroyed)
                return False
            raise
    return True


async def add_veth(ipr: AsyncIPRoute, host_name: str, peer_name: str, netns_path: str, master: int) -> None:
    """A veth pair: host_name here (a port of bridge `master`, up), peer_name inside netns_path."""
    with _errors("open namespace", netns_path):
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _errors("create veth", host_name):
            await ipr.link("add", ifname=host_name, kind="veth",
                           peer={"ifname": peer_name, "net_ns_fd": fd})
    finally:
        os.close(fd)
    idx = await link_index(ipr, host_name)
    if idx is None:
        raise NetworkError("create veth", host_name, 19)
    with _errors("attach to bridge", host_name):
        await ipr.link("set", index=idx, master=master, state="up")


async def configure_interface(ipr: AsyncIPRoute, name: str, address: str, prefixlen: int,
                              gateway: str | None) -> None:
    """In ipr's namespace: `name` up with address/prefixlen, default route via gateway."""
    idx = await link_index(ipr, name)
    if idx is None:
        raise NetworkError("configure", name, 19)
    with _errors(f"add address {address}/{prefixlen} to", name):
        await ipr.addr("add", index=idx, address=address, prefixlen=prefixlen)
    with _errors("set link up", name):
        await ipr.link("set", index=idx, state="up")
    if gateway:
        with _errors(f"add default route via {gateway} on", name):
            await ipr.route("add", dst="0.0.0.0/0", gateway=gateway, oif=idx)


async def ipv4_routes(ipr: AsyncIPRoute) -> list[tuple[ipaddress.IPv4Network, str]]:
    """The host's IPv4 destinations with their interface: main-table routes and addresses."""
    names: dict[int, str] = {}
    with _errors("list links", ""):
        async for link in await ipr.link("dump"):
            names[link["index"]] = link.get("ifname")
    out: list[tuple[ipaddress.IPv4Network, str]] = []
    with _errors("list routes", ""):
        async for r in await ipr.route("dump", family=socket.AF_INET, table=254):
            dst = r.get("dst") or "0.0.0.0"
            out.append((ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False),
                        names.get(r.get("oif"), "?")))
    with _errors("list addresses", ""):
        async for a in await ipr.addr("dump", family=socket.AF_INET):
            out.append((ipaddress.IPv4Network(f"{a.get('address')}/{a['prefixlen']}", strict=False),
                        names.get(a["index"], "?")))
    return out
