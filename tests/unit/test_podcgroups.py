"""The resource rules of runtime/podcgroups.py: kubelet MilliCPUToShares/MilliCPUToQuota,
calculateLinuxResources and ResourceConfigForPod, and where a pod's cgroup lives for each QoS
class."""
from __future__ import annotations

from podrun.kernel.cgroups import Limits
from podrun.runtime.podcgroups import (container_limits, milli_cpu_to_quota, milli_cpu_to_shares, pod_cgroup_path,
                                       pod_limits)


def c(name="c", requests=None, limits=None, restart=None):
    out = {"name": name, "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}
    if restart:
        out["restartPolicy"] = restart
    return out


def pod(uid="u1", containers=(), init=()):
    return {"metadata": {"uid": uid}, "spec": {"containers": list(containers), "initContainers": list(init)}}


def test_milli_cpu_to_shares_follows_the_kubelet():
    shares = [milli_cpu_to_shares(m) for m in (0, 1, 100, 250, 1000, 10**6)]
    assert shares == [2, 2, 102, 256, 1024, 262144]


def test_milli_cpu_to_quota_follows_the_kubelet():
    assert milli_cpu_to_quota(0) is None
    assert milli_cpu_to_quota(500) == 50000
    assert milli_cpu_to_quota(1) == 1000                  # never below 1 ms per period
    assert milli_cpu_to_quota(250, period=200000) == 50000


def test_container_without_resources_gets_minimum_shares_only():
    assert container_limits(c()) == Limits(cpu_shares=2)


def test_container_cpu_limit_gives_quota_and_shares_from_the_limit():
    assert container_limits(c(limits={"cpu": "500m", "memory": "128Mi"})) == Limits(
        memory=128 * 2**20, cpu_quota=50000, cpu_shares=512)


def test_container_request_sets_shares_quantities_as_kubernetes_parses_them():
    assert container_limits(c(requests={"cpu": "0.25"}, limits={"cpu": 1, "memory": "1G"})) == Limits(
        memory=10**9, cpu_quota=100000, cpu_shares=256)


def test_tiny_cpu_limit_is_raised_to_the_minimum_quota():
    assert container_limits(c(limits={"cpu": "1m"})).cpu_quota == 1000


def test_pod_limits_sum_only_when_every_container_has_one():
    spec = pod(containers=[c("a", limits={"cpu": "200m", "memory": "64Mi"}),
                           c("b", limits={"cpu": "300m", "memory": "64Mi"})])["spec"]
    assert pod_limits(spec, 1024) == Limits(memory=128 * 2**20, cpu_quota=50000, cpu_shares=512, pids=1024)
    spec = pod(containers=[c("a", limits={"cpu": "200m", "memory": "64Mi"}), c("b", requests={"cpu": "100m"})])["spec"]
    assert pod_limits(spec, None) == Limits(cpu_shares=307)


def test_pod_limits_init_containers_take_the_max_with_sidecars_counted():
    spec = pod(containers=[c("m", limits={"memory": "100Mi"})],
               init=[c("side", limits={"memory": "10Mi"}, restart="Always"),
                     c("big", limits={"memory": "500Mi"})])["spec"]
    assert pod_limits(spec, None).memory == 510 * 2**20


def test_besteffort_pod_gets_minimum_shares_and_the_pids_limit():
    assert pod_limits(pod(containers=[c()])["spec"], 64) == Limits(cpu_shares=2, pids=64)
    assert pod_limits(pod(containers=[c()])["spec"], 0).pids is None


def test_pod_cgroup_path_follows_qos_class():
    assert pod_cgroup_path("podrun", pod("g", [c(limits={"cpu": "1", "memory": "1Gi"})])) == "podrun/podg"
    assert pod_cgroup_path("podrun", pod("b", [c(requests={"cpu": "1"})])) == "podrun/burstable/podb"
    assert pod_cgroup_path("podrun", pod("e", [c()])) == "podrun/besteffort/pode"
