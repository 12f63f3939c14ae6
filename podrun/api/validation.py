"""Validation of a v1 Pod manifest, collecting every error of a document with its field path.

Three passes, in Kubernetes' order (decode -> default -> validate):
  1. type and version: apiVersion v1, kind Pod, in kubectl's words (api/schema.py);
  2. strict decoding against SCHEMA, a compact table of the v1 Pod's fields and their types:
     an unknown field or a wrongly typed value is an error at its path (api/schema.py);
  3. the rules of pkg/apis/core/validation/validation.go (ValidatePod, ValidatePodSpec,
     validateContainers, validateProbe, validateVolumes ...) on the defaulted pod, with upstream's
     messages (field/errors.go: "Required value", "Invalid value: X: ...", "Duplicate value",
     "Not found", "Unsupported value", "Forbidden"; api/fielderrors.py), names checked by
     api/names.py, securityContext by api/security_validation.py.
Errors are InvalidManifest(file, doc, field_path, reason). Updates: api/update_validation.py.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from podrun.api.defaults import apply_defaults
from podrun.api.fielderrors import ErrorList
from podrun.api.fieldpath import FieldPath
from podrun.api.limits import annotations_too_long
from podrun.api.manifests import Document
from podrun.api.names import (is_dns1123_label, is_dns1123_subdomain, is_env_var_name, is_http_header_name,
                              is_qualified_name, is_valid_label_value, is_valid_port_name)
from podrun.api.quantity import parse_quantity
from podrun.api.schema import PROBE_HANDLERS, SCHEMA, check_kind, decode
from podrun.api.security_validation import validate_container_security, validate_pod_security
from podrun.errors import InvalidManifest

__all__ = ["validate", "validate_all"]

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


def _validate_metadata(meta: dict, path: FieldPath, errs: ErrorList) -> None:
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
        for msg in is_qualified_name(key):
            errs.invalid(path.child("labels"), key, msg)
        if isinstance(value, str):
            for msg in is_valid_label_value(value):
                errs.invalid(path.child("labels"), value, msg)
    for key in _d(meta.get("annotations")):
        for msg in is_qualified_name(key.lower()):
            errs.invalid(path.child("annotations"), key, msg)
    if too_long := annotations_too_long(meta.get("annotations")):
        errs.add(path.child("annotations"), too_long)


def _validate_spec(spec: dict, path: FieldPath, errs: ErrorList) -> None:
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


def _enum(obj: dict, key: str, allowed: tuple[str, ...], path: FieldPath, errs: ErrorList) -> None:
    value = obj.get(key)
    if isinstance(value, str) and value not in allowed:
        errs.not_supported(path.child(key), value, allowed)


def _validate_volumes(volumes: Any, path: FieldPath, errs: ErrorList) -> set[str]:
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


def _validate_host_path(host_path: dict, path: FieldPath, errs: ErrorList) -> None:
    value = _str(host_path.get("path"))
    if not value:
        errs.required(path.child("path"))
    elif not value.startswith("/"):
        errs.invalid(path.child("path"), value, "must be an absolute path")
    elif ".." in value.split("/"):
        errs.invalid(path.child("path"), value, "must not contain '..'")
    _enum(host_path, "type", _HOST_PATH_TYPES, path, errs)


def _non_negative_quantity(value: Any, path: FieldPath, errs: ErrorList) -> None:
    if value is None or isinstance(value, bool):
        return
    try:
        if parse_quantity(value) < 0:
            errs.invalid(path, value, "must be greater than or equal to 0")
    except ValueError:
        pass  # reported by decoding


def _validate_container(c: dict, path: FieldPath, is_init: bool, volumes: set[str], seen: set[str],
                        grace: int | None, errs: ErrorList) -> None:
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


def _validate_ports(ports: Any, path: FieldPath, errs: ErrorList) -> set[str]:
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


def _validate_env(env: Any, path: FieldPath, errs: ErrorList) -> None:
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


def _validate_resources(resources: dict, path: FieldPath, errs: ErrorList) -> None:
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


def _validate_mounts(mounts: Any, path: FieldPath, volumes: set[str], errs: ErrorList) -> None:
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
        _validate_subpaths(m, path, mpath, errs)
        _enum(m, "mountPropagation", _MOUNT_PROPAGATION, mpath, errs)


def _validate_subpaths(m: dict, path: FieldPath, mpath: FieldPath, errs: ErrorList) -> None:
    """validation.go ValidateVolumeMounts: the path checks name `volumeMounts.subPath` without
    the index (fldPath, as upstream does), the exclusion names `volumeMounts[i].subPathExpr`."""
    sub, expr = _str(m.get("subPath")), _str(m.get("subPathExpr"))
    if sub:
        _validate_local_descending_path(sub, path.child("subPath"), errs)
    if expr:
        if sub:
            errs.invalid(mpath.child("subPathExpr"), expr, "subPathExpr and subPath are mutually exclusive")
        _validate_local_descending_path(expr, path.child("subPathExpr"), errs)


def _validate_local_descending_path(value: str, path: FieldPath, errs: ErrorList) -> None:
    # validation.go validateLocalDescendingPath
    if value.startswith("/"):
        errs.invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        errs.invalid(path, value, "must not contain '..'")


def _validate_probe(probe: dict, kind: str, path: FieldPath, port_names: set[str], errs: ErrorList) -> None:
    _validate_handler(probe, path, port_names, None, errs, tuple(PROBE_HANDLERS))
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
                      errs: ErrorList, kinds: tuple[str, ...]) -> None:
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
            if hname is not None:
                for msg in is_http_header_name(hname):
                    errs.invalid(hpath.child("httpHeaders").index(i).child("name"), hname, msg)
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


def _validate_port(port: Any, path: FieldPath, port_names: set[str], errs: ErrorList) -> None:
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
    errs = ErrorList(doc)
    obj = doc.obj
    if not isinstance(obj, dict):
        errs.add("", "expected a mapping (an object) at the top level")
        return errs.items
    if not check_kind(obj, errs):
        return errs.items
    decode(obj, "Pod", FieldPath(), errs)
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
            errs = ErrorList(doc)
            errs.duplicate(FieldPath.root("metadata", "name"), key[1])
            out.append(InvalidManifest(doc.file, doc.index, errs.items[0].field_path,
                                       f'{errs.items[0].reason}: pod "{key[0]}/{key[1]}" is also in '
                                       f"{other.file} document {other.index}"))
        else:
            first[key] = doc
    return out
