"""Kubernetes' defaults for a v1 Pod, as the API server fills them before validation.

From pkg/apis/core/v1/defaults.go: SetDefaults_Pod, SetDefaults_PodSpec, SetDefaults_Container,
SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_ContainerPort, SetDefaults_Volume,
SetDefaults_HostPathVolumeSource, SetDefaults_ObjectFieldSelector. Values already set are kept;
a probe number of 0 means "unset" upstream, so it is defaulted too. Works on a deep copy and
tolerates wrongly typed input (validation reports those; defaults just skip them).
"""
from __future__ import annotations

import copy
from typing import Any

__all__ = ["apply_defaults", "default_image_pull_policy", "DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS"]

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def apply_defaults(pod: dict) -> dict:
    """A deep copy of `pod` with Kubernetes' defaults filled in."""
    out = copy.deepcopy(pod)
    meta = out.get("metadata")
    if isinstance(meta, dict) and not meta.get("namespace"):
        meta["namespace"] = "default"
    spec = out.get("spec")
    if isinstance(spec, dict):
        _default_pod_spec(spec)
    return out


def _default_pod_spec(spec: dict) -> None:
    # defaults.go SetDefaults_PodSpec / SetDefaults_Pod
    _setdefault(spec, "restartPolicy", "Always")
    _setdefault(spec, "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
    _setdefault(spec, "dnsPolicy", "ClusterFirst")
    _setdefault(spec, "schedulerName", "default-scheduler")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    host_network = spec.get("hostNetwork") is True
    for key in ("initContainers", "containers"):
        for c in _dicts(spec.get(key)):
            _default_container(c, host_network)
    for v in _dicts(spec.get("volumes")):
        _default_volume(v)


def _default_container(c: dict, host_network: bool) -> None:
    # defaults.go SetDefaults_Container
    if not c.get("imagePullPolicy") and isinstance(c.get("image"), str):
        c["imagePullPolicy"] = default_image_pull_policy(c["image"])
    _setdefault(c, "terminationMessagePath", "/dev/termination-log")
    _setdefault(c, "terminationMessagePolicy", "File")
    if c.get("resources") is None:
        c["resources"] = {}
    resources = c["resources"]
    if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
        # SetDefaults_Pod: a limit without a request sets the request to the limit
        requests = resources.get("requests")
        if requests is None:
            requests = resources["requests"] = {}
        if isinstance(requests, dict):
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)
    for p in _dicts(c.get("ports")):
        _setdefault(p, "protocol", "TCP")
        if host_network and not p.get("hostPort") and isinstance(p.get("containerPort"), int):
            p["hostPort"] = p["containerPort"]  # defaultHostNetworkPorts
    for e in _dicts(c.get("env")):
        field_ref = _dict(_dict(e.get("valueFrom")).get("fieldRef"))
        if field_ref and not field_ref.get("apiVersion"):
            field_ref["apiVersion"] = "v1"
    for name in _PROBES:
        probe = c.get(name)
        if isinstance(probe, dict):
            for key, value in _PROBE_DEFAULTS.items():
                if not probe.get(key):
                    probe[key] = value
            _default_handler(probe)
    lifecycle = _dict(c.get("lifecycle"))
    for hook in ("postStart", "preStop"):
        _default_handler(_dict(lifecycle.get(hook)))


def _default_handler(handler: dict) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        _setdefault(http_get, "path", "/")  # SetDefaults_HTTPGetAction
        _setdefault(http_get, "scheme", "HTTP")


_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret",
            "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder",
            "cephfs", "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
            "quobyte", "azureDisk", "photonPersistentDisk", "projected", "portworxVolume", "scaleIO",
            "storageos", "csi", "ephemeral", "image")


def _default_volume(v: dict) -> None:
    if not any(v.get(s) is not None for s in _SOURCES):
        v["emptyDir"] = {}  # SetDefaults_Volume: no source means an emptyDir
    host_path = v.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""  # SetDefaults_HostPathVolumeSource


def default_image_pull_policy(image: str) -> str:
    """Always for `:latest` or no tag (and no digest), else IfNotPresent (SetDefaults_Container)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _setdefault(d: dict, key: str, value: Any) -> None:
    if d.get(key) in (None, ""):
        d[key] = value


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _dicts(x: Any) -> list[dict]:
    return [i for i in x if isinstance(i, dict)] if isinstance(x, list) else []
