"""daemon/kube's pure parts: discovery negotiation and documents, Table negotiation, kubeconfig
merging, and the watch hub's resourceVersions, history and 410 (no daemon, no network)."""
from __future__ import annotations

import asyncio

import pytest

from podrun.daemon.kube import discovery, kubeconfig, openapi, tables
from podrun.daemon.kube.watch import Expired, PodWatchHub

KUBECTL_DISCOVERY_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                            "application/json")
KUBECTL_TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


def test_discovery_negotiation_follows_the_clients_order():
    assert discovery.negotiate(KUBECTL_DISCOVERY_ACCEPT) == "v2"
    assert discovery.negotiate("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList") == "v2beta1"
    assert discovery.negotiate("application/json") is None
    assert discovery.negotiate("") is None
    assert discovery.content_type("v2") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def test_aggregated_discovery_lists_pods_with_subresources_and_metrics():
    core = discovery.aggregated("v2", legacy=True)
    assert core["kind"] == "APIGroupDiscoveryList" and core["apiVersion"] == "apidiscovery.k8s.io/v2"
    [group] = core["items"]
    [v1] = group["versions"]
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"} and pods["scope"] == "Namespaced"
    assert pods["shortNames"] == ["po"] and {"get", "list", "watch", "create", "delete"} <= set(pods["verbs"])
    assert [s["subresource"] for s in pods["subresources"]] == ["attach", "exec", "log", "portforward", "status"]
    named = discovery.aggregated("v2", legacy=False)
    assert [g["metadata"]["name"] for g in named["items"]] == ["metrics.k8s.io"]
    legacy = discovery.resource_list("", "v1")
    assert "pods/log" in [r["name"] for r in legacy["resources"]]
    assert discovery.resource_list("apps", "v1") is None
    assert discovery.api_group_list()["groups"][0]["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"


def test_openapi_has_the_patch_operation_kubectls_validation_check_looks_for():
    index = openapi.index()["paths"]
    assert index["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    doc = openapi.document("", "v1")
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert openapi.document("apps", "v1") is None


def test_table_negotiation_and_rows():
    assert tables.wants_table(KUBECTL_TABLE_ACCEPT) == "v1"
    assert tables.wants_table("application/json") is None
    pod = {"metadata": {"name": "a", "namespace": "ns", "labels": {"x": "y"},
                        "creationTimestamp": "2020-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "c"}], "nodeName": "n"},
           "status": {"phase": "Succeeded", "containerStatuses": [
               {"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}
    t = tables.pod_table([pod], "v1", "Metadata", "7")
    assert [c["name"] for c in t["columnDefinitions"] if c["priority"] == 0] == ["Name", "Ready", "Status", "Restarts", "Age"]
    [row] = t["rows"]
    assert row["cells"][:4] == ["a", "0/1", "Completed", 0] and row["cells"][6] == "n"
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]}
    assert row["conditions"][0]["type"] == "Completed"
    assert "object" not in tables.pod_table([pod], "v1", "None", "7")["rows"][0]
    assert tables.pod_table([pod], "v1", "Metadata", "7", columns=False)["columnDefinitions"] == []


def test_kubeconfig_merge_keeps_the_users_entries_and_context():
    ours = {"clusters": [{"name": "podrun", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "podrun-admin", "user": {}}],
            "contexts": [{"name": "podrun", "context": {"cluster": "podrun", "user": "podrun-admin"}}]}
    mine = {"current-context": "work", "clusters": [{"name": "work"}], "users": [{"name": "me"}],
            "contexts": [{"name": "work"}, {"name": "podrun", "context": {"cluster": "old"}}]}
    merged, found = kubeconfig.merge(mine, ours)
    assert found and merged["current-context"] == "work"
    assert merged["contexts"] == [{"name": "work"}, ours["contexts"][0]]
    assert [c["name"] for c in merged["clusters"]] == ["work", "podrun"]
    fresh, found = kubeconfig.merge({}, ours)
    assert not found and fresh["current-context"] == "podrun" and fresh["kind"] == "Config"


def _pod(name: str, phase: str = "Pending", uid: str = "u") -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": uid + name}, "status": {"phase": phase}}


def test_watch_hub_versions_history_and_expiry():
    async def main():
        pods = [_pod("a")]
        hub = PodWatchHub(lambda: [dict(p) for p in pods], asyncio.Event)
        start = hub.rv
        [a] = hub.sync()
        assert int(a["metadata"]["resourceVersion"]) == start + 1
        assert hub.sync()[0]["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]  # no change, no version
        pods[0] = _pod("a", "Running")
        pods.append(_pod("b"))
        hub.sync()
        pods.pop(0)
        hub.sync()
        assert [(e.type, e.object["metadata"]["name"]) for e in hub.since(start)] == [
            ("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
        assert [e.rv for e in hub.since(start)] == list(range(start + 1, start + 5))
        assert hub.since(start + 4) == []
        pods[0] = _pod("b", uid="other")             # same name, new uid: the old one went first
        hub.sync()
        assert [e.type for e in hub.since(start + 4)] == ["DELETED", "ADDED"]
        with pytest.raises(Expired):
            hub.since(start - 1)
    asyncio.run(main())


def test_watch_hub_expires_versions_that_fell_out_of_the_history(monkeypatch):
    from podrun.daemon.kube import watch
    monkeypatch.setattr(watch, "HISTORY", 3)

    async def main():
        pods: list[dict] = []
        hub = PodWatchHub(lambda: [dict(p) for p in pods], asyncio.Event)
        start = hub.rv
        for i in range(5):                 # five ADDED events, the history keeps three
            pods.append(_pod(f"p{i}"))
            hub.sync()
        with pytest.raises(Expired):
            hub.since(start + 1)
        assert [e.rv for e in hub.since(start + 2)] == [start + 3, start + 4, start + 5]
    asyncio.run(main())
