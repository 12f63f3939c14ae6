"""The pod network end to end: one IP per pod, pods and the host reach pods, port-forward,
hostNetwork, /etc/hosts, and nothing left behind (no veth, no lease, no bridge).

Runs on the session's own bridge and /24 (PODRUN_BRIDGE / PODRUN_SUBNET from tests/conftest.py);
traffic goes only to loopback and to our own pods.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from helpers import as_yaml, pod, running, sh

SERVE = "mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def _veth(uid: str) -> str:
    return "veth" + uid.replace("-", "")[:8]


@pytest.fixture
def net(podrun):
    """The podrun fixture, and after the test (even a failed one): every pod gone, then no
    veth on the session's bridge, no lease and no bridge left."""
    bridge = podrun.env["PODRUN_BRIDGE"]
    lease_dir = os.path.join(podrun.roots.lib, "ipam", bridge)
    podrun.bridge, podrun.lease_dir = bridge, lease_dir
    yield podrun
    podrun("delete", "pods", "--all", "--force", "--grace-period=0")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (_leases(lease_dir) or f" {bridge}:" in _links()):
        time.sleep(0.2)
    ports = [l for l in _links().splitlines() if f"master {bridge} " in l]
    for line in ports:   # end only what this session made: ports of its own bridge
        subprocess.run(["ip", "link", "del", line.split(":")[1].strip().split("@")[0]], capture_output=True)
    assert ports == [], f"veths left on {bridge}: {ports}"
    assert _leases(lease_dir) == {}, "leases left behind"
    assert f" {bridge}:" not in _links(), f"bridge {bridge} left behind"


def _leases(lease_dir: str) -> dict[str, str]:
    if not os.path.isdir(lease_dir):
        return {}
    return {f: open(os.path.join(lease_dir, f)).read() for f in os.listdir(lease_dir)
            if re.fullmatch(r"[\d.]+", f)}


