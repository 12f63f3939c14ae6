"""The error list of one manifest document, in field/errors.go's words.

Each method of ErrorList is one of upstream's constructors (k8s.io/apimachinery
`pkg/util/validation/field/errors.go`: Required, Invalid, Duplicate, NotFound, NotSupported,
Forbidden); every error becomes an InvalidManifest(file, doc, field_path, reason).
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from podrun.api.fieldpath import FieldPath
from podrun.api.manifests import Document
from podrun.errors import InvalidManifest

__all__ = ["ErrorList", "format_value"]


def format_value(value: Any) -> str:
    """field/errors.go prints strings quoted and numbers/bools bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else json.dumps(value, default=str)


class ErrorList:
    """The ErrorList of one document; each helper is one of field/errors.go's constructors."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.items: list[InvalidManifest] = []

    def add(self, path: FieldPath | str, reason: str) -> None:
        text = str(path)
        if self.doc.prefix:
            text = f"{self.doc.prefix}.{text}" if text else self.doc.prefix
        self.items.append(InvalidManifest(self.doc.file, self.doc.index, text, reason))

    def required(self, path: FieldPath, detail: str = "") -> None:
        self.add(path, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: FieldPath, value: Any, detail: str) -> None:
        self.add(path, f"Invalid value: {format_value(value)}: {detail}")

    def duplicate(self, path: FieldPath, value: Any) -> None:
        self.add(path, f"Duplicate value: {format_value(value)}")

    def not_found(self, path: FieldPath, value: Any) -> None:
        self.add(path, f"Not found: {format_value(value)}")

    def not_supported(self, path: FieldPath, value: Any, allowed: Iterable[str]) -> None:
        self.add(path, f"Unsupported value: {format_value(value)}: supported values: "
                       + ", ".join(json.dumps(a) for a in allowed))

    def forbidden(self, path: FieldPath, detail: str) -> None:
        self.add(path, f"Forbidden: {detail}")
