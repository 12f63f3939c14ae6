"""JSON patch (RFC 6902), applied and worded as the apiserver does it.

The apiserver applies these with gopkg.in/evanphx/json-patch.v4 (v4.12.0, patch.go), whose
behaviour departs from the RFC in ways clients rely on, so this module follows it rather than a
strict RFC library: `replace` of a missing object member adds it, `copy` from a missing member
copies null, negative array indices count from the end, and every failure has its own text
(`error in remove for path: '/a/b': Unable to remove nonexistent key: b: missing value`).
"""
from __future__ import annotations

import copy
import re
from typing import Any

__all__ = ["JSONPatchError", "apply_json_patch"]

_MISSING = "missing value"
_INVALID_INDEX = "invalid index referenced"


class JSONPatchError(Exception):
    """An operation that does not apply; str() is the apiserver's message (a 422 cause)."""


class _ContainerError(Exception):
    """A failed get/add/remove on an object or array, in evanphx's words."""


def apply_json_patch(document: Any, operations: list) -> Any:
    """`document` with the decoded patch `operations` applied in order; neither is modified."""
    doc = copy.deepcopy(document)
    for op in operations:
        op = op if isinstance(op, dict) else {}
        kind = op.get("op")
        kind = kind if isinstance(kind, str) else "unknown"
        apply = _OPERATIONS.get(kind)
        if apply is None:
            raise JSONPatchError(f"Unexpected kind: {kind}")
        doc = apply(doc, op)
    return doc


# ---- fields of an operation -------------------------------------------------------------------

class _FieldError(Exception):
    pass


def _field(op: dict, name: str, missing: str) -> str:
    value = op.get(name)
    if value is None:
        raise _FieldError(f"{missing}: {_MISSING}")
    if not isinstance(value, str):
        kind = "bool" if isinstance(value, bool) else (
            "number" if isinstance(value, (int, float)) else
            "object" if isinstance(value, dict) else "array")
        raise _FieldError(f"json: cannot unmarshal {kind} into Go value of type string")
    return value


def _path(op: dict) -> str:
    return _field(op, "path", "operation missing path field")


def _from(op: dict) -> str:
    return _field(op, "from", "operation, missing from field")


def _decode_key(key: str) -> str:
    return key.replace("~1", "/").replace("~0", "~")


# ---- containers: objects and arrays ----------------------------------------------------------

