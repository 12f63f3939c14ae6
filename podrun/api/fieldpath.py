"""FieldPath: where in a manifest a value lives, printed the Kubernetes way.

    FieldPath.root("spec").child("containers").index(1).child("livenessProbe")
        -> "spec.containers[1].livenessProbe"
    FieldPath.root("metadata").child("labels").key("app") -> "metadata.labels[app]"

Mirrors k8s.io/apimachinery/pkg/util/validation/field/path.go (NewPath, Child, Index, Key).
"""
from __future__ import annotations

__all__ = ["FieldPath"]


class FieldPath:
    """An immutable path; every step returns a new FieldPath."""

    __slots__ = ("_text",)

    def __init__(self, text: str = ""):
        self._text = text

    @classmethod
    def root(cls, name: str, *more: str) -> "FieldPath":
        """NewPath(name, more...)."""
        path = cls().child(name)
        for m in more:
            path = path.child(m)
        return path

    def child(self, name: str, *more: str) -> "FieldPath":
        text = f"{self._text}.{name}" if self._text else name
        path = FieldPath(text)
        for m in more:
            path = path.child(m)
        return path

    def index(self, i: int) -> "FieldPath":
        return FieldPath(f"{self._text}[{i}]")

    def key(self, k: str) -> "FieldPath":
        return FieldPath(f"{self._text}[{k}]")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"FieldPath({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FieldPath):
            return self._text == other._text
        if isinstance(other, str):
            return self._text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __bool__(self) -> bool:
        return bool(self._text)
