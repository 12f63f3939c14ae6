"""JSON patch (RFC 6902) as kube-apiserver applies it: gopkg.in/evanphx/json-patch.v4 semantics
and texts, errors as 422 (apply) or 400 (decode) Status answers (handlers/patch.go)."""
from __future__ import annotations

import json

import pytest

from podrun.api.patch import PatchError, apply_patch

JSON_PATCH = "application/json-patch+json"


def live() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"},
                         "annotations": {"example.com/owner": "ops", "a~b": "1"}},
            "spec": {"containers": [{"name": "a", "image": "a:1", "args": ["x", "y"]}]}}


def patched(*ops: dict, field_validation: str = "") -> dict:
    return apply_patch("v1", "Pod", live(), json.dumps(list(ops)).encode(), JSON_PATCH,
                       field_validation)


def refused(*ops, field_validation: str = "", body: bytes | None = None) -> PatchError:
    data = body if body is not None else json.dumps(list(ops)).encode()
    with pytest.raises(PatchError) as e:
        apply_patch("v1", "Pod", live(), data, JSON_PATCH, field_validation)
    return e.value


def cause(err: PatchError) -> str:
    assert (err.code, err.reason, err.message) == (
        422, "Invalid", "the server rejected our request due to an error in our request")
    [c] = err.causes
    assert c["reason"] == "UnexpectedServerResponse"
    return c["message"]


# ---- the six operations -----------------------------------------------------------------------

def test_add_remove_and_replace_change_the_object():
    out = patched({"op": "add", "path": "/metadata/labels/tier", "value": "fe"},
                  {"op": "remove", "path": "/metadata/labels/app"},
                  {"op": "replace", "path": "/spec/containers/0/image", "value": "a:2"})
    assert out["metadata"]["labels"] == {"tier": "fe"}
    assert out["spec"]["containers"][0]["image"] == "a:2"


def test_pointer_tokens_unescape_tilde_one_and_tilde_zero():
    out = patched({"op": "replace", "path": "/metadata/annotations/example.com~1owner",
                   "value": "dev"},
                  {"op": "remove", "path": "/metadata/annotations/a~0b"})
    assert out["metadata"]["annotations"] == {"example.com/owner": "dev"}


def test_array_add_by_index_dash_and_negative_index():
    out = patched({"op": "add", "path": "/spec/containers/0/args/0", "value": "first"},
                  {"op": "add", "path": "/spec/containers/0/args/-", "value": "last"},
                  {"op": "remove", "path": "/spec/containers/0/args/-2"})
    assert out["spec"]["containers"][0]["args"] == ["first", "x", "last"]