def _atoi(key: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", key):
        raise _ContainerError(f'strconv.Atoi: parsing "{key}": invalid syntax')
    return int(key)


def _invalid_index(idx: int) -> _ContainerError:
    return _ContainerError(f"Unable to access invalid index: {idx}: {_INVALID_INDEX}")


def _get(con: dict | list, key: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    idx = _atoi(key)
    if idx < 0:
        if idx < -len(con):
            raise _invalid_index(idx)
        idx += len(con)
    if idx >= len(con):
        raise _invalid_index(idx)
    return con[idx]


def _add(con: dict | list, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    try:
        idx = _atoi(key)
    except _ContainerError as e:
        raise _ContainerError(f"value was not a proper array index: '{key}': {e}") from None
    size = len(con) + 1
    if idx >= size or idx < -size:
        raise _invalid_index(idx)
    con.insert(idx + size if idx < 0 else idx, value)


def _remove(con: dict | list, key: str) -> None:
    if isinstance(con, dict):
        if key not in con:
            raise _ContainerError(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        del con[key]
        return
    idx = _atoi(key)
    if idx >= len(con) or idx < -len(con):
        raise _invalid_index(idx)
    del con[idx]


def _find_object(doc: Any, path: str) -> tuple[dict | list | None, str]:
    """The object or array holding the last token of `path`, and that token (findObject)."""
    tokens = path.split("/")
    if len(tokens) < 2:
        return None, ""
    for token in tokens[1:-1]:
        try:
            doc = _get(doc, _decode_key(token))
        except _ContainerError:
            return None, ""
        if not isinstance(doc, (dict, list)):
            return None, ""
    return doc, _decode_key(tokens[-1])


# ---- the six operations -----------------------------------------------------------------------

def _op_add(doc: Any, op: dict) -> Any:
    try:
        path = _path(op)
    except _FieldError:
        raise JSONPatchError(f"add operation failed to decode path: {_MISSING}") from None
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _add(con, key, op.get("value"))
    except _ContainerError as e:
        raise JSONPatchError(f"error in add for path: '{path}': {e}") from None
    return doc


def _op_remove(doc: Any, op: dict) -> Any:
    try:
        path = _path(op)
    except _FieldError:
        raise JSONPatchError(f"remove operation failed to decode path: {_MISSING}") from None
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}')
    try:
        _remove(con, key)
    except _ContainerError as e:
        raise JSONPatchError(f"error in remove for path: '{path}': {e}") from None
    return doc


def _op_replace(doc: Any, op: dict) -> Any:
    try:
        path = _path(op)
    except _FieldError as e:
        raise JSONPatchError(f"replace operation failed to decode path: {e}") from None
    value = op.get("value")
    if path == "":
        # a scalar for the whole document is silently ignored upstream (Wrapf of a nil error)
        return value if isinstance(value, (dict, list)) else doc
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f"replace operation does not apply: doc is missing path: {path}: {_MISSING}")
    if isinstance(con, list):
        try:
            _get(con, key)
        except _ContainerError:
            raise JSONPatchError(f"replace operation does not apply: doc is missing key: {path}: "
                                 f"{_MISSING}") from None
        idx = _atoi(key)
        con[idx] = value
    else:
        con[key] = value
    return doc


def _op_move(doc: Any, op: dict) -> Any:
    try:
        source = _from(op)
    except _FieldError as e:
        raise JSONPatchError(f"move operation failed to decode from: {e}") from None
    con, key = _find_object(doc, source)
    if con is None:
        raise JSONPatchError(f"move operation does not apply: doc is missing from path: {source}: {_MISSING}")
    try:
        value = _get(con, key)
        _remove(con, key)
    except _ContainerError as e:
        raise JSONPatchError(f"error in move for path: '{key}': {e}") from None
    try:
        path = _path(op)
    except _FieldError as e:
        raise JSONPatchError(f"move operation failed to decode path: {e}") from None
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f"move operation does not apply: doc is missing destination path: "
                             f"{path}: {_MISSING}")
    try:
        _add(con, key, value)
    except _ContainerError as e:
        raise JSONPatchError(f"error in move for path: '{path}': {e}") from None
    return doc


def _op_copy(doc: Any, op: dict) -> Any:
    try:
        source = _from(op)
    except _FieldError as e:
        raise JSONPatchError(f"copy operation failed to decode from: {e}") from None
    con, key = _find_object(doc, source)
    if con is None:
        raise JSONPatchError(f"copy operation does not apply: doc is missing from path: {source}: {_MISSING}")
    try:
        value = _get(con, key)
    except _ContainerError as e:
        raise JSONPatchError(f"error in copy for from: '{source}': {e}") from None
    try:
        path = _path(op)
    except _FieldError:
        raise JSONPatchError(f"copy operation failed to decode path: {_MISSING}") from None
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f"copy operation does not apply: doc is missing destination path: "
                             f"{path}: {_MISSING}")
    try:
        _add(con, key, copy.deepcopy(value))
    except _ContainerError as e:
        raise JSONPatchError(f"error while adding value during copy: {e}") from None
    return doc


def _op_test(doc: Any, op: dict) -> Any:
    try:
        path = _path(op)
    except _FieldError as e:
        raise JSONPatchError(f"test operation failed to decode path: {e}") from None
    failed = JSONPatchError(f"testing value {path} failed: test failed")
    expected = op.get("value")
    if path == "":
        if not _json_equal(doc, expected):
            raise failed
        return doc
    con, key = _find_object(doc, path)
    if con is None:
        raise JSONPatchError(f"test operation does not apply: is missing path: {path}: {_MISSING}")
    try:
        actual = _get(con, key)
    except _ContainerError as e:
        raise JSONPatchError(f"error in test for path: '{path}': {e}") from None
    if actual is None:
        if expected is not None:
            raise failed
    elif expected is None or not _json_equal(actual, expected):
        raise failed
    return doc


def _json_equal(a: Any, b: Any) -> bool:
    """Structural equality of decoded JSON, telling 1 from 1.0 and true from 1."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


_OPERATIONS = {"add": _op_add, "remove": _op_remove, "replace": _op_replace, "move": _op_move,
               "copy": _op_copy, "test": _op_test}
