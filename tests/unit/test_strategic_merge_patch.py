"""Strategic merge patch as kube-apiserver applies it (apimachinery strategicpatch/patch.go).

The cases follow upstream's patch_test.go, restated on the real fields of the kinds podrun
serves (containers by name, env by name, finalizers as a set, tolerations replaced, ...)."""
from __future__ import annotations

import copy
import json

import pytest

from podrun.api.patch import PatchError, apply_patch, apply_strategic_merge_patch
from podrun.api.patch.schema import schema_for

SMP = "application/strategic-merge-patch+json"


def smp(original: dict, patch: dict, api_version: str = "v1", kind: str = "Pod") -> dict:
    return apply_strategic_merge_patch(original, patch, schema_for(api_version, kind))


def names(items: list[dict]) -> list:
    return [i["name"] for i in items]


def pod(*containers: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": list(containers), **spec}}


def ctr(name: str, **fields) -> dict:
    return {"name": name, "image": "busybox", **fields}


# ---- the patch kubectl apply sends ------------------------------------------------------------

def test_kubectl_apply_patch_removes_label_and_env_and_keeps_the_container():
    live = pod(ctr("nginx", image="nginx:1.27", env=[{"name": "MODE", "value": "x"}],
                   ports=[{"containerPort": 80, "protocol": "TCP"}],
                   terminationMessagePath="/dev/termination-log"),
               restartPolicy="Always", dnsPolicy="ClusterFirst")
    live["metadata"]["labels"]["tier"] = "be"
    live["status"] = {"phase": "Running"}
    body = (b'{"metadata":{"labels":{"app":null,"tier":"fe"}},"spec":{"$setElementOrder/containers":'
            b'[{"name":"nginx"}],"containers":[{"env":null,"name":"nginx"}]}}')
    out = apply_patch("v1", "Pod", live, body, SMP)
    assert out["metadata"]["labels"] == {"tier": "fe"}
    assert out["spec"]["containers"] == [{
        "name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "terminationMessagePath": "/dev/termination-log"}]
    assert out["spec"]["restartPolicy"] == "Always" and out["status"] == {"phase": "Running"}


def test_the_original_and_the_patch_are_left_untouched():
    live = pod(ctr("a", env=[{"name": "X", "value": "1"}]))
    patch = {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}
    live_copy, patch_copy = copy.deepcopy(live), copy.deepcopy(patch)
    smp(live, patch)
    assert live == live_copy and patch == patch_copy


# ---- maps and null ----------------------------------------------------------------------------

def test_null_deletes_a_key_and_a_null_for_a_missing_key_is_ignored():
    out = smp(pod(ctr("a")), {"metadata": {"labels": {"app": None, "gone": None}},
                              "spec": {"nodeName": None}})
    assert out["metadata"]["labels"] == {} and "nodeName" not in out["spec"]


def test_a_new_map_value_loses_its_nulls_and_directive_maps():
    out = smp(pod(ctr("a")), {"metadata": {"annotations": {"a": "1", "b": None,
                                                         "c": {"$patch": "delete"}}}})
    assert out["metadata"]["annotations"] == {"a": "1"}


def test_a_value_of_another_type_is_replaced():
    live = pod(ctr("a"))
    live["spec"]["affinity"] = ["not", "a", "map"]
    out = smp(live, {"spec": {"affinity": {"nodeAffinity": {}}}})
    assert out["spec"]["affinity"] == {"nodeAffinity": {}}


def test_maps_of_unknown_fields_merge_and_their_lists_are_replaced():
    live = pod(ctr("a"))
    live["spec"]["dnsConfig"] = {"nameservers": ["1.1.1.1"], "searches": ["a.local"]}
    out = smp(live, {"spec": {"dnsConfig": {"nameservers": ["9.9.9.9"]}}})
    assert out["spec"]["dnsConfig"] == {"nameservers": ["9.9.9.9"], "searches": ["a.local"]}


def test_patch_replace_directive_in_a_map_replaces_the_map():
    live = pod(ctr("a", securityContext={"runAsUser": 1000, "privileged": False}))
    out = smp(live, {"spec": {"containers": [
        {"name": "a", "securityContext": {"$patch": "replace", "runAsNonRoot": True}}]}})
    assert out["spec"]["containers"][0]["securityContext"] == {"runAsNonRoot": True}


def test_patch_replace_directive_at_the_top_replaces_the_whole_object():
    out = smp(pod(ctr("a")), {"$patch": "replace", "kind": "Pod"})
    assert out == {"kind": "Pod"}


def test_patch_delete_directive_in_a_map_empties_it_and_drops_a_missing_one():
    live = pod(ctr("a"), securityContext={"runAsUser": 1})
    out = smp(live, {"spec": {"securityContext": {"$patch": "delete"},
                              "dnsConfig": {"$patch": "delete"}}})
    assert out["spec"]["securityContext"] == {} and "dnsConfig" not in out["spec"]


def test_patch_merge_directive_in_a_map_is_an_unknown_patch_type():
    with pytest.raises(PatchError) as e:
        smp(pod(ctr("a")), {"metadata": {"labels": {"$patch": "merge", "x": "1"}}})
    assert (e.value.code, e.value.message) == (
        500, "unknown patch type: merge in map: map[$patch:merge x:1]")


# ---- lists merged by key ----------------------------------------------------------------------

def test_containers_merge_by_name_and_a_new_one_is_appended():
    live = pod(ctr("a", image="a:1"), ctr("b", image="b:1"))
    out = smp(live, {"spec": {"containers": [{"name": "b", "image": "b:2"},
                                             {"name": "c", "image": "c:1"}]}})
    assert out["spec"]["containers"] == [ctr("a", image="a:1"), ctr("b", image="b:2"),
                                         {"name": "c", "image": "c:1"}]


def test_env_merges_by_name_inside_a_merged_container():
    live = pod(ctr("a", env=[{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]))
    out = smp(live, {"spec": {"containers": [{"name": "a", "env": [
        {"name": "Y", "value": None, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "Z", "value": "3"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "X", "value": "1"},
        {"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "Z", "value": "3"}]


def test_ports_merge_by_container_port_and_mounts_by_mount_path():
    live = pod(ctr("a", ports=[{"containerPort": 80, "name": "http"}],
                   volumeMounts=[{"name": "data", "mountPath": "/data"}]))
    out = smp(live, {"spec": {"containers": [{"name": "a",
        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]}})
    c = out["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"},
                          {"containerPort": 443}]
    assert c["volumeMounts"] == [{"name": "data", "mountPath": "/data", "readOnly": True}]


def test_lists_without_a_patch_strategy_are_replaced():
    live = pod(ctr("a", args=["-v"], command=["sh"]),
               tolerations=[{"key": "a", "operator": "Exists"}])
    out = smp(live, {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}],
                              "containers": [{"name": "a", "args": ["-q"]}]}})
    assert out["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert out["spec"]["containers"][0]["args"] == ["-q"]
    assert out["spec"]["containers"][0]["command"] == ["sh"]


def test_patch_delete_directive_removes_every_element_with_that_key():
    live = pod(ctr("a"), ctr("b"), ctr("a", image="dup"), ctr("c"))
    out = smp(live, {"spec": {"containers": [{"name": "a", "$patch": "delete"},
                                             {"name": "zz", "$patch": "delete"}]}})
    assert names(out["spec"]["containers"]) == ["b", "c"]


def test_patch_replace_directive_in_a_list_keeps_only_the_patch_elements():
    live = pod(ctr("a"), ctr("b"))
    out = smp(live, {"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c"}]}})
    assert out["spec"]["containers"] == [{"name": "c", "image": "c"}]
    assert "imagePullSecrets" not in live["spec"]
    for _ in range(2):  # an empty list, whether there was a list or not
        out = smp(live, {"spec": {"imagePullSecrets": [{"$patch": "replace"}]}})
        assert out["spec"]["imagePullSecrets"] == []
        live["spec"]["imagePullSecrets"] = [{"name": "reg"}]


def test_patch_merge_directive_in_a_list_is_refused():
    with pytest.raises(PatchError) as e:
        smp(pod(ctr("a")), {"spec": {"containers": [{"$patch": "merge"}]}})
    assert (e.value.code, e.value.message) == (
        500, "merging lists cannot yet be specified in the patch")


def test_an_element_without_the_merge_key_is_refused_naming_the_key():
    with pytest.raises(PatchError) as e:
        smp(pod(ctr("a")), {"spec": {"containers": [{"image": "nginx"}]}})
    assert (e.value.code, e.value.reason, e.value.message) == (
        500, "", "map: map[image:nginx] does not contain declared merge key: name")


def test_a_list_of_lists_is_unprocessable():
    live = pod(ctr("a"))
    live["metadata"]["finalizers"] = []
    with pytest.raises(PatchError) as e:
        smp(live, {"metadata": {"finalizers": [["y"]]}})
    assert e.value.code == 422 and e.value.causes == [
        {"reason": "UnexpectedServerResponse", "message": "lists of lists are not supported"}]


def test_elements_of_different_types_are_refused():
    live = pod(ctr("a"))
    live["metadata"]["finalizers"] = ["x"]
    for odd, shown in ((1, "[[x] [1]]"), (["y"], "[[x] [[y]]]")):
        with pytest.raises(PatchError) as e:
            smp(live, {"metadata": {"finalizers": [odd]}})
        assert (e.value.code, e.value.message) == (
            500, f"list element types are not identical: {shown}")


def test_owner_references_merge_by_uid_and_status_conditions_by_type():
    live = pod(ctr("a"))
    live["metadata"]["ownerReferences"] = [{"uid": "u1", "kind": "ReplicaSet", "name": "rs"}]
    live["status"] = {"conditions": [{"type": "Ready", "status": "False"},
                                     {"type": "Initialized", "status": "True"}]}
    out = smp(live, {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]},
                     "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert out["metadata"]["ownerReferences"] == [
        {"uid": "u1", "kind": "ReplicaSet", "name": "rs", "controller": True}]
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "True"},
                                           {"type": "Initialized", "status": "True"}]


def test_service_ports_merge_by_port():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "v1", "Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_deployment_pod_template_containers_merge_by_name():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "d"}},
                                                "spec": {"containers": [ctr("a"), ctr("b")]}}}}
    out = smp(dep, {"spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "b", "image": "b:2"}]}}}}, "apps/v1", "Deployment")
    assert out["spec"]["replicas"] == 3
    assert out["spec"]["template"]["spec"]["containers"] == [ctr("a"), ctr("b", image="b:2")]


# ---- lists of primitives ----------------------------------------------------------------------

def test_finalizers_merge_as_a_set():
    live = pod(ctr("a"))
    live["metadata"]["finalizers"] = ["a/one", "a/two"]
    out = smp(live, {"metadata": {"finalizers": ["a/two", "a/three"]}})
    assert out["metadata"]["finalizers"] == ["a/one", "a/two", "a/three"]


def test_delete_from_primitive_list_removes_values_and_ignores_missing_ones():
    live = pod(ctr("a"))
    live["metadata"]["finalizers"] = ["a", "b", "a", "c"]
    out = smp(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}})
    assert out["metadata"]["finalizers"] == ["b", "c"]
    untouched = smp(pod(ctr("a")), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert "finalizers" not in untouched["metadata"]


def test_a_malformed_delete_from_primitive_list_key_is_a_bad_request():
    with pytest.raises(PatchError) as e:
        smp(pod(ctr("a")), {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}})
    assert (e.value.code, e.value.reason, e.value.message) == (
        400, "BadRequest", "invalid patch format of primitive list")


