"""Strategic merge patch: apply a patch the way the apiserver does for built-in kinds.

A JSON merge patch (RFC 7386) that also knows, from the schema, which lists merge element by
element (on a merge key, or as a set of primitives) instead of being replaced, plus directives:
  null                                   delete the key
  {"$patch": "replace"} / "delete"       in a map: replace it by the patch / empty it
  {"$patch": "delete", <key>: v}         in a merged list: delete the element with that key
  {"$patch": "replace"}                  in a merged list: the patch's elements replace the list
  "$deleteFromPrimitiveList/<f>": [...]  remove these values from the primitive list <f>
  "$setElementOrder/<f>": [...]          the order of the merged list <f>
  "$retainKeys": [...]                   clear every key of the map not named here
The rules, orders and error texts follow apimachinery/pkg/util/strategicpatch/patch.go
(StrategicMergeMapPatchUsingLookupPatchMeta with MergeParallelList and IgnoreUnmatchedNulls).
"""
from __future__ import annotations

import copy
from typing import Any

from podrun.api.patch.errors import PatchError, bad_request, go_format, internal, unprocessable
from podrun.api.patch.schema import Field, Schema

__all__ = ["apply_strategic_merge_patch"]

DIRECTIVE = "$patch"
DELETE, REPLACE, MERGE = "delete", "replace", "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"

# apimachinery/pkg/util/mergepatch/errors.go
BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"
_GO_TYPES = {dict: "map[string]interface {}", list: "[]interface {}", str: "string",
             bool: "bool", int: "int64", float: "float64"}


def apply_strategic_merge_patch(original: dict, patch: dict, schema: Schema) -> dict:
    """The object `original` with the strategic merge `patch` applied; neither is modified.
    Raises PatchError with the apiserver's code and words."""
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), schema)


# ---- errors in upstream's words ---------------------------------------------------------------

def _go_type(value: Any) -> str:
    return _GO_TYPES.get(type(value), "%!s(<nil>)")


def _bad_arg_type(expected: type, actual: Any) -> PatchError:
    return internal(f"expected a {_GO_TYPES[expected]}, but received a {_go_type(actual)}")


def _no_merge_key(m: dict, key: str) -> PatchError:
    return internal(f"map: {go_format(m)} does not contain declared merge key: {key}")


def _same(a: Any, b: Any) -> bool:
    """Go's == on two decoded JSON values: same type and same value."""
    return type(a) is type(b) and a == b


# ---- maps -------------------------------------------------------------------------------------

