"""The v1 Pod schema and its strict decoder (passes 1 and 2 of validation).

  1. type and version: apiVersion v1, kind Pod, in kubectl's words (check_kind);
  2. strict decoding against SCHEMA, a compact table of the v1 Pod's fields and their types:
     an unknown field or a wrongly typed value is an error at its path (decode).
"""
from __future__ import annotations

from typing import Any

from podrun.api.fielderrors import ErrorList, format_value
from podrun.api.fieldpath import FieldPath
from podrun.api.quantity import parse_quantity

__all__ = ["SCHEMA", "PROBE_HANDLERS", "UNSUPPORTED_VOLUME_SOURCES", "check_kind", "decode"]

# ---- the v1 Pod schema ----------------------------------------------------------------------
# Field types: string, integer, boolean, intOrString, quantity, any (accepted, not inspected),
# []T, map[string]T, a schema name below, or "unsupported" (valid Kubernetes, refused by podrun).

PROBE_HANDLERS = {"exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction",
                   "grpc": "GRPCAction"}
_SECCOMP = "SeccompProfile"

SCHEMA: dict[str, dict[str, str]] = {
    "Pod": {"apiVersion": "string", "kind": "string", "metadata": "ObjectMeta", "spec": "PodSpec",
            "status": "any"},
    "ObjectMeta": {
        "name": "string", "generateName": "string", "namespace": "string", "selfLink": "string",
        "uid": "string", "resourceVersion": "string", "generation": "integer",
        "creationTimestamp": "any", "deletionTimestamp": "any", "deletionGracePeriodSeconds": "integer",
        "labels": "map[string]string", "annotations": "map[string]string", "ownerReferences": "any",
        "finalizers": "[]string", "managedFields": "any"},
    "PodSpec": {
        "volumes": "[]Volume", "initContainers": "[]Container", "containers": "[]Container",
        "ephemeralContainers": "unsupported", "restartPolicy": "string",
        "terminationGracePeriodSeconds": "integer", "activeDeadlineSeconds": "integer",
        "dnsPolicy": "string", "nodeSelector": "map[string]string", "serviceAccountName": "string",
        "serviceAccount": "string", "automountServiceAccountToken": "boolean", "nodeName": "string",
        "hostNetwork": "boolean", "hostPID": "boolean", "hostIPC": "boolean",
        "shareProcessNamespace": "boolean", "securityContext": "PodSecurityContext",
        "imagePullSecrets": "[]LocalObjectReference", "hostname": "string", "subdomain": "string",
        "affinity": "any", "schedulerName": "string", "tolerations": "[]Toleration",
        "hostAliases": "[]HostAlias", "priorityClassName": "string", "priority": "integer",
        "dnsConfig": "PodDNSConfig", "readinessGates": "[]PodReadinessGate",
        "runtimeClassName": "string", "enableServiceLinks": "boolean", "preemptionPolicy": "string",
        "overhead": "map[string]quantity", "topologySpreadConstraints": "any",
        "setHostnameAsFQDN": "boolean", "os": "PodOS", "hostUsers": "boolean",
        "schedulingGates": "any", "resourceClaims": "any", "resources": "ResourceRequirements"},
    "Container": {
        "name": "string", "image": "string", "command": "[]string", "args": "[]string",
        "workingDir": "string", "ports": "[]ContainerPort", "envFrom": "[]EnvFromSource",
        "env": "[]EnvVar", "resources": "ResourceRequirements", "resizePolicy": "any",
        "restartPolicy": "string", "volumeMounts": "[]VolumeMount", "volumeDevices": "unsupported",
        "livenessProbe": "Probe", "readinessProbe": "Probe", "startupProbe": "Probe",
        "lifecycle": "Lifecycle", "terminationMessagePath": "string",
        "terminationMessagePolicy": "string", "imagePullPolicy": "string",
        "securityContext": "SecurityContext", "stdin": "boolean", "stdinOnce": "boolean",
        "tty": "boolean"},
    "ContainerPort": {"name": "string", "hostPort": "integer", "containerPort": "integer",
                      "protocol": "string", "hostIP": "string"},
    "EnvVar": {"name": "string", "value": "string", "valueFrom": "EnvVarSource"},
    "EnvVarSource": {"fieldRef": "ObjectFieldSelector", "resourceFieldRef": "ResourceFieldSelector",
                     "configMapKeyRef": "KeySelector", "secretKeyRef": "KeySelector"},
    "ObjectFieldSelector": {"apiVersion": "string", "fieldPath": "string"},
    "ResourceFieldSelector": {"containerName": "string", "resource": "string", "divisor": "quantity"},
    "KeySelector": {"name": "string", "key": "string", "optional": "boolean"},
    "EnvFromSource": {"prefix": "string", "configMapRef": "EnvFromRef", "secretRef": "EnvFromRef"},
    "EnvFromRef": {"name": "string", "optional": "boolean"},
    "ResourceRequirements": {"limits": "map[string]quantity", "requests": "map[string]quantity",
                             "claims": "[]ResourceClaim"},
    "ResourceClaim": {"name": "string", "request": "string"},
    "VolumeMount": {"name": "string", "readOnly": "boolean", "recursiveReadOnly": "string",
                    "mountPath": "string", "subPath": "string", "mountPropagation": "string",
                    "subPathExpr": "string"},
    "Probe": {**PROBE_HANDLERS, "initialDelaySeconds": "integer", "timeoutSeconds": "integer",
              "periodSeconds": "integer", "successThreshold": "integer",
              "failureThreshold": "integer", "terminationGracePeriodSeconds": "integer"},
    "ExecAction": {"command": "[]string"},
    "HTTPGetAction": {"path": "string", "port": "intOrString", "host": "string", "scheme": "string",
                      "httpHeaders": "[]HTTPHeader"},
    "HTTPHeader": {"name": "string", "value": "string"},
    "TCPSocketAction": {"port": "intOrString", "host": "string"},
    "GRPCAction": {"port": "integer", "service": "string"},
    "Lifecycle": {"postStart": "LifecycleHandler", "preStop": "LifecycleHandler",
                  "stopSignal": "string"},
    "LifecycleHandler": {"exec": "ExecAction", "httpGet": "HTTPGetAction",
                         "tcpSocket": "TCPSocketAction", "sleep": "SleepAction"},
    "SleepAction": {"seconds": "integer"},
    "SecurityContext": {
        "capabilities": "Capabilities", "privileged": "boolean", "seLinuxOptions": "SELinuxOptions",
        "windowsOptions": "any", "runAsUser": "integer", "runAsGroup": "integer",
        "runAsNonRoot": "boolean", "readOnlyRootFilesystem": "boolean",
        "allowPrivilegeEscalation": "boolean", "procMount": "string", "seccompProfile": _SECCOMP,
        "appArmorProfile": _SECCOMP},
    "PodSecurityContext": {
        "seLinuxOptions": "SELinuxOptions", "windowsOptions": "any", "runAsUser": "integer",
        "runAsGroup": "integer", "runAsNonRoot": "boolean", "supplementalGroups": "[]integer",
        "supplementalGroupsPolicy": "string", "fsGroup": "integer",
        "fsGroupChangePolicy": "string", "sysctls": "[]NameValue", "seccompProfile": _SECCOMP,
        "appArmorProfile": _SECCOMP, "seLinuxChangePolicy": "string"},
    "Capabilities": {"add": "[]string", "drop": "[]string"},
    "SELinuxOptions": {"user": "string", "role": "string", "type": "string", "level": "string"},
    _SECCOMP: {"type": "string", "localhostProfile": "string"},
    "NameValue": {"name": "string", "value": "string"},
    "LocalObjectReference": {"name": "string"},
    "Toleration": {"key": "string", "operator": "string", "value": "string", "effect": "string",
                   "tolerationSeconds": "integer"},
    "HostAlias": {"ip": "string", "hostnames": "[]string"},
    "PodDNSConfig": {"nameservers": "[]string", "searches": "[]string", "options": "[]DNSOption"},
    "DNSOption": {"name": "string", "value": "string"},
    "PodReadinessGate": {"conditionType": "string"},
    "PodOS": {"name": "string"},
    "Volume": {"name": "string", "hostPath": "HostPathVolumeSource", "emptyDir": "EmptyDirVolumeSource"},
    "HostPathVolumeSource": {"path": "string", "type": "string"},
    "EmptyDirVolumeSource": {"medium": "string", "sizeLimit": "quantity"},
}

