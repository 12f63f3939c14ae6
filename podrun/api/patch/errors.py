"""PatchError: a failed patch as the apiserver answers it (HTTP code, Status reason, message).

The codes and words follow staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go
(interpretStrategicMergePatchError, applyJSPatch) and apimachinery/pkg/api/errors/errors.go:
  - NewBadRequest: 400 BadRequest, the error text as message;
  - NewGenericServerResponse(422): 422 Invalid, a fixed message, the error text as a cause;
  - a plain Go error: 500, no reason, the error text as message (responsewriters/status.go).
"""
from __future__ import annotations

from typing import Any

from podrun.errors import PodrunError

__all__ = ["PatchError", "bad_request", "unprocessable", "internal", "unsupported_media_type",
           "go_format"]

UNPROCESSABLE_MESSAGE = "the server rejected our request due to an error in our request"


class PatchError(PodrunError):
    """A patch the server refuses: `code` (HTTP), `reason` (Status reason, "" for none),
    `message` (Status message, what kubectl prints) and `causes` (Status details causes)."""

    def __init__(self, code: int, reason: str, message: str,
                 causes: list[dict[str, str]] | None = None):
        self.code, self.reason, self.message = code, reason, message
        self.causes = causes or []
        super().__init__(message)

    def status(self) -> dict[str, Any]:
        """The v1 Status the API server answers with."""
        status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                  "status": "Failure", "message": self.message, "code": self.code}
        if self.reason:
            status["reason"] = self.reason
        if self.causes:
            status["details"] = {"causes": self.causes}
        return status


def bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def unprocessable(message: str) -> PatchError:
    """errors.NewGenericServerResponse(422, ...): the text travels as an unexpected-response cause."""
    return PatchError(422, "Invalid", UNPROCESSABLE_MESSAGE,
                      [{"reason": "UnexpectedServerResponse", "message": message}])


def internal(message: str) -> PatchError:
    """A plain (non-Status) error inside the apiserver: 500 with no reason."""
    return PatchError(500, "", message)


def unsupported_media_type(accepted: list[str]) -> PatchError:
    # apiserver/pkg/endpoints/handlers/negotiation/errors.go errUnsupportedMediaType
    return PatchError(415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: " + ", ".join(accepted))


def go_format(value: Any) -> str:
    """A decoded JSON value as Go's fmt %v prints it (map keys sorted), for messages that embed
    the offending map or list, e.g. `map: map[image:nginx] does not contain declared merge key`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)