# ---- $setElementOrder -------------------------------------------------------------------------

def test_set_element_order_reorders_the_merged_list():
    live = pod(ctr("a"), ctr("b"), ctr("c"))
    out = smp(live, {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"},
                                                             {"name": "b"}]}})
    assert names(out["spec"]["containers"]) == ["c", "a", "b"]


@pytest.mark.parametrize("live, order, expected", [
    # upstream: "set elements order in a list with server-only items" 1, 2 and 3
    (["1", "3", "4", "2", "9"], ["4", "2", "3", "1"], ["4", "2", "3", "1", "9"]),
    (["1", "2", "9", "3", "4"], ["2", "1", "4", "3"], ["2", "1", "9", "4", "3"]),
    (["1", "2", "7", "9", "8", "3", "4"], ["2", "1", "4", "3"],
     ["2", "1", "7", "9", "8", "4", "3"]),
])
def test_set_element_order_keeps_server_only_items_near_their_live_neighbours(live, order, expected):
    out = smp(pod(*[ctr(n) for n in live]),
              {"spec": {"$setElementOrder/containers": [{"name": n} for n in order]}})
    assert names(out["spec"]["containers"]) == expected


def test_set_element_order_places_new_items_and_merges_changed_ones():
    live = pod(ctr("a"), ctr("b"))
    out = smp(live, {"spec": {"$setElementOrder/containers": [{"name": "new"}, {"name": "a"},
                                                             {"name": "b"}],
                              "containers": [{"name": "new", "image": "n"},
                                             {"name": "b", "image": "b:2"}]}})
    assert out["spec"]["containers"] == [{"name": "new", "image": "n"}, ctr("a"),
                                         ctr("b", image="b:2")]


