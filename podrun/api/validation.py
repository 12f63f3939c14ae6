"""Validation of a v1 Pod manifest, collecting every error of a document with its field path.

Three passes, in Kubernetes' order (decode -> default -> validate):
  1. type and version: apiVersion v1, kind Pod, in kubectl's words;
  2. strict decoding against SCHEMA, a compact table of the v1 Pod's fields and their types:
     an unknown field or a wrongly typed value is an error at its path;
  3. the rules of pkg/apis/core/validation/validation.go (ValidatePod, ValidatePodSpec,
     validateContainers, validateProbe, validateVolumes ...) on the defaulted pod, with upstream's
     messages (field/errors.go: "Required value", "Invalid value: X: ...", "Duplicate value",
     "Not found", "Unsupported value", "Forbidden").
Errors are InvalidManifest(file, doc, field_path, reason).
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, Iterable

from podrun.api.defaults import apply_defaults, default_image_pull_policy
from podrun.api.fieldpath import FieldPath
from podrun.api.limits import annotations_too_long
from podrun.api.security_validation import validate_container_security, validate_pod_security
from podrun.api.manifests import Document
from podrun.api.quantity import parse_quantity
from podrun.errors import InvalidManifest

__all__ = ["validate", "validate_all", "validate_update", "SCHEMA", "UNSUPPORTED_VOLUME_SOURCES", "UPDATABLE_FIELDS",
           "is_dns1123_label", "is_dns1123_subdomain", "is_valid_port_name", "is_env_var_name"]

# ---- the v1 Pod schema ----------------------------------------------------------------------
# Field types: string, integer, boolean, intOrString, quantity, any (accepted, not inspected),
# []T, map[string]T, a schema name below, or "unsupported" (valid Kubernetes, refused by podrun).

_PROBE_HANDLERS = {"exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction",
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
    "Probe": {**_PROBE_HANDLERS, "initialDelaySeconds": "integer", "timeoutSeconds": "integer",
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

# ---- name formats (k8s.io/apimachinery/pkg/util/validation/validation.go) ---------------------

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL = re.compile("^" + _DNS1123_LABEL_FMT + "$")
_DNS1123_SUBDOMAIN = re.compile("^" + _DNS1123_SUBDOMAIN_FMT + "$")
_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                      "or '-', and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric character")
_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR = re.compile("^" + _ENV_VAR_FMT + "$")
_ENV_VAR_MSG = ("a valid environment variable name must consist of alphabetic characters, digits, "
                "'_', '-', or '.', and must not start with a digit")
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME = re.compile("^" + _QUALIFIED_NAME_FMT + "$")
_QUALIFIED_NAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                       "end with an alphanumeric character")
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE = re.compile("^" + _LABEL_VALUE_FMT + "$")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', "
                    "'_' or '.', and must start and end with an alphanumeric character")
_HTTP_HEADER_FMT = "[-A-Za-z0-9]+"
_HTTP_HEADER = re.compile("^" + _HTTP_HEADER_FMT + "$")
_PORT_NAME_CHARS = re.compile("^[-a-z0-9]+$")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """validation.go RegexError, byte for byte (including its double space before `or`)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        if _DNS1123_SUBDOMAIN.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME (validation.go IsValidPortName)."""
    errs = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_env_var_name(value: str) -> list[str]:
    errs = []
    if not _ENV_VAR.match(value):
        errs.append(_regex_error(_ENV_VAR_MSG, _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _is_qualified_name(value: str) -> list[str]:
    """content.IsLabelKey: [prefix/]name."""
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in is_dns1123_subdomain(prefix))
    else:
        return [_regex_error("a qualified name " + _QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT,
                             "MyName", "my.name", "123-abc") +
                " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.match(name):
        errs.append("name part " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT,
                                                "MyName", "my.name", "123-abc"))
    return errs


def _is_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# ---- error collection ------------------------------------------------------------------------

def _fmt(value: Any) -> str:
    """field/errors.go prints strings quoted and numbers/bools bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else json.dumps(value, default=str)


