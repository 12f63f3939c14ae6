"""securityContext rules of the API server (k8s.io/kubernetes/pkg/apis/core/validation
`ValidateSecurityContext`, `validatePodSpecSecurityContext`, `ValidateNonnegativeField`,
`validateSeccompProfileField`).

Split from api/validation.py, which calls these with its error list; the messages are
upstream's. Upstream prints the whole SecurityContext struct as the invalid value; we print
the manifest's own mapping.
"""
from __future__ import annotations

from typing import Any

from podrun.api.fieldpath import FieldPath

__all__ = ["validate_container_security", "validate_pod_security", "validate_seccomp_profile"]

_MAX_ID = 2147483647
_PROC_MOUNTS = ("Default", "Unmasked")
_SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")


def _id(value: Any, path: FieldPath, errs) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= _MAX_ID:
        errs.invalid(path, value, f"must be between 0 and {_MAX_ID}, inclusive")


def validate_seccomp_profile(sp: Any, path: FieldPath, errs) -> None:
    """type one of three; localhostProfile required for Localhost, a relative path without
    '..', and forbidden for the other types."""
    if not isinstance(sp, dict):
        return
    kind = sp.get("type") or ""
    if not kind:
        errs.required(path.child("type"), "type is required when seccompProfile is set")
    elif kind not in _SECCOMP_TYPES:
        errs.not_supported(path.child("type"), kind, _SECCOMP_TYPES)
    local = sp.get("localhostProfile")
    if kind != "Localhost":
        if local is not None:
            errs.invalid(path.child("localhostProfile"), sp, "can only be set when seccomp type is Localhost")
        return
    if local is None:
        errs.required(path.child("localhostProfile"), "must be set when seccomp type is Localhost")
        return
    if str(local).startswith("/"):
        errs.invalid(path.child("localhostProfile"), local, "must be a relative path")
    if ".." in str(local).split("/"):
        errs.invalid(path.child("localhostProfile"), local, "must not contain '..'")


def validate_container_security(sc: Any, path: FieldPath, errs) -> None:
    if not isinstance(sc, dict):
        return
    for key in ("runAsUser", "runAsGroup"):
        _id(sc.get(key), path.child(key), errs)
    if sc.get("procMount") is not None and sc.get("procMount") not in _PROC_MOUNTS:
        errs.not_supported(path.child("procMount"), sc["procMount"], _PROC_MOUNTS)
    validate_seccomp_profile(sc.get("seccompProfile"), path.child("seccompProfile"), errs)
    if sc.get("allowPrivilegeEscalation") is False:
        if sc.get("privileged") is True:
            errs.invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
        for cap in ((sc.get("capabilities") or {}).get("add") or []):
            if cap == "CAP_SYS_ADMIN":
                errs.invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and "
                                       "`capabilities.Add` CAP_SYS_ADMIN")


def validate_pod_security(sc: Any, path: FieldPath, errs) -> None:
    if not isinstance(sc, dict):
        return
    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        _id(sc.get(key), path.child(key), errs)
    for i, gid in enumerate(sc.get("supplementalGroups") or []):
        _id(gid, path.child("supplementalGroups").index(i), errs)
    validate_seccomp_profile(sc.get("seccompProfile"), path.child("seccompProfile"), errs)
