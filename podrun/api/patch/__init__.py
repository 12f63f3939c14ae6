"""PATCH for the Kubernetes API: one entry point, apply_patch, for the three patch types.

  application/strategic-merge-patch+json   kubectl apply (client-side), kubectl edit  -> smp.py
  application/merge-patch+json             kubectl label/annotate, patch --type merge -> merge_patch.py
  application/json-patch+json              kubectl patch --type json (RFC 6902)      -> json_patch.py

Server-side apply (application/apply-patch+yaml) needs field ownership (managedFields) and is
not served: it gets the 415 an apiserver without it answers. Decoding and errors follow
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go (PatchResource, applyJSPatch,
strategicPatchObject, interpretStrategicMergePatchError); every refusal is a PatchError.
"""
from __future__ import annotations

import json
from typing import Any

from podrun.api.patch import gojson
from podrun.api.patch.errors import PatchError, bad_request, unprocessable, unsupported_media_type
from podrun.api.patch.json_patch import JSONPatchError, apply_json_patch
from podrun.api.patch.merge_patch import apply_merge_patch
from podrun.api.patch.schema import schema_for
from podrun.api.patch.smp import apply_strategic_merge_patch

__all__ = ["PatchError", "apply_patch", "apply_strategic_merge_patch", "apply_merge_patch",
           "apply_json_patch", "JSON_PATCH", "MERGE_PATCH", "STRATEGIC_MERGE_PATCH",
           "PATCH_TYPES"]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MAX_JSON_PATCH_OPERATIONS = 10000  # handlers/patch.go maxJSONPatchOperations
_MAP = "map[string]interface {}"


# the patch media types served, in the apiserver's order (endpoints/installer.go)
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH]


def apply_patch(api_version: str, kind: str, original: dict, body: bytes | str,
                content_type: str | None, field_validation: str = "") -> dict:
    """The object `original` (of `api_version`/`kind`, as JSON-decoded dicts) with the PATCH
    request `body` of `content_type` applied. `field_validation` is the request's
    ?fieldValidation= (Strict, Warn, the default, or Ignore). Raises PatchError (code, reason,
    message, status()) exactly where the apiserver refuses the patch; the caller still
    validates the result as an update."""
    media = content_type or ""
    if media.find(";") > 0:
        media = media[:media.find(";")]
    if media not in PATCH_TYPES:
        raise unsupported_media_type(PATCH_TYPES)
    strict = field_validation != "Ignore"
    if media == STRATEGIC_MERGE_PATCH:
        result = _strategic(api_version, kind, original, body)
    elif media == MERGE_PATCH:
        result = _merge(original, body, strict)
    else:
        result = _json(original, body, strict)
    if not isinstance(result, dict):
        raise PatchError(422, "Invalid", f'"" is invalid: patch: Invalid value: '
                         f'{json.dumps(json.dumps(result))}: json: cannot unmarshal '
                         f"{gojson.json_kind(result)} into Go value of type {_MAP}")
    return result


def _strategic(api_version: str, kind: str, original: dict, body: bytes | str) -> dict:
    try:
        patch = gojson.loads(body)
    except gojson.GoJSONError as e:
        raise bad_request(str(e)) from None
    if patch is None:
        patch = {}
    if not isinstance(patch, dict):
        raise bad_request(f"json: cannot unmarshal {gojson.json_kind(patch)} into Go value of "
                          f"type {_MAP}")
    schema = schema_for(api_version, kind)
    if schema is None:  # a kind without patch metadata, like a custom resource upstream
        raise bad_request("strategic merge patch format is not supported")
    return apply_strategic_merge_patch(original, patch, schema)


def _merge(original: dict, body: bytes | str, strict: bool) -> Any:
    invalid = bad_request("Invalid JSON Patch")  # evanphx ErrBadJSONPatch
    try:
        patch = gojson.loads(body)
    except gojson.GoJSONError as e:
        raise (bad_request(f"error decoding patch: {e}") if strict else invalid) from None
    if strict and patch is not None and not isinstance(patch, dict):
        raise bad_request(f"error decoding patch: json: cannot unmarshal "
                          f"{gojson.json_kind(patch)} into Go value of type {_MAP}")
    if not isinstance(patch, dict):
        raise invalid
    return apply_merge_patch(original, patch)


def _json(original: dict, body: bytes | str, strict: bool) -> Any:
    prefix = "error decoding patch: " if strict else ""
    try:
        operations = gojson.loads(body)
    except gojson.GoJSONError as e:
        raise bad_request(f"{prefix}{e}") from None
    list_type, op_type = (("[]handlers.jsonPatchOp", "handlers.jsonPatchOp") if strict
                          else ("jsonpatch.Patch", "jsonpatch.Operation"))
    if operations is None:
        operations = []
    if not isinstance(operations, list):
        raise bad_request(f"{prefix}json: cannot unmarshal {gojson.json_kind(operations)} into "
                          f"Go value of type {list_type}")
    for op in operations:
        if op is not None and not isinstance(op, dict):
            raise bad_request(f"{prefix}json: cannot unmarshal {gojson.json_kind(op)} into Go "
                              f"value of type {op_type}")
        for name, value in (op or {}).items():  # in document order, as Go reports the first
            if (strict and name in ("op", "path", "from") and value is not None
                    and not isinstance(value, str)):
                raise bad_request(f"{prefix}json: cannot unmarshal {gojson.json_kind(value)} "
                                  f"into Go struct field jsonPatchOp.{name} of type string")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise PatchError(413, "RequestEntityTooLarge",
                         "Request entity too large: The allowed maximum operations in a JSON "
                         f"patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}")
    try:
        return apply_json_patch(original, operations)
    except JSONPatchError as e:
        raise unprocessable(str(e)) from None
