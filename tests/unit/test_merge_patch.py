"""JSON merge patch (RFC 7386) as kube-apiserver applies it (evanphx/json-patch.v4 MergePatch),
and the PATCH entry point's media types (handlers/patch.go PatchResource)."""
from __future__ import annotations

import json

import pytest

from podrun.api.patch import PatchError, apply_merge_patch, apply_patch

MERGE = "application/merge-patch+json"


def live() -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "be"}},
            "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
                     "nodeSelector": {"disk": "ssd"}}}


def refused(body: bytes, content_type: str | None = MERGE, field_validation: str = "",
            kind: str = "Pod") -> PatchError:
    with pytest.raises(PatchError) as e:
        apply_patch("v1", kind, live(), body, content_type, field_validation)
    return e.value


def test_kubectl_label_adds_and_removes_labels():
    body = b'{"metadata":{"labels":{"tier":null,"env":"prod"}}}'
    out = apply_patch("v1", "Pod", live(), body, MERGE)
    assert out["metadata"]["labels"] == {"app": "web", "env": "prod"}
    assert out["spec"] == live()["spec"]


def test_lists_are_replaced_whole_even_the_merged_ones():
    out = apply_merge_patch(live(), {"spec": {"containers": [{"name": "b", "image": "b:2"}]}})
    assert out["spec"]["containers"] == [{"name": "b", "image": "b:2"}]


def test_nulls_inside_a_new_value_are_pruned_but_not_array_elements():
    out = apply_merge_patch(live(), {"spec": {"affinity": {"a": None, "b": {"c": None, "d": 1}},
                                              "nodeSelector": {"disk": None}},
                                     "status": {"podIPs": [{"ip": "10.0.0.1", "x": None}, None]}})
    assert out["spec"]["affinity"] == {"b": {"d": 1}}
    assert out["spec"]["nodeSelector"] == {}
    assert out["status"]["podIPs"] == [{"ip": "10.0.0.1"}, None]


def test_a_non_object_value_replaces_an_object():
    out = apply_merge_patch(live(), {"spec": {"nodeSelector": "none"}})
    assert out["spec"]["nodeSelector"] == "none"


def test_the_original_is_left_untouched():
    original = live()
    apply_merge_patch(original, {"metadata": {"labels": None}})
    assert original == live()


def test_a_patch_that_is_not_an_object_is_a_bad_request():
    assert refused(b"[1]").message == (
        "error decoding patch: json: cannot unmarshal array into Go value of type "
        "map[string]interface {}")
    assert refused(b"null").message == "Invalid JSON Patch"
    assert refused(b'"x"', field_validation="Ignore").message == "Invalid JSON Patch"
    err = refused(b"{")
    assert (err.code, err.reason, err.message) == (
        400, "BadRequest", "error decoding patch: unexpected end of JSON input")
    assert refused(b"{", field_validation="Ignore").message == "Invalid JSON Patch"


# ---- media types ------------------------------------------------------------------------------

def test_an_unknown_or_missing_content_type_is_unsupported_media_type():
    for content_type in ("application/json", None, "application/apply-patch+yaml"):
        err = refused(b"{}", content_type)
        assert (err.code, err.reason, err.message) == (
            415, "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/strategic-merge-patch+json")


def test_a_charset_parameter_is_ignored():
    out = apply_patch("v1", "Pod", live(), b'{"metadata":{"labels":null}}',
                      "application/merge-patch+json; charset=utf-8")
    assert "labels" not in out["metadata"]


def test_strategic_merge_patch_of_a_kind_without_patch_metadata_is_refused():
    err = refused(b"{}", "application/strategic-merge-patch+json", kind="Widget")
    assert (err.code, err.message) == (400, "strategic merge patch format is not supported")


def test_a_strategic_merge_patch_that_is_not_an_object_is_a_bad_request():
    smp = "application/strategic-merge-patch+json"
    assert refused(b'["a"]', smp).message == (
        "json: cannot unmarshal array into Go value of type map[string]interface {}")
    assert refused(b'{"a" 1}', smp).message == "invalid character '1' after object key"


def test_a_patch_that_turns_the_object_into_a_list_is_invalid():
    body = json.dumps([{"op": "replace", "path": "", "value": [1]}]).encode()
    err = refused(body, "application/json-patch+json")
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message.endswith("json: cannot unmarshal array into Go value of type "
                                "map[string]interface {}")
