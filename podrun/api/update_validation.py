"""ValidatePodUpdate (pkg/apis/core/validation/validation.go): what an update may change.

The pods compared are valid and defaulted (the registry validates the new one first).
"""
from __future__ import annotations

from typing import Any

from podrun.api.defaults import apply_defaults, default_image_pull_policy
from podrun.api.fielderrors import format_value

__all__ = ["validate_update", "UPDATABLE_FIELDS"]


UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


def validate_update(old: dict, new: dict) -> str | None:
    """None when `new` may replace `old` in place, else Kubernetes' Forbidden message.

    podrun updates images (and labels/annotations) in place; the other updatable fields are
    accepted by this check like Kubernetes does, comparing defaulted specs.
    """
    old_spec = apply_defaults(old).get("spec") or {}
    new_pod = apply_defaults(new)
    munged = dict(new_pod.get("spec") or {})
    # mungedPodSpec: take the updatable fields from old, then compare the rest
    for key in ("containers", "initContainers"):
        old_list, new_list = old_spec.get(key), munged.get(key)
        if isinstance(old_list, list) and isinstance(new_list, list) and len(old_list) == len(new_list):
            munged[key] = [_with_image(n, o) for n, o in zip(new_list, old_list)]
    deadline, old_deadline = munged.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if deadline is not None and (old_deadline is None or deadline <= old_deadline):
        munged["activeDeadlineSeconds"] = old_deadline
    if deadline is None and old_deadline is None:
        munged.pop("activeDeadlineSeconds", None)
    old_tolerations = old_spec.get("tolerations") or []
    new_tolerations = munged.get("tolerations") or []
    if isinstance(new_tolerations, list) and all(t in new_tolerations for t in old_tolerations):
        munged["tolerations"] = old_spec.get("tolerations")
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if not munged.get("nodeName"):
        munged["nodeName"] = old_spec.get("nodeName")  # set by podrun when the pod was bound
    _drop_none(munged, old_spec)
    if munged == old_spec:
        return None
    name = (new_pod.get("metadata") or {}).get("name") or (old.get("metadata") or {}).get("name") or ""
    # upstream appends a multi-line diff; podrun's errors are one line, so the changes follow inline
    changes = "; ".join(f"{p}: {format_value(a)} -> {format_value(b)}"
                        for p, a, b in _diff(old_spec, munged, "spec"))
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
