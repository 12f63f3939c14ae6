"""`$(VAR)` expansion of env values, command and args, as the kubelet does it.

A port of third_party/forked/golang/expansion/expand.go (`Expand`, `MappingFuncFor`):

- `$(NAME)` becomes the value of NAME; an unknown NAME stays `$(NAME)` literally;
- `$$` is an escaped `$` (so `$$(NAME)` yields `$(NAME)`);
- `$NAME`, `${NAME}`, `$?` and a `$` at the end pass through untouched;
- an unterminated `$(` is kept; the name runs to the first `)`, so `$(A$(B))` is the unknown
  name `A$(B` followed by `)`;
- no recursion: a value that itself contains `$(X)` is inserted as is.

Env values expand against the entries defined *before* them (kubelet_pods.go
makeEnvironmentVariables); command and args against the final environment
(kubecontainer.ExpandContainerCommandAndArgs).
"""
from __future__ import annotations

from typing import Callable, Mapping, Union

__all__ = ["Lookup", "expand", "mapping_func_for", "env_list", "expand_command"]

OPERATOR = "$"
REFERENCE_OPENER = "("
REFERENCE_CLOSER = ")"

# A lookup: a dict, or a function returning the value or None when the name is unknown.
Lookup = Union[Mapping[str, str], Callable[[str], Union[str, None]]]


def _syntax_wrap(name: str) -> str:
    return OPERATOR + REFERENCE_OPENER + name + REFERENCE_CLOSER


def mapping_func_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """expand.go MappingFuncFor: the first context holding the name wins; unknown stays `$(name)`."""
    def mapping(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return _syntax_wrap(name)
    return mapping


def _as_func(mapping: Lookup) -> Callable[[str], str]:
    if callable(mapping):
        fn = mapping

        def lookup(name: str) -> str:
            value = fn(name)
            return _syntax_wrap(name) if value is None else value
        return lookup
    return mapping_func_for(mapping)


def _try_read_variable_name(s: str, start: int) -> tuple[str, bool, int]:
    """expand.go tryReadVariableName: (text read, is a variable name, characters consumed).

    `s[start]` is the character just after a `$` (never past the end). Indexes, not slices:
    a value with many `$` stays linear.
    """
    first = s[start]
    if first == OPERATOR:                       # `$$`: an escaped operator
        return OPERATOR, False, 1
    if first == REFERENCE_OPENER:               # scan to the closer
        close = s.find(REFERENCE_CLOSER, start + 1)
        if close != -1:
            return s[start + 1:close], True, close - start + 1
        return OPERATOR + REFERENCE_OPENER, False, 1   # incomplete reference: kept
    return OPERATOR + first, False, 1           # `$X` is not an expression


def expand(s: str, mapping: Lookup) -> str:
    """expand.go Expand: replace every `$(NAME)` in `s` using `mapping`."""
    if OPERATOR not in s:
        return s
    lookup = _as_func(mapping)
    out: list[str] = []
    checkpoint = 0
    cursor = s.find(OPERATOR)
    n = len(s)
    while 0 <= cursor < n:
        if cursor + 1 < n:
            out.append(s[checkpoint:cursor])
            read, is_var, advance = _try_read_variable_name(s, cursor + 1)
            out.append(lookup(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor = s.find(OPERATOR, cursor + 1)
    out.append(s[checkpoint:])
    return "".join(out)


def env_list(container_env: list[dict], base: Mapping[str, str],
             field_values: Mapping[str, str]) -> list[tuple[str, str]]:
    """The container's `env` in order, each value expanded against earlier entries and `base`.

    kubelet_pods.go makeEnvironmentVariables: `base` holds what comes before `env` (envFrom,
    service variables); an entry overrides a same-named earlier one. `valueFrom.fieldRef` is
    resolved from `field_values` (fieldPath -> value, podFieldSelectorRuntimeValue) and not
    expanded; other valueFrom sources are out of podrun's scope and are skipped. A name given
    twice keeps its first position and its last value.
    """
    tmp: dict[str, str] = dict(base)
    order: dict[str, None] = {}             # first positions, in order (a dict: linear)
    for var in container_env:
        name = var["name"]
        value_from = var.get("valueFrom")
        if value_from:
            field_ref = value_from.get("fieldRef") or {}
            path = field_ref.get("fieldPath")
            if path is None or path not in field_values:
                continue
            value = field_values[path]
        else:
            # Earlier entries win over `base` because they overwrite it in `tmp`.
            value = expand(str(var.get("value", "")), tmp)
        order.setdefault(name)
        tmp[name] = value
    return [(name, tmp[name]) for name in order]


def expand_command(args: list[str], env: Mapping[str, str]) -> list[str]:
    """ExpandContainerCommandAndArgs: each element expanded against the final environment."""
    mapping = mapping_func_for(env)
    return [expand(a, mapping) for a in args]
