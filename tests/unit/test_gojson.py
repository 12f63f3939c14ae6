"""Request bodies that are not JSON are refused in the words of Go's encoding/json scanner."""
from __future__ import annotations

import pytest

from podrun.api.patch.gojson import GoJSONError, loads


@pytest.mark.parametrize("body, message", [
    (b"", "unexpected end of JSON input"),
    (b'{"a": [1, 2', "unexpected end of JSON input"),
    (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
    (b"nuel", "invalid character 'e' in literal null (expecting 'l')"),
    (b'{"a": 1,}', "invalid character '}' looking for beginning of object key string"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b"{} x", "invalid character 'x' after top-level value"),
    (b"-x", "invalid character 'x' in numeric literal"),
    (b"1.e3", "invalid character 'e' after decimal point in numeric literal"),
    (b"1e+", "invalid character ' ' in exponent of numeric literal"),
    (b'"a\\q"', "invalid character 'q' in string escape code"),
    (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    (b'"a\nb"', "invalid character '\\n' in string literal"),
    (b"\\", "invalid character '\\\\' looking for beginning of value"),
    (b"{'a': 1}", "invalid character '\\'' looking for beginning of object key string"),
    (b"NaN", "invalid character 'N' looking for beginning of value"),
])
def test_a_body_that_is_not_json_is_refused_as_go_words_it(body, message):
    with pytest.raises(GoJSONError) as e:
        loads(body)
    assert str(e.value) == message


def test_valid_json_decodes_with_integers_kept():
    assert loads(b' {"a": [1, 2.5, true, null, "\\u00e9"]} ') == {"a": [1, 2.5, True, None, "é"]}