class _Errors:
    """The ErrorList of one document; each helper is one of field/errors.go's constructors."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.items: list[InvalidManifest] = []

    def add(self, path: FieldPath | str, reason: str) -> None:
        text = str(path)
        if self.doc.prefix:
            text = f"{self.doc.prefix}.{text}" if text else self.doc.prefix
        self.items.append(InvalidManifest(self.doc.file, self.doc.index, text, reason))

    def required(self, path: FieldPath, detail: str = "") -> None:
        self.add(path, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: FieldPath, value: Any, detail: str) -> None:
        self.add(path, f"Invalid value: {_fmt(value)}: {detail}")

    def duplicate(self, path: FieldPath, value: Any) -> None:
        self.add(path, f"Duplicate value: {_fmt(value)}")

    def not_found(self, path: FieldPath, value: Any) -> None:
        self.add(path, f"Not found: {_fmt(value)}")

    def not_supported(self, path: FieldPath, value: Any, allowed: Iterable[str]) -> None:
        self.add(path, f"Unsupported value: {_fmt(value)}: supported values: "
                       + ", ".join(json.dumps(a) for a in allowed))

    def forbidden(self, path: FieldPath, detail: str) -> None:
        self.add(path, f"Forbidden: {detail}")


# ---- pass 1 and 2: kind and strict decoding ----------------------------------------------------

def _check_kind(obj: dict, errs: _Errors) -> bool:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version:
        errs.add("", "apiVersion not set")
    if not kind:
        errs.add("", "kind not set")
    if not api_version or not kind:
        return False
    if api_version != "v1" or kind != "Pod":
        # kubectl's RESTMapper: `no matches for kind "Deployment" in version "apps/v1"`
        errs.add("", f"no matches for kind {_fmt(str(kind))} in version {_fmt(str(api_version))}"
                     + ("" if kind == "Pod" else "; podrun only runs kind \"Pod\" in version \"v1\""))
        return False
    return True


def _decode(value: Any, typ: str, path: FieldPath, errs: _Errors) -> None:
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
            _decode(item, typ[2:], path.index(i), errs)
        return
    if typ.startswith("map[string]"):
        if not isinstance(value, dict):
            errs.invalid(path, value, f"must be a map of string keys (got {_type_name(value)})")
            return
        for k, item in value.items():
            if item is None and typ == "map[string]string":
                errs.invalid(path.key(k), item, "must be a string (got null)")
                continue
            _decode(item, typ[len("map[string]"):], path.key(k), errs)
        return
    if typ in SCHEMA:
        if not isinstance(value, dict):
            errs.invalid(path, value, f"must be an object (got {_type_name(value)})")
            return
        fields = SCHEMA[typ]
        for k, item in value.items():
            if k not in fields:
                errs.add(path.child(k), f"unknown field {_fmt(k)}")
                continue
            _decode(item, fields[k], path.child(k), errs)
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


# ---- pass 3: the rules of ValidatePod ----------------------------------------------------------

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_SCHEMES = ("HTTP", "HTTPS")
_MOUNT_PROPAGATION = ("None", "HostToContainer", "Bidirectional")
_HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                    "CharDevice", "BlockDevice")
_STORAGE_MEDIA = ("", "Memory", "HugePages")
_FIELD_REF_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                    "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                    "status.hostIPs", "status.podIP", "status.podIPs")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _items(x: Any) -> list[tuple[int, dict]]:
    return [(i, v) for i, v in enumerate(x) if isinstance(v, dict)] if isinstance(x, list) else []


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _validate_metadata(meta: dict, path: FieldPath, errs: _Errors) -> None:
    name = _str(meta.get("name"))
    if not name and not meta.get("generateName"):
        errs.required(path.child("name"), "name or generateName is required")
    elif name:
        for msg in is_dns1123_subdomain(name):
            errs.invalid(path.child("name"), name, msg)
    namespace = _str(meta.get("namespace"))
    if namespace:
        for msg in is_dns1123_label(namespace):
            errs.invalid(path.child("namespace"), namespace, msg)
    for key, value in _d(meta.get("labels")).items():
        for msg in _is_qualified_name(key):
            errs.invalid(path.child("labels"), key, msg)
        if isinstance(value, str):
            for msg in _is_label_value(value):
                errs.invalid(path.child("labels"), value, msg)
    for key in _d(meta.get("annotations")):
        for msg in _is_qualified_name(key.lower()):
            errs.invalid(path.child("annotations"), key, msg)
    if too_long := annotations_too_long(meta.get("annotations")):
        errs.add(path.child("annotations"), too_long)


def _validate_spec(spec: dict, path: FieldPath, errs: _Errors) -> None:
    volumes = _validate_volumes(spec.get("volumes"), path.child("volumes"), errs)
    init_containers = _items(spec.get("initContainers"))
    containers = _items(spec.get("containers"))
    if not containers:
        errs.required(path.child("containers"))
    grace = _int(spec.get("terminationGracePeriodSeconds"))
    seen: set[str] = set()
    for key, items in (("initContainers", init_containers), ("containers", containers)):
        for i, c in items:
            _validate_container(c, path.child(key).index(i), key == "initContainers", volumes, seen,
                                grace, errs)
    _enum(spec, "restartPolicy", _RESTART_POLICIES, path, errs)
    _enum(spec, "dnsPolicy", _DNS_POLICIES, path, errs)
    if spec.get("dnsPolicy") == "None" and not spec.get("dnsConfig"):
        errs.required(path.child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None")
    if grace is not None and grace < 0:
        errs.invalid(path.child("terminationGracePeriodSeconds"), grace,
                     "must be greater than or equal to 0")
    deadline = _int(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= 2147483647:
        errs.invalid(path.child("activeDeadlineSeconds"), deadline,
                     "must be between 1 and 2147483647, inclusive")
    for key in ("hostname", "subdomain"):
        value = _str(spec.get(key))
        if value:
            for msg in is_dns1123_label(value):
                errs.invalid(path.child(key), value, msg)
    for i, alias in _items(spec.get("hostAliases")):
        ip = _str(alias.get("ip"))
        if not ip:
            errs.required(path.child("hostAliases").index(i).child("ip"))
        elif not _is_ip(ip):
            errs.invalid(path.child("hostAliases").index(i).child("ip"), ip,
                         "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        for j, hostname in enumerate(alias.get("hostnames") or []):
            if isinstance(hostname, str):
                for msg in is_dns1123_subdomain(hostname):
                    errs.invalid(path.child("hostAliases").index(i).child("hostnames").index(j),
                                 hostname, msg)
    validate_pod_security(spec.get("securityContext"), path.child("securityContext"), errs)
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        errs.invalid(path.child("securityContext", "shareProcessNamespace"), True,
                     "ShareProcessNamespace and HostPID cannot both be enabled")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _enum(obj: dict, key: str, allowed: tuple[str, ...], path: FieldPath, errs: _Errors) -> None:
    value = obj.get(key)
    if isinstance(value, str) and value not in allowed:
        errs.not_supported(path.child(key), value, allowed)


def _validate_volumes(volumes: Any, path: FieldPath, errs: _Errors) -> set[str]:
    names: set[str] = set()
    for i, v in _items(volumes):
        vpath = path.index(i)
        name = _str(v.get("name"))
        if not name:
            errs.required(vpath.child("name"))
        else:
            for msg in is_dns1123_label(name):
                errs.invalid(vpath.child("name"), name, msg)
            if name in names:
                errs.duplicate(vpath.child("name"), name)
            names.add(name)
        # upstream counts sources in a fixed order and blames the second one found
        sources = [k for k in SCHEMA["Volume"] if k != "name" and v.get(k) is not None]
        if not sources:
            errs.required(vpath, "must specify a volume type")
        for extra in sources[1:]:
            errs.forbidden(vpath.child(extra), "may not specify more than 1 volume type")
        host_path = v.get("hostPath")
        if isinstance(host_path, dict):
            _validate_host_path(host_path, vpath.child("hostPath"), errs)
        empty_dir = v.get("emptyDir")
        if isinstance(empty_dir, dict):
            medium = empty_dir.get("medium")
            if isinstance(medium, str) and medium not in _STORAGE_MEDIA and not medium.startswith("HugePages-"):
                errs.not_supported(vpath.child("emptyDir", "medium"), medium, _STORAGE_MEDIA)
            _non_negative_quantity(empty_dir.get("sizeLimit"), vpath.child("emptyDir", "sizeLimit"), errs)
    return names


def _validate_host_path(host_path: dict, path: FieldPath, errs: _Errors) -> None:
    value = _str(host_path.get("path"))
    if not value:
        errs.required(path.child("path"))
    elif not value.startswith("/"):
        errs.invalid(path.child("path"), value, "must be an absolute path")
    elif ".." in value.split("/"):
        errs.invalid(path.child("path"), value, "must not contain '..'")
    _enum(host_path, "type", _HOST_PATH_TYPES, path, errs)


def _non_negative_quantity(value: Any, path: FieldPath, errs: _Errors) -> None:
    if value is None or isinstance(value, bool):
        return
    try:
        if parse_quantity(value) < 0:
            errs.invalid(path, value, "must be greater than or equal to 0")
    except ValueError:
        pass  # reported by decoding


def _validate_container(c: dict, path: FieldPath, is_init: bool, volumes: set[str], seen: set[str],
                        grace: int | None, errs: _Errors) -> None:
    name = _str(c.get("name"))
    if not name:
        errs.required(path.child("name"))
    else:
        for msg in is_dns1123_label(name):
            errs.invalid(path.child("name"), name, msg)
        if name in seen:
            errs.duplicate(path.child("name"), name)  # names are unique across init and regular containers
        seen.add(name)
    image = c.get("image")
    if not image:
        errs.required(path.child("image"))
    elif isinstance(image, str) and image != image.strip():
        errs.invalid(path.child("image"), image, "must not have leading or trailing whitespace")
    _enum(c, "imagePullPolicy", _PULL_POLICIES, path, errs)
    _enum(c, "terminationMessagePolicy", _TERMINATION_MESSAGE_POLICIES, path, errs)
    sidecar = is_init and c.get("restartPolicy") == "Always"
    if "restartPolicy" in c and c["restartPolicy"] is not None:
        if not is_init:
            errs.forbidden(path.child("restartPolicy"), "may not be set for non-init containers")
        elif isinstance(c["restartPolicy"], str) and not sidecar:
            errs.not_supported(path.child("restartPolicy"), c["restartPolicy"], ("Always",))
    port_names = _validate_ports(c.get("ports"), path.child("ports"), errs)
    _validate_env(c.get("env"), path.child("env"), errs)
    _validate_resources(_d(c.get("resources")), path.child("resources"), errs)
    validate_container_security(c.get("securityContext"), path.child("securityContext"), errs)
    _validate_mounts(c.get("volumeMounts"), path.child("volumeMounts"), volumes, errs)
    for kind in _PROBES:
        probe = c.get(kind)
        if not isinstance(probe, dict):
            continue
        if is_init and not sidecar:
            errs.forbidden(path.child(kind), "may not be set for init containers without restartPolicy=Always")
            continue
        _validate_probe(probe, kind, path.child(kind), port_names, errs)
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        if is_init and not sidecar:
            errs.forbidden(path.child("lifecycle"), "may not be set for init containers without restartPolicy=Always")
        else:
            for hook in ("postStart", "preStop"):
                handler = lifecycle.get(hook)
                if isinstance(handler, dict):
                    _validate_handler(handler, path.child("lifecycle", hook), port_names, grace, errs,
                                      ("exec", "httpGet", "tcpSocket", "sleep"))


def _validate_ports(ports: Any, path: FieldPath, errs: _Errors) -> set[str]:
    names: set[str] = set()
    for i, p in _items(ports):
        ppath = path.index(i)
        name = _str(p.get("name"))
        if name:
            for msg in is_valid_port_name(name):
                errs.invalid(ppath.child("name"), name, msg)
            if name in names:
                errs.duplicate(ppath.child("name"), name)
            names.add(name)
        container_port = p.get("containerPort")
        if container_port is None or container_port == 0:
            errs.required(ppath.child("containerPort"))
        elif _int(container_port) is not None and not 1 <= container_port <= 65535:
            errs.invalid(ppath.child("containerPort"), container_port, "must be between 1 and 65535, inclusive")
        host_port = _int(p.get("hostPort"))
        if host_port and not 1 <= host_port <= 65535:
            errs.invalid(ppath.child("hostPort"), host_port, "must be between 1 and 65535, inclusive")
        protocol = p.get("protocol")
        if isinstance(protocol, str) and protocol not in _PROTOCOLS:
            errs.not_supported(ppath.child("protocol"), protocol, _PROTOCOLS)
        host_ip = _str(p.get("hostIP"))
        if host_ip and not _is_ip(host_ip):
            errs.invalid(ppath.child("hostIP"), host_ip, "must be a valid IP address")
    return names


def _validate_env(env: Any, path: FieldPath, errs: _Errors) -> None:
    for i, e in _items(env):
        epath = path.index(i)
        name = _str(e.get("name"))
        if not name:
            errs.required(epath.child("name"))
        else:
            for msg in is_env_var_name(name):
                errs.invalid(epath.child("name"), name, msg)
        value_from = e.get("valueFrom")
        if not isinstance(value_from, dict):
            continue
        if e.get("value"):
            errs.invalid(epath.child("valueFrom"), "", "may not be specified when `value` is not empty")
        sources = [k for k, v in value_from.items() if v is not None]
        if not sources:
            errs.invalid(epath.child("valueFrom"), "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                                       "`configMapKeyRef` or `secretKeyRef`")
        elif len(sources) > 1:
            errs.invalid(epath.child("valueFrom"), "", "may not have more than one field specified at a time")
        field_ref = value_from.get("fieldRef")
        if isinstance(field_ref, dict):
            fpath = epath.child("valueFrom", "fieldRef", "fieldPath")
            field_path = _str(field_ref.get("fieldPath"))
            if not field_path:
                errs.required(fpath)
            elif field_path not in _FIELD_REF_PATHS and not re.match(
                    r"^metadata\.(labels|annotations)\['[^']+'\]$", field_path):
                errs.not_supported(fpath, field_path, _FIELD_REF_PATHS)
        for key in ("configMapKeyRef", "secretKeyRef"):
            ref = value_from.get(key)
            if isinstance(ref, dict) and not ref.get("key"):
                errs.required(epath.child("valueFrom", key, "key"))
        resource_ref = value_from.get("resourceFieldRef")
        if isinstance(resource_ref, dict) and not resource_ref.get("resource"):
            errs.required(epath.child("valueFrom", "resourceFieldRef", "resource"))


def _validate_resources(resources: dict, path: FieldPath, errs: _Errors) -> None:
    limits, requests = _d(resources.get("limits")), _d(resources.get("requests"))
    for key, table in (("limits", limits), ("requests", requests)):
        for name, value in table.items():
            _non_negative_quantity(value, path.child(key).key(name), errs)
    for name, request in requests.items():
        if name not in limits:
            continue
        try:
            if parse_quantity(request) > parse_quantity(limits[name]):
                errs.invalid(path.child("requests").key(name), _quantity_text(request),
                             f"must be less than or equal to {name} limit of {_quantity_text(limits[name])}")
        except ValueError:
            pass  # reported by decoding


def _quantity_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _validate_mounts(mounts: Any, path: FieldPath, volumes: set[str], errs: _Errors) -> None:
    mount_paths: set[str] = set()
    for i, m in _items(mounts):
        mpath = path.index(i)
        name = _str(m.get("name"))
        if not name:
            errs.required(mpath.child("name"))
        elif name not in volumes:
            errs.not_found(mpath.child("name"), name)
        mount_path = _str(m.get("mountPath"))
        if not mount_path:
            errs.required(mpath.child("mountPath"))
        else:
            if not mount_path.startswith("/"):
                errs.invalid(mpath.child("mountPath"), mount_path, "must be an absolute path")
            if mount_path in mount_paths:
                errs.invalid(mpath.child("mountPath"), mount_path, "must be unique")
            mount_paths.add(mount_path)
        for key in ("subPath", "subPathExpr"):
            sub = _str(m.get(key))
            if sub:
                _validate_local_descending_path(sub, mpath.child(key), errs)
        if m.get("subPath") and m.get("subPathExpr"):
            errs.invalid(mpath.child("subPathExpr"), m["subPathExpr"], "subPathExpr and subPath are mutually exclusive")
        _enum(m, "mountPropagation", _MOUNT_PROPAGATION, mpath, errs)


def _validate_local_descending_path(value: str, path: FieldPath, errs: _Errors) -> None:
    # validation.go validateLocalDescendingPath
    if value.startswith("/"):
        errs.invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        errs.invalid(path, value, "must not contain '..'")


def _validate_probe(probe: dict, kind: str, path: FieldPath, port_names: set[str], errs: _Errors) -> None:
    _validate_handler(probe, path, port_names, None, errs, tuple(_PROBE_HANDLERS))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        value = _int(probe.get(key))
        if value is not None and value < 0:
            errs.invalid(path.child(key), value, "must be greater than or equal to 0")
    success = _int(probe.get("successThreshold"))
    if kind != "readinessProbe" and success is not None and success != 1:
        errs.invalid(path.child("successThreshold"), success, "must be 1")
    grace = _int(probe.get("terminationGracePeriodSeconds"))
    if grace is not None:
        if kind == "readinessProbe":
            errs.invalid(path.child("terminationGracePeriodSeconds"), grace, "must not be set for readinessProbes")
        elif grace <= 0:
            errs.invalid(path.child("terminationGracePeriodSeconds"), grace, "must be greater than 0")


def _validate_handler(handler: dict, path: FieldPath, port_names: set[str], grace: int | None,
                      errs: _Errors, kinds: tuple[str, ...]) -> None:
    """Exactly one handler (validateHandler / validateProbe's handler count)."""
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        errs.required(path, "must specify a handler type")
        return
    for extra in present[1:]:
        errs.forbidden(path.child(extra), "may not specify more than 1 handler type")
    exec_action = handler.get("exec")
    if isinstance(exec_action, dict) and not exec_action.get("command"):
        errs.required(path.child("exec", "command"))
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        hpath = path.child("httpGet")
        if not http_get.get("path"):
            errs.required(hpath.child("path"))
        _validate_port(http_get.get("port"), hpath.child("port"), port_names, errs)
        _enum(http_get, "scheme", _SCHEMES, hpath, errs)
        for i, header in _items(http_get.get("httpHeaders")):
            hname = _str(header.get("name"))
            if hname is not None and not _HTTP_HEADER.match(hname):
                errs.invalid(hpath.child("httpHeaders").index(i).child("name"), hname,
                             _regex_error("a valid HTTP header must consist of alphanumeric characters or '-'",
                                          _HTTP_HEADER_FMT, "X-Header-Name"))
    tcp = handler.get("tcpSocket")
    if isinstance(tcp, dict):
        _validate_port(tcp.get("port"), path.child("tcpSocket", "port"), port_names, errs)
    grpc = handler.get("grpc")
    if isinstance(grpc, dict):
        port = _int(grpc.get("port"))
        if grpc.get("port") is None:
            errs.required(path.child("grpc", "port"))
        elif port is not None and not 1 <= port <= 65535:
            errs.invalid(path.child("grpc", "port"), port, "must be between 1 and 65535, inclusive")
    sleep = handler.get("sleep")
    if isinstance(sleep, dict):
        seconds = _int(sleep.get("seconds"))
        limit = grace if grace is not None else 30
        if sleep.get("seconds") is None:
            errs.required(path.child("sleep", "seconds"))
        elif seconds is not None and limit >= 0 and not 0 <= seconds <= limit:
            errs.invalid(path.child("sleep", "seconds"), seconds,
                         f"must be non-negative and less than terminationGracePeriodSeconds ({limit})")


def _validate_port(port: Any, path: FieldPath, port_names: set[str], errs: _Errors) -> None:
    """validatePortNumOrName, and podrun's rule that a named port names a containerPort."""
    if port is None or port == "" or port == 0:
        errs.required(path)
        return
    number = _int(port)
    if number is not None:
        if not 1 <= number <= 65535:
            errs.invalid(path, number, "must be between 1 and 65535, inclusive")
        return
    if not isinstance(port, str):
        return
    msgs = is_valid_port_name(port)
    for msg in msgs:
        errs.invalid(path, port, msg)
    if not msgs and port not in port_names:
        errs.not_found(path, port)


# ---- entry points --------------------------------------------------------------------------

def validate(doc: Document) -> list[InvalidManifest]:
    """Every error of one document (empty when it is a valid v1 Pod for podrun)."""
    errs = _Errors(doc)
    obj = doc.obj
    if not isinstance(obj, dict):
        errs.add("", "expected a mapping (an object) at the top level")
        return errs.items
    if not _check_kind(obj, errs):
        return errs.items
    _decode(obj, "Pod", FieldPath(), errs)
    pod = apply_defaults(obj)
    meta = pod.get("metadata")
    if isinstance(meta, dict):
        _validate_metadata(meta, FieldPath.root("metadata"), errs)
    elif meta is None:
        errs.required(FieldPath.root("metadata", "name"), "name or generateName is required")
    spec = pod.get("spec")
    if isinstance(spec, dict):
        _validate_spec(spec, FieldPath.root("spec"), errs)
    elif spec is None:
        errs.required(FieldPath.root("spec", "containers"))
    return errs.items


def validate_all(docs: list[Document]) -> list[InvalidManifest]:
    """Every error of every document, and a pod (namespace/name) given twice."""
    out: list[InvalidManifest] = []
    first: dict[tuple[str, str], Document] = {}
    for doc in docs:
        errors = validate(doc)
        out.extend(errors)
        if errors:
            continue
        meta = doc.obj.get("metadata") or {}
        key = (meta.get("namespace") or "default", meta.get("name") or "")
        if key in first:
            other = first[key]
            errs = _Errors(doc)
            errs.duplicate(FieldPath.root("metadata", "name"), key[1])
            out.append(InvalidManifest(doc.file, doc.index, errs.items[0].field_path,
                                       f'{errs.items[0].reason}: pod "{key[0]}/{key[1]}" is also in '
                                       f"{other.file} document {other.index}"))
        else:
            first[key] = doc
    return out


# ValidatePodUpdate (pkg/apis/core/validation/validation.go): the fields an update may change.
UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


def validate_update(old: dict, new: dict) -> str | None:
    """None when `new` may replace `old` in place, else Kubernetes' Forbidden message.

    podrun updates images (and labels/annotations) in place; the other updatable fields are
    accepted by this check like Kubernetes does, comparing defaulted specs.
    """
    old_spec = _d(apply_defaults(old).get("spec"))
    new_pod = apply_defaults(new)
    munged = dict(_d(new_pod.get("spec")))
    # mungedPodSpec: take the updatable fields from old, then compare the rest
    for key in ("containers", "initContainers"):
        old_list, new_list = old_spec.get(key), munged.get(key)
        if isinstance(old_list, list) and isinstance(new_list, list) and len(old_list) == len(new_list):
            munged[key] = [_with_image(n, o) for n, o in zip(new_list, old_list)]
    deadline, old_deadline = munged.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if deadline is not None and (old_deadline is None or (_int(deadline) or 0) <= (_int(old_deadline) or 0)):
        munged["activeDeadlineSeconds"] = old_deadline
    if deadline is None and old_deadline is None:
        munged.pop("activeDeadlineSeconds", None)
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = munged.get("tolerations") or []
    if isinstance(new_tolerations, list) and all(t in new_tolerations for t in old_tolerations):
        munged["tolerations"] = old_spec.get("tolerations")
    old_grace = _int(old_spec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not munged.get("nodeName"):
        munged["nodeName"] = old_spec.get("nodeName")  # set by podrun when the pod was bound
    _drop_none(munged, old_spec)
    if munged == old_spec:
        return None
    name = _d(new_pod.get("metadata")).get("name") or _d(old.get("metadata")).get("name") or ""
    # upstream appends a multi-line diff; podrun's errors are one line, so the changes follow inline
    changes = "; ".join(f"{p}: {_fmt(a)} -> {_fmt(b)}" for p, a, b in _diff(old_spec, munged, "spec"))
    return (f'The Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields other than '
            f"{UPDATABLE_FIELDS} (changed: {changes})")


def _with_image(new: Any, old: Any) -> Any:
    """The new container with old's image; a pull policy that only followed the image goes too."""
    if not (isinstance(new, dict) and isinstance(old, dict)):
        return new
    out = {**new, "image": old.get("image")}
    image = new.get("image")
    if isinstance(image, str) and new.get("imagePullPolicy") == default_image_pull_policy(image):
        out["imagePullPolicy"] = old.get("imagePullPolicy")  # kubectl apply would have kept the stored one
    return out


def _drop_none(a: dict, b: dict) -> None:
    for key in [k for k, v in a.items() if v is None and k not in b]:
        del a[key]


def _diff(a: Any, b: Any, path: str) -> list[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            if a.get(k) != b.get(k):
                out.extend(_diff(a.get(k), b.get(k), f"{path}.{k}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                out.extend(_diff(x, y, f"{path}[{i}]"))
        return out
    return [(path, a, b)]