# Volume sources of the v1 schema that podrun does not implement: accepted by the decoder (they
# are valid Kubernetes), refused with a clear error.
UNSUPPORTED_VOLUME_SOURCES = (
    "configMap", "secret", "downwardAPI", "projected", "persistentVolumeClaim", "ephemeral", "csi",
    "image", "nfs", "iscsi", "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc",
    "azureFile", "azureDisk", "vsphereVolume", "quobyte", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo")
for _source in UNSUPPORTED_VOLUME_SOURCES:
    SCHEMA["Volume"][_source] = "unsupported"


# ---- pass 1 and 2: kind and strict decoding ----------------------------------------------------

def check_kind(obj: dict, errs: ErrorList) -> bool:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version:
        errs.add("", "apiVersion not set")
    if not kind:
        errs.add("", "kind not set")
    if not api_version or not kind:
        return False
    if api_version != "v1" or kind != "Pod":
        # kubectl's RESTMapper: `no matches for kind "Deployment" in version "apps/v1"`
        errs.add("", f"no matches for kind {format_value(str(kind))} in version {format_value(str(api_version))}"
                     + ("" if kind == "Pod" else "; podrun only runs kind \"Pod\" in version \"v1\""))
        return False
    return True


def decode(value: Any, typ: str, path: FieldPath, errs: ErrorList) -> None:
    """Strict decoding of `value` as `typ`; every mismatch is reported where it is."""
    if value is None:
        return  # JSON null: the field is unset
    if typ == "any":
        return
    if typ == "unsupported":
        errs.forbidden(path, f"{str(path).rsplit('.', 1)[-1]} is not supported by podrun yet")
        return
    if typ.startswith("[]"):
        if not isinstance(value, list):
            errs.invalid(path, value, f"must be a list (got {_type_name(value)})")
            return
        for i, item in enumerate(value):
            decode(item, typ[2:], path.index(i), errs)
        return
    if typ.startswith("map[string]"):
        if not isinstance(value, dict):
            errs.invalid(path, value, f"must be a map of string keys (got {_type_name(value)})")
            return
        for k, item in value.items():
            if item is None and typ == "map[string]string":
                errs.invalid(path.key(k), item, "must be a string (got null)")
                continue
            decode(item, typ[len("map[string]"):], path.key(k), errs)
        return
    if typ in SCHEMA:
        if not isinstance(value, dict):
            errs.invalid(path, value, f"must be an object (got {_type_name(value)})")
            return
        fields = SCHEMA[typ]
        for k, item in value.items():
            if k not in fields:
                errs.add(path.child(k), f"unknown field {format_value(k)}")
                continue
            decode(item, fields[k], path.child(k), errs)
        return
    message = _scalar_error(value, typ)
    if message:
        errs.invalid(path, value, message)


def _scalar_error(value: Any, typ: str) -> str:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if typ == "string" and not isinstance(value, str):
        return f"must be a string (got {_type_name(value)})"
    if typ == "integer" and not is_int:
        return f"must be an integer (got {_type_name(value)})"
    if typ == "boolean" and not isinstance(value, bool):
        return f"must be a boolean (got {_type_name(value)})"
    if typ == "intOrString" and not (is_int or isinstance(value, str)):
        return f"must be an integer or a string (got {_type_name(value)})"
    if typ == "quantity":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return f"must be a quantity (got {_type_name(value)})"
        try:
            parse_quantity(value)
        except ValueError as exc:
            return str(exc)
    return ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__
