"""Kubernetes resource quantities ("500m", "64Mi", "1e3", "2") as exact Decimals.

Follows k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity, parseQuantityString)
and suffix.go: binary suffixes Ki..Ei, decimal suffixes n u m "" k M G T P E, and decimal
exponents (1e3, 2E-2). The error texts are upstream's ErrFormatWrong and ErrSuffix.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_quantity", "cpu_millis", "memory_bytes", "ERR_FORMAT_WRONG", "ERR_SUFFIX"]

ERR_FORMAT_WRONG = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
ERR_SUFFIX = "unable to parse quantity's suffix"

_SPLIT = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[eE][-+]?[0-9]+$")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(s: str | int | float) -> Decimal:
    """"64Mi" -> Decimal(67108864); raises ValueError with Kubernetes' message."""
    if isinstance(s, bool):
        raise ValueError(ERR_FORMAT_WRONG)
    if isinstance(s, (int, float)):
        # YAML turns `cpu: 2` or `cpu: 0.5` into numbers; the API server reads them as quantities
        s = repr(s) if isinstance(s, float) else str(s)
    if not isinstance(s, str) or not s:
        raise ValueError(ERR_FORMAT_WRONG)
    m = _SPLIT.match(s)
    if not m:
        raise ValueError(ERR_FORMAT_WRONG)
    number, suffix = m.group(1), m.group(2)
    if not _NUMBER.match(number):
        raise ValueError(ERR_FORMAT_WRONG)
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise ValueError(ERR_FORMAT_WRONG) from None
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value.scaleb(_DECIMAL[suffix])
    if _EXPONENT.match(suffix):
        return value.scaleb(int(suffix[1:]))
    raise ValueError(ERR_SUFFIX)


def cpu_millis(q: str | int | float | Decimal) -> int:
    """CPU in millicores, rounded up like Quantity.MilliValue(): "0.5" -> 500, "1m" -> 1."""
    value = q if isinstance(q, Decimal) else parse_quantity(q)
    return math.ceil(value * 1000)


def memory_bytes(q: str | int | float | Decimal) -> int:
    """Bytes, rounded up like Quantity.Value(): "64Mi" -> 67108864, "1k" -> 1000."""
    value = q if isinstance(q, Decimal) else parse_quantity(q)
    return math.ceil(value)