def _retry(fn, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while True:
        out = fn()
        if out.returncode == 0 or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def _http_get(ip: str, port: int, timeout: float = 20) -> str:
    """GET / from the host with a plain socket, retried until the server listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((ip, port), timeout=3) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data.decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_pod_gets_an_ip_from_the_session_subnet_and_status_shows_it(net):
    net.apply_text(as_yaml(pod("ipd", sh("main", "sleep 3600"))))
    p = net.wait_for("ipd", running)
    ip = p["status"]["podIP"]
    prefix = net.env["PODRUN_SUBNET"].rsplit(".", 1)[0] + "."
    assert ip.startswith(prefix) and p["status"]["podIPs"] == [{"ip": ip}]
    assert p["status"]["hostIP"] and p["status"]["hostIP"] != ip
    assert _leases(net.lease_dir) == {ip: p["metadata"]["uid"]}
    assert _veth(p["metadata"]["uid"]) in _links()
    eth0 = net("exec", "ipd", "--", "ip", "-o", "-4", "addr", "show", "eth0")
    assert f"inet {ip}/24" in eth0.stdout, eth0.stderr
    route = net("exec", "ipd", "--", "ip", "route")
    assert f"default via {prefix}1 dev eth0" in route.stdout
    assert ip in net("get", "pods", "-o", "wide").stdout


def test_two_pods_reach_each_other_by_ip(net):
    net.apply_text(as_yaml(pod("server", sh("web", SERVE)), pod("client", sh("main", "sleep 3600"))))
    ip = net.wait_for("server", running)["status"]["podIP"]
    net.wait_for("client", running)
    out = _retry(lambda: net("exec", "client", "--", "wget", "-qO-", f"http://{ip}:8080/"))
    assert out.stdout == "hello-from-server\n", out.stderr


def test_two_containers_of_one_pod_talk_over_localhost(net):
    net.apply_text(as_yaml(pod("duo", sh("web", SERVE), sh("side", "sleep 3600"))))
    net.wait_for("duo", running)
    out = _retry(lambda: net("exec", "-c", "side", "duo", "--", "wget", "-qO-",
                             "http://127.0.0.1:8080/"))
    assert out.stdout == "hello-from-duo\n", out.stderr


def test_the_host_reaches_a_pod_port_by_its_ip(net):
    net.apply_text(as_yaml(pod("hostreach", sh("web", SERVE))))
    ip = net.wait_for("hostreach", running)["status"]["podIP"]
    reply = _http_get(ip, 8080)
    assert reply.startswith("HTTP/1.") and reply.endswith("hello-from-hostreach\n")


def test_thirty_pods_get_distinct_ips_and_leave_no_veth_no_lease_no_bridge(net):
    names = [f"many-{i}" for i in range(30)]
    assert net.apply_text(as_yaml(*(pod(n, sh("main", "sleep 3600")) for n in names))).returncode == 0
    deadline = time.monotonic() + 120
    while True:
        items = json.loads(net("get", "pods", "-o", "json", check=True).stdout)["items"]
        if len(items) == 30 and all(running(p) for p in items):
            break
        assert time.monotonic() < deadline, "30 pods never all ran"
        time.sleep(0.5)
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in items}
    uids = [p["metadata"]["uid"] for p in items]
    assert len(set(ips.values())) == 30
    assert sorted(_leases(net.lease_dir)) == sorted(ips.values())
    assert all(_veth(u) in _links() for u in uids)
    assert net("delete", "pods", "--all", "--grace-period=0", "--force").returncode == 0
    deadline = time.monotonic() + 60
    while net("get", "pods", "-o", "json").stdout.count('"uid"') and time.monotonic() < deadline:
        time.sleep(0.3)
    links = _links()
    assert [u for u in uids if _veth(u) in links] == []
    assert _leases(net.lease_dir) == {}
    assert f" {net.bridge}:" not in links           # the last pod took the bridge with it


def test_bridge_is_gone_after_the_last_pod_is_deleted(net):
    net.apply_text(as_yaml(pod("first", sh("main", "sleep 3600")), pod("second", sh("main", "sleep 3600"))))
    net.wait_for("first", running)
    net.wait_for("second", running)
    assert f" {net.bridge}:" in _links()
    net("delete", "pod", "first", "--grace-period=0", "--force", check=True)
    assert f" {net.bridge}:" in _links()             # one pod still uses it
    net("delete", "pod", "second", "--grace-period=0", "--force", check=True)
    deadline = time.monotonic() + 20
    while f" {net.bridge}:" in _links() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f" {net.bridge}:" not in _links()


def test_port_forward_relays_an_http_request_and_exits_0_on_sigint(net):
    net.apply_text(as_yaml(pod("fwd", sh("web", SERVE))))
    ip = net.wait_for("fwd", running)["status"]["podIP"]
    _http_get(ip, 8080)                                   # the server listens
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "port-forward", "pod/fwd", ":8080"],
                            env=net.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        m = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n", first)
        assert m, (first, proc.stderr.read() if proc.poll() is not None else "")
        port = int(m.group(1))
        assert proc.stdout.readline() == f"Forwarding from [::1]:{port} -> 8080\n"
        reply = _http_get("127.0.0.1", port, timeout=5)
        assert reply.endswith("hello-from-fwd\n")
        assert proc.stdout.readline() == f"Handling connection for {port}\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_forward_to_a_pod_that_is_not_running_fails_in_kubectls_words(net):
    net.apply_text(as_yaml(pod("pending", sh("main", "sleep 3600", image="no-such-image"))))
    time.sleep(1)
    out = net("port-forward", "pod/pending", "8080:80", timeout=20)
    assert out.returncode == 1
    assert out.stderr == "error: unable to forward port because pod is not running. Current status=Pending\n"


def test_host_network_pod_has_the_hosts_ip_hostname_and_hosts_file(net):
    net.apply_text(as_yaml(pod("hostnet", sh("main", "hostname; sleep 3600"), hostNetwork=True)))
    p = net.wait_for("hostnet", running)
    assert p["status"]["podIP"] == p["status"]["hostIP"]
    assert net("exec", "hostnet", "--", "hostname").stdout == socket.gethostname() + "\n"
    assert net("exec", "hostnet", "--", "cat", "/etc/hosts").stdout == open("/etc/hosts").read()
    inside = net("exec", "hostnet", "--", "readlink", "/proc/1/ns/net")  # its own PID 1 is its process
    assert inside.stdout.strip() == os.readlink("/proc/self/ns/net")
    assert _leases(net.lease_dir) == {}


def test_etc_hosts_has_the_pod_ip_line_and_host_aliases(net):
    spec = pod("aliased", sh("main", "sleep 3600"),
               hostAliases=[{"ip": "123.45.67.89", "hostnames": ["foo", "bar"]}])
    net.apply_text(as_yaml(spec))
    ip = net.wait_for("aliased", running)["status"]["podIP"]
    hosts = net("exec", "aliased", "--", "cat", "/etc/hosts").stdout
    assert f"\n{ip}\taliased\n" in hosts
    assert hosts.endswith("\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n")


def test_system_reset_refuses_while_pods_exist(net):
    net.apply_text(as_yaml(pod("keeper", sh("main", "sleep 3600"))))
    net.wait_for("keeper", running)
    out = net("system", "reset")
    assert out.returncode == 1 and out.stderr == "error: 1 pod exists: delete it first\n"


def test_system_reset_removes_the_bridge_leases_and_cgroups_when_no_pod_is_left(net):
    net.apply_text(as_yaml(pod("passing", sh("main", "true"), restart="Never")))
    net.wait_for("passing", lambda p: p["status"].get("phase") == "Succeeded")
    parent = net.env["PODRUN_CGROUP_PARENT"]
    from podrun.kernel import cgroups
    tree = cgroups.Cgroup(cgroups.detect(), parent)
    assert tree.exists()
    net("delete", "pod", "passing", check=True)
    out = net("system", "reset", check=True)
    assert out.stdout.splitlines()[-1] == f"cgroup {parent} removed"
    assert not tree.exists()