def test_set_element_order_with_a_deletion_in_one_list_and_a_reorder_in_another():
    live = pod(ctr("a"), ctr("b"), volumes=[{"name": "c", "emptyDir": {}},
                                            {"name": "d", "emptyDir": {}}])
    out = smp(live, {"spec": {"$setElementOrder/containers": [{"name": "b"}],
                              "$setElementOrder/volumes": [{"name": "d"}, {"name": "c"}],
                              "containers": [{"$patch": "delete", "name": "a"}]}})
    assert names(out["spec"]["containers"]) == ["b"]
    assert names(out["spec"]["volumes"]) == ["d", "c"]


def test_set_element_order_after_replacing_an_item_puts_server_only_items_as_upstream_does():
    # upstream orders server-only items by the live list as its in-place deletion and append
    # left it: [a, s, c] here, where a fresh reading of the live list would give [a, c, s]
    live = pod(ctr("a"), ctr("b"), ctr("s"))
    out = smp(live, {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                              "containers": [{"name": "c", "image": "c"},
                                             {"$patch": "delete", "name": "b"}]}})
    assert names(out["spec"]["containers"]) == ["a", "s", "c"]
    added = smp(live, {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
                                "containers": [{"name": "c", "image": "c"}]}})
    assert names(added["spec"]["containers"]) == ["a", "c", "b", "s"]