def _merge_map(original: dict | None, patch: dict, schema: Schema) -> dict:
    if DIRECTIVE in patch:
        return _map_directive(patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in list(patch.items()):
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or type(original[key]) is not type(value):
            if not is_delete_list:
                _take_patch_value(original, key, value)
            continue
        current = original[key]
        if isinstance(current, dict):
            sub, field = schema.lookup(key)
            original[key] = value if _strategy(field) == REPLACE else _merge_map(current, value, sub)
        elif isinstance(current, list):
            sub, field = schema.lookup(key)
            original[key] = _merge_list_field(current, value, sub, field, is_delete_list)
        else:
            _take_patch_value(original, key, value)
    return original


def _map_directive(patch: dict) -> dict:
    directive = patch[DIRECTIVE]
    if directive == REPLACE:
        del patch[DIRECTIVE]
        return patch
    if directive == DELETE:
        return {}
    raise internal(f"unknown patch type: {go_format(directive)} in map: {go_format(patch)}")


def _take_patch_value(original: dict, key: str, value: Any) -> None:
    """A key the original lacks (or holds with another type) takes the patch's value, its nulls
    and directive-marked maps dropped."""
    _discard_nulls(value)
    value, keep = _remove_directives(value)
    if keep:
        original[key] = value
    else:
        original.pop(key, None)


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for k in [k for k, v in value.items() if v is None]:
            del value[k]
        for v in value.values():
            _discard_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _discard_nulls(v)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """The value without the maps that carry a $patch directive; False when it is one itself."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for k in list(value):
            value[k], keep = _remove_directives(value[k])
            if not keep:
                del value[k]
        return value, True
    if isinstance(value, list):
        kept = [_remove_directives(v) for v in value]
        return [v for v, keep in kept if keep], True
    return value, True


def _strategy(field: Field) -> str:
    """The patch strategy besides retainKeys (extractRetainKeysPatchStrategy)."""
    others = [s for s in field.strategies if s != "retainKeys"]
    return others[0] if others else ""


def _extract_key(key: str, prefix: str, error: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        raise bad_request(error)
    return rest


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in retain:
            raise bad_request(BAD_RETAIN_KEYS)
    for key in [k for k in original if k not in retain]:
        del original[key]


# ---- lists ------------------------------------------------------------------------------------

def _merge_list_field(original: list, patch: list, schema: Schema, field: Field,
                      is_delete_list: bool) -> list:
    """mergeSliceHandler: merge when the field's strategy says so, else the patch replaces."""
    if _strategy(field) == MERGE or is_delete_list:
        return _merge_list(original, patch, schema, field.merge_key, is_delete_list)
    return patch


def _element_type(*lists: list) -> type:
    """sliceElementType: every element of every list has one type, and it is not a list."""
    found: type | None = None
    for items in lists:
        for item in items:
            if found is None:
                found = type(item)
                if found is list:
                    raise unprocessable("lists of lists are not supported")
            elif type(item) is not found:
                raise internal(f"list element types are not identical: {go_format(list(lists))}")
    if found is None:
        raise internal("no elements in any of the given slices")
    return found


def _merge_list(original: list, patch: list, schema: Schema, merge_key: str,
                is_delete_list: bool) -> list:
    """mergeSlice: primitives as a set (or a deletion list), maps element by merge key."""
    if not original and not patch:
        return original
    kind = _element_type(original, patch)
    if kind is not dict:
        if is_delete_list:
            return [v for v in original if not any(_same(v, d) for d in patch)]
        merged = _dedupe(original + patch)
    else:
        if not merge_key:
            raise internal("cannot merge lists without merge key for struct")
        original, patch = _list_directives(original, patch, merge_key)
        merged = _merge_by_key(original, patch, merge_key, schema)
    patch_items, server_only = _partition(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, kind)


def _dedupe(items: list) -> list:
    out: list = []
    for item in items:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _list_directives(original: list, patch: list, merge_key: str) -> tuple[list, list]:
    """mergeSliceWithSpecialElements: apply `$patch: delete` elements, honour `$patch: replace`;
    return the new original and the patch without its directive elements."""
    plain = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [o for o in original
                        if not (merge_key in o and _same(o[merge_key], item[merge_key]))]
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            raise internal("merging lists cannot yet be specified in the patch")
        else:
            raise internal(f"unknown patch type: {go_format(directive)} in map: {go_format(item)}")
    return (plain, []) if replace else (original, plain)


def _find(items: list, key: str, value: Any) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise internal(f"value for key {i} is not a map")
        if key in item and _same(item[key], value):
            return i
    return None


def _merge_by_key(original: list, patch: list, merge_key: str, schema: Schema) -> list:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        at = _find(merged, merge_key, item[merge_key])
        if at is None:
            merged.append(item)
        else:
            merged[at] = _merge_map(merged[at], item, schema)
    return merged


def _partition(merged: list, by: list, merge_key: str) -> tuple[list, list]:
    """The merged items named in `by`, and the others (the server-only ones)."""
    named, others = [], []
    for item in merged:
        if not merge_key:
            found = any(_same(item, b) for b in by)
        else:
            if not isinstance(item, dict):
                raise _bad_arg_type(dict, item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            found = _find(by, merge_key, item[merge_key]) is not None
        (named if found else others).append(item)
    return named, others


# ---- order ------------------------------------------------------------------------------------

def _index(items: list, item: Any, merge_key: str, kind: type) -> int:
    def value(x: Any) -> Any:
        if kind is dict:
            return x.get(merge_key) if isinstance(x, dict) else None
        return x
    wanted = value(item)
    for i, x in enumerate(items):
        if _same(value(x), wanted):
            return i
    return -1


def _normalize_element_order(patch: list, server_only: list, patch_order: list,
                             server_order: list, merge_key: str, kind: type) -> list:
    """Patch items in the patch's order, server-only items in the live order, interleaved by
    the live order (normalizeElementOrder, mergeSortedSlice)."""
    patch = _sort_by(patch, patch_order, merge_key, kind)
    server_only = _sort_by(server_only, server_order, merge_key, kind)
    out: list = []
    i = j = 0
    while i < len(server_only) or j < len(patch):
        if j >= len(patch):
            out.append(server_only[i]); i += 1
            continue
        if i >= len(server_only):
            out.append(patch[j]); j += 1
            continue
        li = _index(server_order, server_only[i], merge_key, kind)
        ri = _index(server_order, patch[j], merge_key, kind)
        if li >= 0 and ri >= 0 and li < ri:
            out.append(server_only[i]); i += 1
        else:
            out.append(patch[j]); j += 1
    return out


def _sort_by(items: list, order: list, merge_key: str, kind: type) -> list:
    """normalizeSliceOrder: sort `items` by their place in `order` (Go's stable insertion sort,
    where an item missing from `order` compares as smaller), `$patch: delete` items last."""
    to_delete: list = []
    if kind is dict:
        for item in items + order:
            if not isinstance(item, dict):
                raise _bad_arg_type(dict, item)
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
        to_delete = [x for x in items if x.get(DIRECTIVE) == DELETE]
        items = [x for x in items if x.get(DIRECTIVE) != DELETE]
    items = list(items)

    def less(a: Any, b: Any) -> bool:
        ia, ib = _index(order, a, merge_key, kind), _index(order, b, merge_key, kind)
        return ia < ib if ia >= 0 and ib >= 0 else True
    for n in range(1, len(items)):
        j = n
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return items + to_delete


def _merge_ordered_lists(original: dict, patch: dict, schema: Schema) -> None:
    """mergePatchIntoOriginal: merge each list that has a `$setElementOrder/<list>` and put it
    in that order; the list is then done and leaves the patch."""
    for key, order in list(patch.items()):
        if not key.startswith(SET_ELEMENT_ORDER):
            continue
        del patch[key]
        if not isinstance(order, list):
            raise _bad_arg_type(list, order)
        name = _extract_key(key, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER)
        has_current, has_change = name in original, name in patch
        current, change = original.get(name), patch.get(name)
        for present, value in ((has_current, current), (has_change, change)):
            if present and not isinstance(value, list):
                raise _bad_arg_type(list, value)
        sub, field = schema.lookup(name)
        _validate_order(change or [], order, field.merge_key)
        if not has_current and not has_change:
            continue
        if not has_change:
            merged = current
        elif not has_current:
            merged, _ = _remove_directives(change)
        else:
            merged = _merge_list_field(current, change, sub, field, False)
        patch_items, server_only = _partition(merged, order, field.merge_key)
        kind = _element_type(current or [], change or [])
        live_order = current or []
        if has_current and has_change and kind is dict and _strategy(field) == MERGE:
            live_order = _live_order_seen_after_merge(current, change, field.merge_key)
        original[name] = _normalize_element_order(patch_items, server_only, order, live_order,
                                                  field.merge_key, kind)
        patch.pop(name, None)


def _live_order_seen_after_merge(current: list, change: list, merge_key: str) -> list:
    """The live list as upstream orders server-only items by, after merging `change` into it.

    mergePatchIntoOriginal passes its slice of the live list on to the ordering after
    mergeSlice has shared that slice's backing array: each `$patch: delete` shifted the
    following elements left in place, and each new element appended while there was room (the
    room deletions made; live lists are deep copies with cap == len) overwrote a slot."""
    if any(item.get(DIRECTIVE) == REPLACE for item in change):
        return current  # the patch's elements became a new list
    backing = list(current)
    n = len(backing)
    for item in change:
        if item.get(DIRECTIVE) != DELETE:
            continue
        k = 0
        while k < n:
            if merge_key in backing[k] and _same(backing[k][merge_key], item[merge_key]):
                backing[k:n - 1] = backing[k + 1:n]
                n -= 1
            else:
                k += 1
    for item in change:
        if DIRECTIVE in item or _find(backing[:n], merge_key, item[merge_key]) is not None:
            continue
        if n == len(backing):
            break  # no room: append moved the merged list to a new array
        backing[n] = item
        n += 1
    return backing


def _validate_order(patch_list: list, order: list, merge_key: str) -> None:
    """validatePatchWithSetOrderList: the patch's items appear in the order list, in its order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type(dict, item)
        items = [x for x in patch_list if x.get(DIRECTIVE) != DELETE]
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _merge_key_equal(items[p], order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise internal(f"The order in patch list:\n{go_format(patch_list)}\n doesn't match "
                       f"{SET_ELEMENT_ORDER} list:\n{go_format(order)}\n")


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise _bad_arg_type(dict, side)
        if merge_key not in side:
            raise _no_merge_key(side, merge_key)
    return _same(left[merge_key], right[merge_key])
