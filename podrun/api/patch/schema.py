"""The patch metadata of the kinds podrun serves: which lists merge, and on which key.

A strategic merge patch needs, for every field it recurses into, the field's patch strategy and
merge key: the `patchStrategy:"merge" patchMergeKey:"name"` struct tags of the Go types
(k8s.io/api core/v1/types.go, apps/v1/types.go; k8s.io/apimachinery meta/v1/types.go). TYPES
lists only the fields that carry such a tag or lead to one; a field not listed has no tag, so its
lists are replaced and its maps merged, as upstream does for untagged fields.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Field", "Schema", "TYPES", "KINDS", "schema_for"]


@dataclass(frozen=True)
class Field:
    """One struct field: its type (a TYPES name, or "" when nothing below it is tagged), its
    patch strategies (`merge`, `replace`, `retainKeys`) and its merge key."""
    type: str = ""
    strategies: tuple[str, ...] = ()
    merge_key: str = ""


def _merge(type_: str, key: str = "", *extra: str) -> Field:
    return Field(type_, ("merge",) + extra, key)


_CONTAINER = {
    "ports": _merge("", "containerPort"), "env": _merge("", "name"),
    "volumeMounts": _merge("", "mountPath"), "volumeDevices": _merge("", "devicePath")}

_CONTAINER_STATUS = {
    "volumeMounts": _merge("", "mountPath"), "allocatedResourcesStatus": _merge("", "name")}

_CONDITIONS = {"conditions": _merge("", "type")}

TYPES: dict[str, dict[str, Field]] = {
    "ObjectMeta": {"ownerReferences": _merge("", "uid"), "finalizers": _merge("")},
    # core/v1
    "Pod": {"metadata": Field("ObjectMeta"), "spec": Field("PodSpec"), "status": Field("PodStatus")},
    "PodTemplateSpec": {"metadata": Field("ObjectMeta"), "spec": Field("PodSpec")},
    "PodSpec": {
        "volumes": _merge("", "name", "retainKeys"),
        "initContainers": _merge("Container", "name"),
        "containers": _merge("Container", "name"),
        "ephemeralContainers": _merge("Container", "name"),
        "imagePullSecrets": _merge("", "name"),
        "hostAliases": _merge("", "ip"),
        "topologySpreadConstraints": _merge("", "topologyKey"),
        "schedulingGates": _merge("", "name"),
        "resourceClaims": _merge("", "name", "retainKeys")},
    "Container": _CONTAINER,
    "PodStatus": {
        "conditions": _merge("", "type"), "hostIPs": _merge("", "ip"), "podIPs": _merge("", "ip"),
        "resourceClaimStatuses": _merge("", "name", "retainKeys"),
        "initContainerStatuses": Field("ContainerStatus"),
        "containerStatuses": Field("ContainerStatus"),
        "ephemeralContainerStatuses": Field("ContainerStatus")},
    "ContainerStatus": _CONTAINER_STATUS,
    "Service": {"metadata": Field("ObjectMeta"), "spec": Field("ServiceSpec"),
                "status": Field("Conditions")},
    "ServiceSpec": {"ports": _merge("", "port")},
    "Conditions": _CONDITIONS,
    "Endpoints": {"metadata": Field("ObjectMeta")},
    "Namespace": {"metadata": Field("ObjectMeta"), "status": Field("Conditions")},
    "Event": {"metadata": Field("ObjectMeta")},
    # apps/v1
    "Deployment": {"metadata": Field("ObjectMeta"), "spec": Field("DeploymentSpec"),
                   "status": Field("Conditions")},
    "DeploymentSpec": {"template": Field("PodTemplateSpec"),
                       "strategy": Field("", ("retainKeys",))},
    "ReplicaSet": {"metadata": Field("ObjectMeta"), "spec": Field("ReplicaSetSpec"),
                   "status": Field("Conditions")},
    "ReplicaSetSpec": {"template": Field("PodTemplateSpec")},
}

# (apiVersion, kind) -> the TYPES entry of its top-level struct
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Pod"): "Pod", ("v1", "Service"): "Service", ("v1", "Endpoints"): "Endpoints",
    ("v1", "Namespace"): "Namespace", ("v1", "Event"): "Event",
    ("apps/v1", "Deployment"): "Deployment", ("apps/v1", "ReplicaSet"): "ReplicaSet",
}


class Schema:
    """The patch metadata of one struct type; an untyped Schema("") knows no tags."""

    def __init__(self, type_name: str = ""):
        self.type_name = type_name
        self._fields = TYPES.get(type_name, {})

    def lookup(self, key: str) -> tuple["Schema", Field]:
        """The sub-schema and the patch metadata of field `key` (for a list: of its elements)."""
        field = self._fields.get(key, Field())
        return Schema(field.type), field


def schema_for(api_version: str, kind: str) -> Schema | None:
    """The schema of a served kind, None for a kind strategic merge patch does not know."""
    name = KINDS.get((api_version, kind))
    return Schema(name) if name else None
