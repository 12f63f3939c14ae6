"""JSON merge patch (RFC 7386), as the apiserver applies it (gopkg.in/evanphx/json-patch.v4
merge.go MergePatch): null deletes a key, objects merge, anything else replaces; a value that
lands where nothing (or null, or a non-object) was has the nulls inside its objects pruned."""
from __future__ import annotations

import copy
from typing import Any

__all__ = ["apply_merge_patch"]


def apply_merge_patch(original: dict, patch: dict) -> dict:
    """`original` with the merge `patch` applied; neither is modified."""
    doc = copy.deepcopy(original)
    _merge_docs(doc, copy.deepcopy(patch))
    return doc


def _merge_docs(doc: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif doc.get(key) is None:
            doc[key] = _prune_nulls(value)
        else:
            doc[key] = _merge(doc[key], value)


def _merge(current: Any, value: Any) -> Any:
    if not isinstance(current, dict):
        return _prune_nulls(value)
    if not isinstance(value, dict):
        return value
    _merge_docs(current, value)
    return current


def _prune_nulls(value: Any) -> Any:
    """Drop null members of objects, at any depth (nulls as array elements stay)."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            _prune_nulls(v)
    elif isinstance(value, list):
        for v in value:
            if v is not None:
                _prune_nulls(v)
    return value
