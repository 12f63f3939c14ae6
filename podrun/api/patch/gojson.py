"""Decode a request body as JSON and word failures as Go's encoding/json does.

The apiserver hands the text of these errors to the client (a 400 BadRequest), so the body is
first checked by a small port of Go's JSON scanner (encoding/json scanner.go: the same states
and the same words, `invalid character 'x' looking for beginning of value`), then decoded by
Python's json; a wrong shape reads `json: cannot unmarshal array into Go value of type ...`.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["GoJSONError", "loads", "json_kind"]


class GoJSONError(ValueError):
    """A body Go's decoder would refuse; str() is Go's message."""


_SPACE = b" \t\r\n"
_HEX = b"0123456789abcdefABCDEF"
_DIGITS = b"0123456789"


def _quote_char(c: int) -> str:
    """Go's quoteChar of one input byte: 'x', '\\n', '\\x01', '\\''."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    ch = chr(c)
    if ch == "\\":
        return "'\\\\'"
    if ch.isprintable():
        return f"'{ch}'"
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v"}
    if ch in escapes:
        return f"'{escapes[ch]}'"
    return f"'\\x{c:02x}'" if c < 0x80 else f"'\\u{c:04x}'"


class _Scanner:
    """Go's scanner: one step function per state, a stack of open objects and arrays."""

    def __init__(self) -> None:
        self.step = self.begin_value
        self.stack: list[str] = []  # "key" (object, before ':'), "value" (object), "array"
        self.end_top = False

    def fail(self, c: int, context: str) -> None:
        raise GoJSONError(f"invalid character {_quote_char(c)} {context}")

    # values
    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        simple = {ord("{"): ("key", self.begin_string_or_empty),
                  ord("["): ("array", self.begin_value_or_empty)}
        if c in simple:
            kind, step = simple[c]
            self.stack.append(kind)
            self.step = step
        elif c == ord('"'):
            self.step = self.in_string
        elif c == ord("-"):
            self.step = self.neg
        elif c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        elif c in (ord("t"), ord("f"), ord("n")):
            word = {ord("t"): "true", ord("f"): "false", ord("n"): "null"}[c]
            self.step = self.literal(word, 1)
        else:
            self.fail(c, "looking for beginning of value")

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = "value"
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord('"'):
            self.step = self.in_string
            return
        self.fail(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.end_top = True
            self.step = self.state_end_top
            self.state_end_top(c)
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        top = self.stack[-1]
        if top == "key":
            if c == ord(":"):
                self.stack[-1] = "value"
                self.step = self.begin_value
                return
            self.fail(c, "after object key")
        elif top == "value":
            if c == ord(","):
                self.stack[-1] = "key"
                self.step = self.begin_string
                return
            if c == ord("}"):
                self.stack.pop()
                self.end_value_after_close()
                return
            self.fail(c, "after object key:value pair")
        else:
            if c == ord(","):
                self.step = self.begin_value
                return
            if c == ord("]"):
                self.stack.pop()
                self.end_value_after_close()
                return
            self.fail(c, "after array element")

    def end_value_after_close(self) -> None:
        if not self.stack:
            self.end_top = True
            self.step = self.state_end_top
        else:
            self.step = self.end_value

    def state_end_top(self, c: int) -> None:
        if c not in _SPACE:
            self.fail(c, "after top-level value")

    # strings
    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_string_esc
        elif c < 0x20:
            self.fail(c, "in string literal")

    def in_string_esc(self, c: int) -> None:
        if c in b'bfnrt\\/"':
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self.in_string_esc_u(4)
        else:
            self.fail(c, "in string escape code")

    def in_string_esc_u(self, left: int):
        def step(c: int) -> None:
            if c not in _HEX:
                self.fail(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if left == 1 else self.in_string_esc_u(left - 1)
        return step

    # numbers
    def neg(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif ord("1") <= c <= ord("9"):
            self.step = self.one
        else:
            self.fail(c, "in numeric literal")

    def one(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.dot
        elif c in b"eE":
            self.step = self.exp
        else:
            self.end_value(c)

    def dot(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.dot0
        else:
            self.fail(c, "after decimal point in numeric literal")

    def dot0(self, c: int) -> None:
        if c in _DIGITS:
            return
        if c in b"eE":
            self.step = self.exp
        else:
            self.end_value(c)

    def exp(self, c: int) -> None:
        if c in b"+-":
            self.step = self.exp_sign
        else:
            self.exp_sign(c)

    def exp_sign(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.exp0
        else:
            self.fail(c, "in exponent of numeric literal")

    def exp0(self, c: int) -> None:
        if c not in _DIGITS:
            self.end_value(c)

    # true, false, null
    def literal(self, word: str, at: int):
        def step(c: int) -> None:
            if c != ord(word[at]):
                self.fail(c, f"in literal {word} (expecting {_quote_char(ord(word[at]))})")
            self.step = self.end_value if at + 1 == len(word) else self.literal(word, at + 1)
        return step


def _check_valid(data: bytes) -> None:
    """Go's checkValid: raise GoJSONError at the first byte Go's scanner refuses."""
    scan = _Scanner()
    for c in data:
        scan.step(c)
    if scan.end_top:
        return
    scan.step(ord(" "))  # eof: a number or literal may end here
    if not scan.end_top:
        raise GoJSONError("unexpected end of JSON input")


def loads(body: bytes | str) -> Any:
    """The JSON value of `body`; GoJSONError with Go's words when it is not JSON."""
    data = body.encode() if isinstance(body, str) else body
    _check_valid(data)
    return json.loads(data.decode("utf-8", errors="replace"))


def json_kind(value: Any) -> str:
    """The JSON kind Go names in `cannot unmarshal <kind> into ...`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")
