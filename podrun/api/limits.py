"""The apiserver's size limits, and the nesting bound that keeps Python's stack safe.

- a request body over 3 MiB is refused before decoding (apiserver MaxRequestBodyBytes,
  handlers/rest.go limitedReadBody): 413 `Request entity too large: limit is 3145728`;
- annotations, keys and values together, may have 256 KiB (apimachinery
  api/validation/objectmeta.go ValidateAnnotationsSize, TotalAnnotationSizeLimitB);
- a document nests at most MAX_DEPTH collections deep. Go's decoders stop at 10000; podrun's
  code walks objects recursively (YAML construction, deepcopy, validation), so its bound is
  lower, and still far above any Pod (about 15 levels).
"""
from __future__ import annotations

from typing import Any

__all__ = ["MAX_REQUEST_BODY_BYTES", "TOTAL_ANNOTATION_SIZE_LIMIT_B", "MAX_DEPTH",
           "annotations_too_long", "nesting_error"]

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * (1 << 10)
MAX_DEPTH = 100
_ALIAS_RATIO = 4          # expanded nodes per input character before aliasing counts as excessive


def annotations_too_long(annotations: Any) -> str | None:
    """field.TooLong's detail when the annotations' keys and values pass 256 KiB in total."""
    if not isinstance(annotations, dict):
        return None
    total = sum(len(str(k).encode()) + (len(v.encode()) if isinstance(v, str) else 0)
                for k, v in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        return f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT_B} bytes"
    return None


def nesting_error(obj: Any, text_size: int | None = None) -> str | None:
    """Why a decoded document is refused, or None: deeper than MAX_DEPTH, or (YAML aliases
    sharing nodes, `text_size` given) expanding to far more nodes than its text could hold.
    Iterative, and each shared node is walked once."""
    seen: dict[int, tuple[int, int]] = {}      # id -> (depth below it, expanded node count)
    stack: list[tuple[Any, int, bool]] = [(obj, 1, False)]
    while stack:
        node, level, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if not done and id(node) in seen:               # shared (an alias): walked already
            if level + seen[id(node)][0] - 1 > MAX_DEPTH:
                return f"exceeded max depth of {MAX_DEPTH}"
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if not done:
            if level > MAX_DEPTH:
                return f"exceeded max depth of {MAX_DEPTH}"
            stack.append((node, level, True))
            stack.extend((c, level + 1, False) for c in children)
            continue
        depth, count = 0, 1
        for c in children:
            d, n = seen.get(id(c), (0, 1)) if isinstance(c, (dict, list)) else (0, 1)
            depth, count = max(depth, d), count + n
        seen[id(node)] = (depth + 1, count)
    count = seen.get(id(obj), (0, 1))[1]
    if text_size is not None and count > _ALIAS_RATIO * text_size + 10000:
        return "document contains excessive aliasing"
    return None
