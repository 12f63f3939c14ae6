"""Kubernetes' defaults (pkg/apis/core/v1/defaults.go) on a v1 Pod dict."""
from __future__ import annotations

import copy

import pytest

from podrun.api.defaults import apply_defaults, default_image_pull_policy

MINIMAL = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    "spec": {
        "initContainers": [{"name": "init", "image": "busybox:1.36"}],
        "containers": [{
            "name": "app", "image": "busybox",
            "ports": [{"containerPort": 8080}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
            "resources": {"limits": {"cpu": "1"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        }],
        "volumes": [{"name": "data"}, {"name": "host", "hostPath": {"path": "/srv"}}],
    },
}

GOLDEN = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "initContainers": [{
            "name": "init", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "resources": {},
        }],
        "containers": [{
            "name": "app", "image": "busybox", "imagePullPolicy": "Always",
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "livenessProbe": {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                              "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                              "failureThreshold": 3},
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5, "timeoutSeconds": 1,
                               "successThreshold": 1, "failureThreshold": 3},
            "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name",
                                                               "apiVersion": "v1"}}}],
        }],
        "volumes": [{"name": "data", "emptyDir": {}},
                    {"name": "host", "hostPath": {"path": "/srv", "type": ""}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler", "securityContext": {}, "enableServiceLinks": True,
    },
}


def test_defaults_golden():
    assert apply_defaults(MINIMAL) == GOLDEN


def test_apply_defaults_returns_a_copy_and_is_idempotent():
    before = copy.deepcopy(MINIMAL)
    once = apply_defaults(MINIMAL)
    assert MINIMAL == before
    assert apply_defaults(once) == once


def test_values_already_set_are_kept():
    pod = {"metadata": {"name": "a", "namespace": "ns"},
           "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "dnsPolicy": "Default",
                    "enableServiceLinks": False,
                    "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never",
                                    "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/q"}}}}]}}
    out = apply_defaults(pod)
    assert out["metadata"]["namespace"] == "ns"
    assert (out["spec"]["restartPolicy"], out["spec"]["terminationGracePeriodSeconds"],
            out["spec"]["dnsPolicy"], out["spec"]["enableServiceLinks"]) == ("Never", 0, "Default", False)
    c = out["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "Never"
    assert c["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/q", "scheme": "HTTP"}


def test_probe_numbers_of_zero_mean_unset_like_upstream():
    out = apply_defaults({"spec": {"containers": [{"name": "c", "image": "x", "startupProbe": {
        "tcpSocket": {"port": 1}, "periodSeconds": 0, "failureThreshold": 30}}]}})
    probe = out["spec"]["containers"][0]["startupProbe"]
    assert (probe["periodSeconds"], probe["failureThreshold"], probe["timeoutSeconds"]) == (10, 30, 1)


def test_host_network_ports_get_host_port():
    out = apply_defaults({"spec": {"hostNetwork": True,
                                   "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}})
    assert out["spec"]["containers"][0]["ports"][0] == {"containerPort": 80, "hostPort": 80, "protocol": "TCP"}


@pytest.mark.parametrize("image, policy", [
    ("busybox", "Always"),
    ("busybox:latest", "Always"),
    ("busybox:1.36", "IfNotPresent"),
    ("localhost:5000/busybox", "Always"),
    ("localhost:5000/busybox:v1", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ("docker.io/library/busybox:latest", "Always"),
])
def test_image_pull_policy_follows_the_tag(image, policy):
    assert default_image_pull_policy(image) == policy


def test_wrongly_typed_input_is_left_for_validation():
    pod = {"metadata": "x", "spec": {"containers": "nope", "volumes": [3]}}
    assert apply_defaults(pod)["spec"]["containers"] == "nope"
