"""securityContext rules of the API server (k8s.io/kubernetes/pkg/apis/core/validation
`ValidateSecurityContext`, `validatePodSpecSecurityContext`, `ValidateNonnegativeField`).

Split from api/validation.py, which calls these with its error list; the messages are
upstream's. Upstream prints the whole SecurityContext struct as the invalid value; we print
the manifest's own mapping.
"""
from __future__ import annotations

from typing import Any

from podrun.api.fieldpath import FieldPath

__all__ = ["validate_container_security", "validate_pod_security"]

_MAX_ID = 2147483647
_PROC_MOUNTS = ("Default", "Unmasked")


def _id(value: Any, path: FieldPath, errs) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= _MAX_ID:
        errs.invalid(path, value, f"must be between 0 and {_MAX_ID}, inclusive")


def validate_container_security(sc: Any, path: FieldPath, errs) -> None:
    if not isinstance(sc, dict):
        return
    for key in ("runAsUser", "runAsGroup"):
        _id(sc.get(key), path.child(key), errs)
    if sc.get("procMount") is not None and sc.get("procMount") not in _PROC_MOUNTS:
        errs.not_supported(path.child("procMount"), sc["procMount"], _PROC_MOUNTS)
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
