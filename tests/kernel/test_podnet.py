"""The pod network for real: bridge, veth pairs, leases, teardown (runtime/podnet.py, kernel/network.py).

Uses its own bridge and /24 (never podrun0) and sends traffic only to our own namespaces.
"""
from __future__ import annotations

import asyncio
import errno
import os
import socket
import subprocess
import time
import uuid

import pytest

from podrun.runtime import sandbox as S
from podrun.runtime.podnet import PodNetwork, veth_name

from podenv import pod


BRIDGE = f"prk{os.getpid() % 100000:05d}"
SUBNET = f"10.{150 + os.getpid() % 50}.{os.getpid() % 250}.0/24"


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


@pytest.fixture
def network(tmp_path):
    n = PodNetwork(str(tmp_path / "lib"), bridge=BRIDGE, subnet=SUBNET, host_ip="192.0.2.99")
    yield n
    subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)   # even when a test failed
    for line in _links().splitlines():
        if f"master {BRIDGE} " in line:
            subprocess.run(["ip", "link", "del", line.split(":")[1].strip().split("@")[0]], capture_output=True)


def _connect_errno(ip: str, port: int = 9) -> int:
    """0 if something listens, ECONNREFUSED if the pod answered with a reset, else the failure."""
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect((ip, port))
            return 0
        except socket.timeout:
            return errno.ETIMEDOUT
        except OSError as exc:
            return exc.errno or -1


def test_two_sandboxes_get_distinct_ips_are_reachable_and_leave_nothing(tmp_path, pause_binary, network, leak_check):
    async def main():
        infos = []
        for name in ("a", "b"):
            p = pod(name)
            p["metadata"]["uid"] = str(uuid.uuid4())
            infos.append(await S.start_sandbox(p, str(tmp_path / name), pause_binary, network=network))
        ips = [i.pod_ip for i in infos]
        assert len(set(ips)) == 2 and all(ip.startswith(SUBNET.rsplit(".", 1)[0]) for ip in ips)
        hosts = (tmp_path / "a" / "hosts").read_text()
        assert f"{ips[0]}\ta\n" in hosts
        for ip in ips:   # a reset from the pod's kernel proves the route both ways
            assert await asyncio.to_thread(_connect_errno, ip) == errno.ECONNREFUSED
        assert veth_name(infos[0].pod_uid) in _links()
        for info in infos:
            await S.stop_sandbox(info, network=network)
            await S.stop_sandbox(info, network=network)   # idempotent
        return infos
    infos = asyncio.run(main())
    links = _links()
    assert all(veth_name(i.pod_uid) not in links for i in infos)
    assert BRIDGE not in links                            # the last pod took the bridge with it
    assert network.ipam.leases() == {}


def test_host_network_sandbox_keeps_the_host_namespaces_and_ip(tmp_path, pause_binary, network, leak_check):
    async def main():
        p = pod("hn", hostNetwork=True)
        p["metadata"]["uid"] = str(uuid.uuid4())
        info = await S.start_sandbox(p, str(tmp_path), pause_binary, network=network)
        try:
            assert info.pod_ip == "192.0.2.99" and "net" not in info.ns_paths and "uts" not in info.ns_paths
            assert os.stat(f"/proc/{info.pause_pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
            assert info.hostname == socket.gethostname()
            assert (tmp_path / "hosts").read_text().startswith(open("/etc/hosts").read()[:20])
        finally:
            await S.stop_sandbox(info, network=network)
    asyncio.run(main())
    assert network.ipam.leases() == {}


def test_teardown_after_a_crash_works_from_the_uid_alone(tmp_path, network, leak_check):
    async def main():
        holder = subprocess.Popen(["unshare", "-n", "sleep", "60"])
        try:
            time.sleep(0.1)
            uid = str(uuid.uuid4())
            await network.setup(uid, holder.pid)
            fresh = PodNetwork(network.ipam.dir.rsplit("/ipam/", 1)[0], bridge=BRIDGE, subnet=SUBNET)
            await fresh.teardown(uid)      # a new daemon knows nothing but the uid
            await fresh.teardown(uid)
            assert veth_name(uid) not in _links() and fresh.ipam.leases() == {}
        finally:
            holder.kill()
            holder.wait()
    asyncio.run(main())


def test_reconcile_frees_leases_and_veths_of_pods_that_are_gone(tmp_path, network, leak_check):
    async def main():
        holders = [subprocess.Popen(["unshare", "-n", "sleep", "60"]) for _ in range(2)]
        try:
            time.sleep(0.1)
            live, dead = str(uuid.uuid4()), str(uuid.uuid4())
            await network.setup(live, holders[0].pid)
            await network.setup(dead, holders[1].pid)
            freed = await network.reconcile({live})
            assert len(freed) == 1 and list(network.ipam.leases().values()) == [live]
            assert veth_name(dead) not in _links() and veth_name(live) in _links()
            await network.teardown(live)
        finally:
            for h in holders:
                h.kill()
                h.wait()
    asyncio.run(main())
