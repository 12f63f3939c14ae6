"""Label and field selectors, as the API server parses and matches them. Pure.

Label selectors (apimachinery pkg/labels/selector.go): comma-separated requirements, each one of
`key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, `key>N`, `key<N`.
`!=` and `notin` also match objects without the label. Field selectors (pkg/fields/selector.go):
`field=v`, `field==v`, `field!=v`, comma-separated, `\\` escapes `,` `=` `!` and itself. Each
kind supports a fixed set of fields (the registries' GetAttrs / field label conversion funcs);
any other field is refused with the API server's message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["SelectorError", "LabelSelector", "FieldSelector", "parse_labels", "parse_fields",
           "POD_FIELDS", "EVENT_FIELDS"]


class SelectorError(ValueError):
    """A selector the API server would refuse with 400 BadRequest; str() is its message."""


@dataclass(frozen=True)
class _Req:
    key: str
    op: str                      # exists, !, =, !=, in, notin, gt, lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("=", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        if not has:
            return False
        try:
            n = int(value)
        except ValueError:
            return False
        return n > int(self.values[0]) if self.op == "gt" else n < int(self.values[0])


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[_Req, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        return not self.requirements


_KEY = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_KEY_RE, _VALUE_RE = re.compile(_KEY + r"\Z"), re.compile(_VALUE + r"\Z")


def _split_terms(text: str) -> list[str]:
    """Commas separate requirements, except inside the parentheses of a set."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms]


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or len(key.rpartition("/")[2]) > 63:
        raise SelectorError(f"unable to parse requirement: <nil>: Invalid value: \"{key}\": name part "
                            f"must consist of alphanumeric characters, '-', '_' or '.', and must start "
                            f"and end with an alphanumeric character")
    return key


def _check_value(value: str) -> str:
    if not _VALUE_RE.match(value) or len(value) > 63:
        raise SelectorError(f"unable to parse requirement: values[0][{value}]: Invalid value: "
                            f"\"{value}\": a valid label must be an empty string or consist of "
                            f"alphanumeric characters, '-', '_' or '.', and must start and end with "
                            f"an alphanumeric character")
    return value


_SET_RE = re.compile(r"(\S+)\s+(in|notin)\s*\((.*)\)\Z")
_OP_RE = re.compile(r"([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)\Z")


def parse_labels(text: str | None) -> LabelSelector:
    """A labelSelector query value; empty or None selects everything."""
    text = (text or "").strip()
    if not text:
        return LabelSelector()
    reqs = []
    for term in _split_terms(text):
        if not term:
            raise SelectorError(f"found '', expected: identifier after ','" if reqs else
                                "found ',', expected: !, identifier, or 'end of string'")
        if m := _SET_RE.match(term):
            values = tuple(_check_value(v.strip()) for v in m.group(3).split(","))
            reqs.append(_Req(_check_key(m.group(1)), m.group(2), values))
        elif term.startswith("!"):
            reqs.append(_Req(_check_key(term[1:].strip()), "!"))
        elif m := _OP_RE.match(term):
            key, op, value = m.group(1), m.group(2), m.group(3).strip()
            _check_key(key)
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, the "
                                        f"value must be an integer")
                reqs.append(_Req(key, "gt" if op == ">" else "lt", (value,)))
            else:
                reqs.append(_Req(key, "!=" if op == "!=" else "=", (_check_value(value),)))
        else:
            reqs.append(_Req(_check_key(term), "exists"))
    return LabelSelector(tuple(reqs))


# ---- fields --------------------------------------------------------------------------------


def _get(obj: dict, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _text(path: str, default: str = "") -> Callable[[dict], str]:
    def get(obj: dict) -> str:
        value = _get(obj, path)
        if isinstance(value, bool):
            return "true" if value else "false"
        return default if value is None else str(value)
    return get


# pkg/registry/core/pod/strategy.go ToSelectableFields + PodToSelectableFields' podIPs note
POD_FIELDS: dict[str, Callable[[dict], str]] = {
    "metadata.name": _text("metadata.name"),
    "metadata.namespace": _text("metadata.namespace"),
    "spec.nodeName": _text("spec.nodeName"),
    "spec.restartPolicy": _text("spec.restartPolicy"),
    "spec.schedulerName": _text("spec.schedulerName"),
    "spec.serviceAccountName": _text("spec.serviceAccountName"),
    "spec.hostNetwork": _text("spec.hostNetwork", "false"),
    "status.phase": _text("status.phase"),
    "status.podIP": _text("status.podIP"),
    "status.nominatedNodeName": _text("status.nominatedNodeName"),
}

# pkg/registry/core/event/strategy.go ToSelectableFields
EVENT_FIELDS: dict[str, Callable[[dict], str]] = {
    "metadata.name": _text("metadata.name"),
    "metadata.namespace": _text("metadata.namespace"),
    **{f"involvedObject.{f}": _text(f"involvedObject.{f}") for f in (
        "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _text("reason"),
    "reportingComponent": _text("reportingComponent"),
    "source": _text("source.component"),
    "type": _text("type"),
}


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[tuple[str, bool, str], ...] = ()     # (field, equal?, value)

    def matches(self, obj: dict, fields: dict[str, Callable[[dict], str]]) -> bool:
        return all((fields[f](obj) == v) == eq for f, eq, v in self.requirements)

    def value(self, field: str) -> str | None:
        """The value a `field=v` requirement pins (for lookups by name), or None."""
        for f, eq, v in self.requirements:
            if f == field and eq:
                return v
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i:i + 2]
            i += 2
            continue
        if text[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    parts.append(cur)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_fields(text: str | None, fields: dict[str, Callable[[dict], str]]) -> FieldSelector:
    """A fieldSelector query value for a kind whose selectable fields are `fields`."""
    text = (text or "").strip()
    if not text:
        return FieldSelector()
    reqs = []
    for term in _split_unescaped(text, ","):
        m = re.match(r"((?:[^=!\\]|\\.)*)(==|!=|=)(.*)\Z", term)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = m.group(1).strip(), m.group(2), _unescape(m.group(3))
        if field not in fields:
            # pkg/apis/core/v1/conversion.go: the field label conversion funcs
            raise SelectorError(f"field label not supported: {field}")
        reqs.append((field, op != "!=", value))
    return FieldSelector(tuple(reqs))