def test_set_element_order_naming_an_absent_item_orders_what_exists():
    live = pod(ctr("1"), ctr("3"))
    live["metadata"]["finalizers"] = ["1", "3"]
    out = smp(live, {"metadata": {"$setElementOrder/finalizers": ["3", "2", "1"]},
                     "spec": {"$setElementOrder/containers": [{"name": "3"}, {"name": "2"},
                                                             {"name": "1"}],
                              "containers": [{"name": "3", "image": "x"}]}})
    assert out["metadata"]["finalizers"] == ["3", "1"]
    assert out["spec"]["containers"] == [ctr("3", image="x"), ctr("1")]


def test_set_element_order_contradicting_the_patch_list_is_refused():
    live = pod(ctr("1"), ctr("3"), ctr("2"))
    with pytest.raises(PatchError) as e:
        smp(live, {"spec": {"$setElementOrder/containers": [{"name": "1"}, {"name": "2"},
                                                           {"name": "3"}],
                            "containers": [{"name": "3", "image": "x"}, {"name": "1"}]}})
    assert e.value.code == 500
    assert e.value.message == (
        "The order in patch list:\n[map[image:x name:3] map[name:1]]\n doesn't match "
        "$setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n")


def test_set_element_order_that_is_not_a_list_is_refused():
    with pytest.raises(PatchError) as e:
        smp(pod(ctr("a")), {"spec": {"$setElementOrder/containers": {"name": "a"}}})
    assert e.value.message == "expected a []interface {}, but received a map[string]interface {}"


# ---- $retainKeys ------------------------------------------------------------------------------

def test_retain_keys_clears_the_old_volume_source():
    live = pod(ctr("a"), volumes=[{"name": "data", "emptyDir": {}}])
    out = smp(live, {"spec": {"volumes": [{"$retainKeys": ["hostPath", "name"], "name": "data",
                                           "hostPath": {"path": "/srv"}}]}})
    assert out["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/srv"}}]


def test_retain_keys_clears_rolling_update_when_the_strategy_becomes_recreate():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}}
    out = smp(dep, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
              "apps/v1", "Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("strategy", [
    {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {"maxSurge": 1}},
    {"$retainKeys": "type", "type": "Recreate"},
])
def test_retain_keys_not_listing_a_patched_field_or_not_a_list_is_a_bad_request(strategy):
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"strategy": {"type": "RollingUpdate"}}}
    with pytest.raises(PatchError) as e:
        smp(dep, {"spec": {"strategy": strategy}}, "apps/v1", "Deployment")
    assert (e.value.code, e.value.message) == (400, "invalid patch format of retainKeys")


def test_status_of_a_refusal_is_the_apiserver_status_object():
    with pytest.raises(PatchError) as e:
        apply_patch("v1", "Pod", pod(ctr("a")), json.dumps(
            {"metadata": {"$deleteFromPrimitiveListx": []}}).encode(), SMP)
    assert e.value.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure", "reason": "BadRequest", "code": 400,
                                "message": "invalid patch format of primitive list"}


def test_namespace_and_endpoints_patch_by_their_own_metadata():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"},
          "status": {"phase": "Active", "conditions": [{"type": "A", "status": "True"}]}}
    out = smp(ns, {"status": {"conditions": [{"type": "B", "status": "False"}]}}, "v1", "Namespace")
    # a new element unrelated to the live order goes before the server-only ones (mergeSortedSlice)
    assert [c["type"] for c in out["status"]["conditions"]] == ["B", "A"]
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "s"},
          "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    out = smp(ep, {"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}, "v1", "Endpoints")
    assert out["subsets"] == [{"addresses": [{"ip": "10.0.0.2"}]}]  # no patch strategy: replaced
