"""The pod sandbox: pause process, namespaces, pod files (runtime/sandbox.py)."""
from __future__ import annotations

import asyncio
import os


from podrun.kernel import namespaces, procs
from podrun.runtime import sandbox as S
from podrun.runtime.state import load_sandbox

from podenv import PodEnv, pod



def test_hostname_is_spec_hostname_or_pod_name_truncated_to_63():
    assert S.pod_hostname(pod("web")) == "web"
    assert S.pod_hostname(pod("web", hostname="other")) == "other"
    long = "a" * 62 + "-b"
    assert S.pod_hostname(pod(long)) == "a" * 62  # cut at 63 → trailing '-' trimmed


def test_hosts_file_matches_the_kubelet_byte_for_byte():
    text = S.hosts_file_content("web", "", ["10.1.0.7"],
                                [{"ip": "123.45.67.89", "hostnames": ["foo", "bar"]}])
    assert text == ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
                    "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
                    "10.1.0.7\tweb\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n")
    assert "10.1" not in S.hosts_file_content("web", "", [], [])
    assert "10.1.0.7\tweb.sub.ns.svc.cluster.local\tweb\n" in S.hosts_file_content(
        "web", "sub.ns.svc.cluster.local", ["10.1.0.7"], [])


def test_resolv_conf_for_dns_policy_none_uses_only_dns_config(tmp_path):
    p = pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.2.3.4"], "searches": ["a.b"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    assert S.resolv_conf_content(p) == "nameserver 1.2.3.4\nsearch a.b\noptions ndots:2 edns0\n"
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 9.9.9.9\n")
    assert S.resolv_conf_content(pod(), str(host)) == "nameserver 9.9.9.9\n"


def test_sandbox_start_and_stop_leaves_no_process_and_no_files(tmp_path, pause_binary):
    async def main():
        info = await S.start_sandbox(pod("sb"), str(tmp_path), pause_binary)
        assert procs.alive(info.pause)
        assert load_sandbox(str(tmp_path / "sandbox.json")) == info
        assert (tmp_path / "hostname").read_text() == "sb\n"
        assert namespaces.ns_inode(info.ns_paths["net"]) != namespaces.ns_inode("/proc/self/ns/net")
        assert "pid" not in info.ns_paths
        await S.stop_sandbox(info)
        await S.stop_sandbox(info)  # idempotent
        return info
    info = asyncio.run(main())
    assert not os.path.exists(f"/proc/{info.pause_pid}") or not procs.alive(info.pause)
    assert sorted(os.listdir(tmp_path)) == []


def test_pod_has_loopback_up_and_its_own_ipc(tmp_path, pause_binary, busybox_rootfs, leak_check):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            return await env.run({"name": "c", "command": ["cat", "/sys/class/net/lo/flags"]})
    code, out, _ = asyncio.run(main())
    assert code == 0 and int(out, 16) & 1


def test_shared_pid_sandbox_pause_is_pid1_and_killing_it_ends_the_pod(tmp_path, pause_binary):
    async def main():
        info = await S.start_sandbox(pod(shareProcessNamespace=True), str(tmp_path), pause_binary)
        with open(f"/proc/{info.pause_pid}/status") as f:
            nspid = [l for l in f if l.startswith("NSpid:")][0].split()
        await S.stop_sandbox(info)
        return info, nspid
    info, nspid = asyncio.run(main())
    assert info.shares_pid and "pid" in info.ns_paths
    assert nspid[-1] == "1"
