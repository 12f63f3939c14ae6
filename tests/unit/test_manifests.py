"""Reading manifests: documents, numbering, directories, stdin, List, malformed input."""
from __future__ import annotations

import io

import pytest

from podrun.api.manifests import Document, load, load_text
from podrun.errors import InvalidManifest, PodrunError

POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_multi_document_file_keeps_order_and_numbers_documents_from_one(tmp_path):
    path = _write(tmp_path, "pods.yaml", POD.format(name="a") + "---\n" + POD.format(name="b"))
    docs = load([path])
    assert [(d.file, d.index, d.obj["metadata"]["name"]) for d in docs] == [(path, 1, "a"), (path, 2, "b")]


def test_empty_documents_are_skipped_but_still_counted(tmp_path):
    path = _write(tmp_path, "pods.yaml", "---\n" + POD.format(name="a") + "---\n# nothing\n---\n"
                  + POD.format(name="b"))
    docs = load([path])
    assert [(d.index, d.obj["metadata"]["name"]) for d in docs] == [(1, "a"), (3, "b")]


def test_directory_loads_yaml_yml_and_json_sorted_not_recursively(tmp_path):
    _write(tmp_path, "b.yml", POD.format(name="b"))
    _write(tmp_path, "a.yaml", POD.format(name="a"))
    _write(tmp_path, "c.json", '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c"}}')
    _write(tmp_path, "notes.txt", "not a manifest")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "d.yaml", POD.format(name="d"))
    docs = load([str(tmp_path)])
    assert [d.obj["metadata"]["name"] for d in docs] == ["a", "b", "c"]
    assert docs[0].file == str(tmp_path / "a.yaml")


def test_stdin_is_read_for_dash_and_named_stdin():
    docs = load(["-"], stdin=io.StringIO(POD.format(name="from-stdin")))
    assert docs == [Document("<stdin>", 1, docs[0].obj)]
    assert docs[0].obj["metadata"]["name"] == "from-stdin"


def test_sources_are_read_in_the_order_given(tmp_path):
    a = _write(tmp_path, "a.yaml", POD.format(name="a"))
    docs = load(["-", a], stdin=io.StringIO(POD.format(name="s")))
    assert [d.obj["metadata"]["name"] for d in docs] == ["s", "a"]


def test_kind_list_is_expanded_into_its_items_with_a_path_prefix():
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n" \
           "- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n"
    docs = load_text(text, "list.yaml")
    assert [(d.index, d.prefix, d.obj["metadata"]["name"]) for d in docs] == [(1, "items[0]", "a"),
                                                                            (1, "items[1]", "b")]


def test_malformed_yaml_names_file_document_and_line(tmp_path):
    path = _write(tmp_path, "bad.yaml", POD.format(name="a") + "---\napiVersion: v1\nkind: Pod\nmetadata: name: x\n")
    with pytest.raises(InvalidManifest) as exc:
        load([path])
    err = exc.value
    assert (err.file, err.doc, err.field_path) == (path, 2, "")
    assert err.reason == ("error converting YAML to JSON: yaml: line 12, column 15: "
                          "mapping values are not allowed in this context")


def test_duplicate_key_is_refused_like_strict_decoding():
    with pytest.raises(InvalidManifest) as exc:
        load_text("kind: Pod\nkind: Pod\n", "dup.yaml")
    assert exc.value.doc == 1
    assert 'key "kind" already set in map' in exc.value.reason
    assert "line 2" in exc.value.reason


def test_malformed_json_names_line_and_column(tmp_path):
    path = _write(tmp_path, "bad.json", '{"kind": "Pod",\n "x": }')
    with pytest.raises(InvalidManifest) as exc:
        load([path])
    assert (exc.value.file, exc.value.doc) == (path, 1)
    assert "line 2, column 7" in exc.value.reason


def test_missing_file_uses_kubectls_wording():
    with pytest.raises(PodrunError, match=r'^the path "nope.yaml" does not exist$'):
        load(["nope.yaml"])


def test_top_level_list_or_scalar_is_refused():
    with pytest.raises(InvalidManifest) as exc:
        load_text(POD.format(name="a") + "---\n- a\n- b\n", "list.yaml")
    assert (exc.value.doc, exc.value.field_path) == (2, "")
    assert "expected a mapping" in exc.value.reason


def test_timestamps_stay_strings_and_keys_become_strings():
    docs = load_text("metadata:\n  creationTimestamp: 2024-01-02T03:04:05Z\n  labels: {1: a}\n", "f.yaml")
    assert docs[0].obj["metadata"] == {"creationTimestamp": "2024-01-02T03:04:05Z", "labels": {"1": "a"}}


@pytest.mark.parametrize("text", [
    "a: " + "[" * 50000 + "]" * 50000 + "\n",                      # flow, 50,000 deep
    "a: " + "{b: " * 50000 + "1" + "}" * 50000 + "\n",
    "".join(" " * i + "k:\n" for i in range(2000)),                # block mappings
    "kind: Pod\n---\n" + "- " * 5000 + "x\n",                      # the second document
])
def test_nesting_is_bounded_with_one_line(text):
    with pytest.raises(InvalidManifest) as exc:
        load_text(text, "deep.yaml")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("deep.yaml: document ") and "exceeded max depth of 100" in msg


def test_aliases_cannot_nest_or_multiply_past_the_bounds():
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 150))
    with pytest.raises(InvalidManifest, match="exceeded max depth of 100"):
        load_text(chain, "alias.yaml")
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
    with pytest.raises(InvalidManifest, match="document contains excessive aliasing"):
        load_text(laughs, "laughs.yaml")
    nested = "metadata: {labels: " + "[" * 98 + "]" * 98 + "}\n"      # 100 levels: still read
    assert load_text(nested, "ok.yaml")[0].obj["metadata"]


def test_deep_json_is_bounded():
    for text in ("[" * 50000 + "]" * 50000, '{"a":' * 150 + "1" + "}" * 150):
        with pytest.raises(InvalidManifest, match="exceeded max depth of 100"):
            load_text(text, "deep.json", is_json=True)
