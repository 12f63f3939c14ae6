"""A request body as the apiserver reads it (handlers/rest.go limitedReadBody): over 3 MiB is
refused unread with 413; a body that is not a JSON object, or nests too deep to walk, is a 400.
The decode runs in a thread: walking a 2.7 MB body for its depth is 0.2 s of Python."""
from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from podrun.api.limits import MAX_REQUEST_BODY_BYTES, nesting_error

__all__ = ["BadBody", "read_object"]


class BadBody(Exception):
    """Answered by the API server's error middleware as a v1 Status with this code."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason


async def read_object(request: web.Request, empty: bytes = b"null") -> dict:
    too_large = BadBody(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}")
    if (request.content_length or 0) > MAX_REQUEST_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_REQUEST_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    obj, reason = await asyncio.to_thread(_decode, b"".join(chunks) or empty)
    if reason:
        raise BadBody(400, "BadRequest", f"couldn't get version/kind; json parse error: {reason}")
    return obj


def _decode(body: bytes) -> tuple[Any, str | None]:
    try:
        obj = json.loads(body)
        reason = nesting_error(obj)
    except ValueError as exc:
        return None, str(exc)
    except RecursionError:
        return None, "exceeded max depth"
    if not reason and not isinstance(obj, dict):
        reason = f"cannot unmarshal {type(obj).__name__} into an object"
    return obj, reason
