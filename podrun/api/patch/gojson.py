"""Decode a request body as JSON and word failures as Go's encoding/json does.

The apiserver hands the text of these errors to the client (a 400 BadRequest), so a syntax
error reads `invalid character 'x' looking for beginning of value` and a wrong shape reads
`json: cannot unmarshal array into Go value of type map[string]interface {}`.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["GoJSONError", "loads", "json_kind"]


class GoJSONError(ValueError):
    """A body Go's decoder would refuse; str() is Go's message."""


# Python's json messages -> what Go's scanner says at the same character
_CONTEXT = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Extra data": "after top-level value",
}


def _quote_char(c: str) -> str:
    """Go's quoteChar: 'x', '\\n', '\\''."""
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    return "'" + json.dumps(c)[1:-1] + "'"


def _innermost(doc: str, pos: int) -> str:
    """'{' or '[': the container open at `pos`, skipping strings."""
    stack: list[str] = []
    in_string = escaped = False
    for c in doc[:pos]:
        if in_string:
            in_string = not (c == '"' and not escaped)
            escaped = c == "\\" and not escaped
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _go_message(doc: str, err: json.JSONDecodeError) -> str:
    if err.pos >= len(doc.rstrip()) or "Unterminated string" in err.msg:
        return "unexpected end of JSON input"
    c = doc[err.pos]
    if err.msg.startswith("Invalid control character"):
        return f"invalid character {_quote_char(c)} in string literal"
    if err.msg.startswith("Invalid \\escape"):
        return f"invalid character {_quote_char(doc[err.pos + 1])} in string escape code"
    if err.msg == "Expecting ',' delimiter":
        where = "after object key:value pair" if _innermost(doc, err.pos) == "{" else "after array element"
        return f"invalid character {_quote_char(c)} {where}"
    return f"invalid character {_quote_char(c)} {_CONTEXT.get(err.msg, 'looking for beginning of value')}"


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def loads(body: bytes | str) -> Any:
    """The JSON value of `body`; GoJSONError with Go's words when it is not JSON."""
    doc = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return json.loads(doc, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise GoJSONError(_go_message(doc, e)) from None
    except ValueError as e:  # NaN, Infinity: not JSON
        raise GoJSONError(f"invalid character {_quote_char(str(e)[0])} looking for beginning "
                          "of value") from None


def json_kind(value: Any) -> str:
    """The JSON kind Go names in `cannot unmarshal <kind> into ...`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")