def test_move_copy_and_test():
    out = patched({"op": "test", "path": "/metadata/labels/app", "value": "web"},
                  {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
                  {"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/moved"})
    assert out["metadata"]["labels"] == {"copy": "web", "moved": "web"}


def test_replace_of_a_missing_member_adds_it_as_the_apiserver_does():
    out = patched({"op": "replace", "path": "/metadata/labels/new", "value": "1"})
    assert out["metadata"]["labels"] == {"app": "web", "new": "1"}


def test_the_original_is_left_untouched():
    original = live()
    apply_patch("v1", "Pod", original, b'[{"op":"remove","path":"/metadata/labels"}]', JSON_PATCH)
    assert original == live()


# ---- operations that do not apply: 422 with evanphx's words -----------------------------------

@pytest.mark.parametrize("op, message", [
    ({"op": "remove", "path": "/metadata/labels/nope"},
     "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent key: nope: "
     "missing value"),
    ({"op": "add", "path": "/metadata/nope/x", "value": 1},
     'add operation does not apply: doc is missing path: "/metadata/nope/x": missing value'),
    ({"op": "remove", "path": "/spec/nope/x"},
     'remove operation does not apply: doc is missing path: "/spec/nope/x": missing value'),
    ({"op": "replace", "path": "/spec/nope/x", "value": 1},
     "replace operation does not apply: doc is missing path: /spec/nope/x: missing value"),
    ({"op": "replace", "path": "/spec/containers/5", "value": {}},
     "replace operation does not apply: doc is missing key: /spec/containers/5: missing value"),
    ({"op": "add", "path": "/spec/containers/0/args/9", "value": "z"},
     "error in add for path: '/spec/containers/0/args/9': Unable to access invalid index: 9: "
     "invalid index referenced"),
    ({"op": "add", "path": "/spec/containers/0/args/x", "value": "z"},
     "error in add for path: '/spec/containers/0/args/x': value was not a proper array index: "
     "'x': strconv.Atoi: parsing \"x\": invalid syntax"),
    ({"op": "remove", "path": "/spec/containers/0/args/2"},
     "error in remove for path: '/spec/containers/0/args/2': Unable to access invalid index: 2: "
     "invalid index referenced"),
    ({"op": "test", "path": "/metadata/labels/app", "value": "db"},
     "testing value /metadata/labels/app failed: test failed"),
    ({"op": "test", "path": "/metadata/labels/none", "value": "db"},
     "testing value /metadata/labels/none failed: test failed"),
    ({"op": "test", "path": "/metadata/x/y", "value": 1},
     "test operation does not apply: is missing path: /metadata/x/y: missing value"),
    ({"op": "move", "from": "/metadata/labels/none", "path": "/metadata/x"},
     "error in move for path: 'none': Unable to remove nonexistent key: none: missing value"),
    ({"op": "move", "from": "/metadata/labels/app", "path": "/nope/x"},
     "move operation does not apply: doc is missing destination path: /nope/x: missing value"),
    ({"op": "copy", "from": "/nope/x", "path": "/metadata/x"},
     "copy operation does not apply: doc is missing from path: /nope/x: missing value"),
    ({"op": "add", "value": 1}, "add operation failed to decode path: missing value"),
    ({"op": "replace", "value": 1},
     "replace operation failed to decode path: operation missing path field: missing value"),
    ({"op": "move", "path": "/a"},
     "move operation failed to decode from: operation, missing from field: missing value"),
    ({"op": "upsert", "path": "/a"}, "Unexpected kind: upsert"),
    ({"path": "/a"}, "Unexpected kind: unknown"),
])
def test_an_operation_that_does_not_apply_is_unprocessable(op, message):
    assert cause(refused(op)) == message


def test_a_failed_test_stops_the_patch_before_later_operations():
    err = refused({"op": "test", "path": "/metadata/name", "value": "other"},
                  {"op": "remove", "path": "/metadata/labels"})
    assert cause(err) == "testing value /metadata/name failed: test failed"


# ---- bodies that do not decode: 400 -----------------------------------------------------------

def test_a_body_that_is_not_json_is_a_bad_request():
    err = refused(body=b'[{"op": "add",}]')
    assert (err.code, err.reason, err.message) == (
        400, "BadRequest",
        "error decoding patch: invalid character '}' looking for beginning of object key string")
    err = refused(body=b"[{", field_validation="Ignore")
    assert err.message == "unexpected end of JSON input"


def test_a_body_that_is_not_a_list_of_operations_is_a_bad_request():
    assert refused(body=b'{"op": "add"}').message == (
        "error decoding patch: json: cannot unmarshal object into Go value of type "
        "[]handlers.jsonPatchOp")
    assert refused(body=b'{"op": "add"}', field_validation="Ignore").message == (
        "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    assert refused(body=b'["add"]').message == (
        "error decoding patch: json: cannot unmarshal string into Go value of type "
        "handlers.jsonPatchOp")
    assert refused(body=b'[{"op": "add", "path": 3}]').message == (
        "error decoding patch: json: cannot unmarshal number into Go struct field "
        "jsonPatchOp.path of type string")


def test_more_than_ten_thousand_operations_are_too_large():
    ops = [{"op": "test", "path": "/kind", "value": "Pod"}] * 10001
    err = refused(*ops)
    assert (err.code, err.reason, err.message) == (
        413, "RequestEntityTooLarge", "Request entity too large: The allowed maximum operations "
        "in a JSON patch is 10000, got 10001")
