"""IP leases on disk and the subnet checks of the pod network (runtime/ipam.py, runtime/podnet.py).

No root: the lease store is a temporary directory, the host's routes a list.
"""
from __future__ import annotations

import ipaddress
import os

import pytest

from podrun.errors import NetworkError, PodrunError
from podrun.runtime.ipam import Ipam
from podrun.runtime.podnet import SubnetOverlap, check_overlap, parse_subnet, pods_on_disk, veth_name

N = ipaddress.IPv4Network


def test_first_lease_skips_network_and_gateway_and_is_written_with_the_uid(tmp_path):
    ipam = Ipam(str(tmp_path / "br"), N("10.89.0.0/16"))
    assert ipam.allocate("uid-a") == "10.89.0.2"
    assert (tmp_path / "br" / "10.89.0.2").read_text() == "uid-a"
    assert str(ipam.gateway) == "10.89.0.1"


def test_the_same_uid_gets_its_lease_back(tmp_path):
    ipam = Ipam(str(tmp_path), N("10.89.0.0/24"))
    ip = ipam.allocate("uid-a")
    assert ipam.allocate("uid-a") == ip
    assert ipam.leases() == {ip: "uid-a"}


def test_distinct_pods_get_distinct_addresses_round_robin_after_release(tmp_path):
    ipam = Ipam(str(tmp_path), N("10.89.0.0/24"))
    a, b = ipam.allocate("a"), ipam.allocate("b")
    assert a != b
    assert ipam.release("a") == [a]
    assert ipam.allocate("c") not in (a, b)   # a freed address is not handed out again at once


def test_exhausted_subnet_raises_enospc_and_leases_nothing(tmp_path):
    ipam = Ipam(str(tmp_path), N("10.89.0.0/29"))   # .2 … .6: five pod addresses
    got = {ipam.allocate(f"pod{i}") for i in range(5)}
    assert len(got) == 5 and "10.89.0.1" not in got and "10.89.0.7" not in got
    with pytest.raises(NetworkError) as err:
        ipam.allocate("one-too-many")
    assert "ENOSPC" in str(err.value) and "10.89.0.0/29" in str(err.value)
    ipam.release("pod3")
    assert ipam.allocate("one-too-many") == "10.89.0.5"


def test_an_existing_lease_file_is_never_given_again(tmp_path):
    ipam = Ipam(str(tmp_path), N("10.89.0.0/24"))
    os.makedirs(tmp_path, exist_ok=True)
    (tmp_path / "10.89.0.2").write_text("someone-else")   # another process got there first
    assert ipam.allocate("me") == "10.89.0.3"


def test_release_is_idempotent_and_reconcile_frees_only_dead_pods(tmp_path):
    ipam = Ipam(str(tmp_path), N("10.89.0.0/24"))
    for uid in ("live", "dead1", "dead2"):
        ipam.allocate(uid)
    assert ipam.release("nobody") == []
    freed = ipam.reconcile({"live"})
    assert len(freed) == 2
    assert list(ipam.leases().values()) == ["live"]


def test_clear_removes_every_lease_and_the_directory(tmp_path):
    ipam = Ipam(str(tmp_path / "br"), N("10.89.0.0/24"))
    ipam.allocate("a")
    ipam.clear()
    assert not (tmp_path / "br").exists()


def test_subnet_overlapping_a_host_route_is_refused_with_the_fix():
    with pytest.raises(SubnetOverlap) as err:
        check_overlap(N("10.89.0.0/16"), [(N("10.0.0.0/8"), "eth0")], "podrun0")
    assert str(err.value) == "subnet 10.89.0.0/16 overlaps the route 10.0.0.0/8 on eth0: set PODRUN_SUBNET"


def test_subnet_inside_or_around_a_host_network_is_refused():
    with pytest.raises(SubnetOverlap):
        check_overlap(N("10.0.0.0/8"), [(N("10.89.3.0/24"), "wg0")], "podrun0")


def test_default_route_and_our_own_bridge_do_not_count_as_overlaps():
    check_overlap(N("10.89.0.0/16"), [(N("0.0.0.0/0"), "eth0"), (N("10.89.0.0/16"), "podrun0"),
                                      (N("192.0.2.0/24"), "eth0")], "podrun0")


def test_bad_subnets_are_refused():
    for text in ("10.89.0.1/16", "not-a-net", "10.89.0.0/31"):
        with pytest.raises(PodrunError):
            parse_subnet(text)


def test_veth_name_is_veth_and_eight_hex_of_the_uid():
    assert veth_name("3f2a9c1e-0b6d-4c1a-9f00-123456789abc") == "veth3f2a9c1e"
    assert len(veth_name("3f2a9c1e-0b6d-4c1a-9f00-123456789abc")) <= 15


def test_pods_on_disk_skips_pods_being_deleted(tmp_path):
    for name, meta in (("default_a", {"uid": "u1"}), ("default_b", {"uid": "u2", "deletionTimestamp": "x"})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pod.json").write_text('{"metadata": %s}' % __import__("json").dumps(meta))
    assert pods_on_disk(str(tmp_path)) == {"u1"}
    assert pods_on_disk(str(tmp_path / "missing")) == set()
