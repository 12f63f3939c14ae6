"""api/qos.py: GetPodQOS (pkg/apis/core/helper/qos/qos.go), the one QoS rule that status,
the pod cgroups and describe share."""
import pytest

from podrun.api.qos import qos_class
from podrun.printers.describe import pod_qos
from podrun.runtime.podcgroups import pod_cgroup_path


def _res(requests=None, limits=None, name="c"):
    return {"name": name, "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}


@pytest.mark.parametrize("containers,qos", [
    ([{"name": "c"}], "BestEffort"),
    ([_res(requests={"cpu": "100m"})], "Burstable"),
    ([_res(limits={"cpu": "1", "memory": "64Mi"})], "Guaranteed"),
    ([_res(requests={"cpu": "1", "memory": "64Mi"}, limits={"cpu": "1", "memory": "64Mi"})], "Guaranteed"),
    ([_res(requests={"cpu": "1000m", "memory": "64Mi"}, limits={"cpu": "1", "memory": "64Mi"})], "Guaranteed"),
    ([_res(requests={"cpu": "500m", "memory": "64Mi"}, limits={"cpu": "1", "memory": "64Mi"})], "Burstable"),
    ([_res(limits={"cpu": "1", "memory": "64Mi"}), {"name": "d"}], "Burstable"),
    ([_res(requests={"ephemeral-storage": "1Gi"})], "BestEffort"),
    ([_res(requests={"cpu": "0", "memory": "0"})], "BestEffort"),            # zero does not count
    ([_res(limits={"cpu": "1", "memory": "64Mi", "ephemeral-storage": "1Gi"})], "Guaranteed"),
])
def test_qos_class(containers, qos):
    assert qos_class({"containers": containers}) == qos


def test_init_containers_count_too():
    guaranteed = _res(limits={"cpu": "1", "memory": "64Mi"})
    spec = {"containers": [guaranteed], "initContainers": [_res(requests={"cpu": "100m"}, name="i")]}
    assert qos_class(spec) == "Burstable"
    spec = {"containers": [guaranteed], "initContainers": [_res(limits={"cpu": "2", "memory": "1Gi"}, name="i")]}
    assert qos_class(spec) == "Guaranteed"


def test_every_reader_gets_the_same_class():
    spec = {"containers": [_res(requests={"memory": "64Mi"})]}
    pod = {"metadata": {"uid": "u1"}, "spec": spec}
    assert qos_class(spec) == pod_qos(pod) == "Burstable"
    assert pod_cgroup_path("podrun", pod) == "podrun/burstable/podu1"


def test_describe_shows_the_status_class_when_there_is_one():
    pod = {"spec": {"containers": [{"name": "c"}]}, "status": {"qosClass": "Guaranteed"}}
    assert pod_qos(pod) == "Guaranteed"
