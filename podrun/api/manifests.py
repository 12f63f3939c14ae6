"""Reading manifests: files, directories and stdin into numbered documents.

`load(["pod.yaml", "-", "dir/"])` returns one Document per non-empty YAML document, in input
order, each knowing its file and its 1-based document number there (empty documents still count,
so the number is the one a reader finds by counting `---` separators). A `kind: List` is expanded
into its items, which keep the List's document number and carry `items[i]` as a path prefix.

Like kubectl (sigs.k8s.io/yaml): YAML timestamps stay strings, map keys become strings, and a key
repeated in one mapping is an error (strict decoding).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, TextIO

import yaml

from podrun.api.limits import MAX_DEPTH, nesting_error
from podrun.errors import InvalidManifest, PodrunError

__all__ = ["Document", "load", "load_text", "STDIN_NAME"]

STDIN_NAME = "<stdin>"
_EXTENSIONS = (".yaml", ".yml", ".json")

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: apply runs it every time


@dataclass(frozen=True)
class Document:
    """One object of the input. `prefix` ("items[2]") locates a List item inside its document."""

    file: str
    index: int
    obj: dict
    prefix: str = ""


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loading with Kubernetes' view of scalars and keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = _json_key(self.construct_object(key_node, deep=True))
            if key in out:
                raise _DuplicateKey(None, None, f'key "{key}" already set in map', key_node.start_mark)
            out[key] = self.construct_object(value_node, deep=deep)
        return out


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
# sigs.k8s.io/yaml keeps `2024-01-01T00:00:00Z` a string (creationTimestamp, annotations)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)


def load(sources: list[str], stdin: TextIO = sys.stdin) -> list[Document]:
    """Every document of every source, in order; PodrunError/InvalidManifest on bad input."""
    docs: list[Document] = []
    for source in sources:
        if source == "-":
            docs.extend(load_text(stdin.read(), STDIN_NAME))
            continue
        for path in _expand(source):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError as exc:
                raise InvalidManifest(path, 1, "", f"not UTF-8 text: {exc.reason}") from None
            except OSError as exc:
                raise PodrunError(f'error reading "{path}": {exc.strerror}') from None
            docs.extend(load_text(text, path, is_json=path.endswith(".json")))
    return docs


def _expand(source: str) -> list[str]:
    """A file stays itself; a directory gives its manifests, sorted, not recursively."""
    if not os.path.exists(source):
        raise PodrunError(f'the path "{source}" does not exist')
    if not os.path.isdir(source):
        return [source]
    names = sorted(n for n in os.listdir(source) if n.endswith(_EXTENSIONS))
    return [os.path.join(source, n) for n in names if os.path.isfile(os.path.join(source, n))]


def load_text(text: str, file: str, is_json: bool = False) -> list[Document]:
    """The documents of one file's text; `file` is the name errors show."""
    if is_json:
        return _from_json(text, file)
    _check_yaml_depth(text, file)
    docs: list[Document] = []
    number = 0
    stream = iter(yaml.load_all(text, Loader=_Loader))
    while True:
        number += 1
        try:
            obj = next(stream)
        except StopIteration:
            break
        except yaml.YAMLError as exc:
            raise InvalidManifest(file, number, "", _yaml_reason(exc)) from None
        reason = nesting_error(obj, len(text))
        if reason:
            raise InvalidManifest(file, number, "", f"error converting YAML to JSON: yaml: {reason}")
        docs.extend(_documents(obj, file, number))
    return docs


def _check_yaml_depth(text: str, file: str) -> None:
    """Refuse nesting past MAX_DEPTH from the parser's events (libyaml's parser keeps its own
    stack; composing nodes recurses in C and would crash the process at some 50,000 levels)."""
    depth, number = 0, 0
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(ev, yaml.DocumentStartEvent):
                number += 1
            elif isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = ev.start_mark
                    raise InvalidManifest(file, number, "", f"error converting YAML to JSON: yaml: line "
                                                            f"{mark.line + 1}, column {mark.column + 1}: "
                                                            f"exceeded max depth of {MAX_DEPTH}")
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # a syntax error: loading reports it with its document number


def _from_json(text: str, file: str) -> list[Document]:
    if not text.strip():
        return []
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidManifest(file, 1, "", f"error converting YAML to JSON: line {exc.lineno}, "
                                           f"column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        obj = None
    reason = "exceeded max depth of %d" % MAX_DEPTH if obj is None else nesting_error(obj)
    if reason:
        raise InvalidManifest(file, 1, "", f"error converting YAML to JSON: {reason}")
    return list(_documents(obj, file, 1))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """kubectl says `error converting YAML to JSON: yaml: line 3: <problem>`; we add the column."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return (f"error converting YAML to JSON: yaml: line {mark.line + 1}, column {mark.column + 1}: "
                f"{exc.problem}")
    return f"error converting YAML to JSON: yaml: {exc}"


def _documents(obj: Any, file: str, number: int) -> Iterator[Document]:
    if obj is None:
        return  # an empty document (a stray `---`, comments only)
    if not isinstance(obj, dict):
        raise InvalidManifest(file, number, "", f"expected a mapping (an object) at the top level, "
                                                f"got {_kind_of(obj)}")
    if obj.get("kind") == "List" and "items" in obj:
        items = obj["items"]
        if not isinstance(items, list):
            raise InvalidManifest(file, number, "items", f"expected a list, got {_kind_of(items)}")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidManifest(file, number, f"items[{i}]",
                                      f"expected a mapping (an object), got {_kind_of(item)}")
            yield Document(file, number, item, f"items[{i}]")
        return
    yield Document(file, number, obj)


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string {value!r}"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number {value}"
    return type(value).__name__
