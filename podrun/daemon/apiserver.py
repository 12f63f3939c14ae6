"""The daemon's REST API on a root-only unix socket, in Kubernetes' own paths and objects.

    POST   /api/v1/namespaces/NS/pods              create (X-Podrun-Result: created|unchanged|configured)
    GET    /api/v1/pods  /api/v1/namespaces/NS/pods[?labelSelector=k=v,...]   v1 PodList
    GET    /api/v1/namespaces/NS/pods/NAME         v1 Pod
    DELETE /api/v1/namespaces/NS/pods/NAME[?gracePeriodSeconds=N&force=true&wait=false]
    GET    /api/v1/events  /api/v1/namespaces/NS/events[?fieldSelector=involvedObject.name=X]
    GET    /api/v1/watch/pods[?namespace=NS]       one JSON watch event per line as pods change
    GET    /apis/metrics.k8s.io/v1beta1/[namespaces/NS/]pods[/NAME]   PodMetrics(List), for `top`
    POST   /podrun/v1/images/changed               an image was added: end image back-offs early
    GET    /podrun/v1/looplag[?reset=true]         the event loop's worst lag (daemon/looplag.py)
    GET    /healthz
Errors are v1 Status objects with kubectl's messages.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from podrun import __version__
from podrun.api.limits import MAX_REQUEST_BODY_BYTES, nesting_error
from podrun.errors import AlreadyExists, Conflict, InvalidManifest, NotFound, PodrunError
from podrun.daemon.looplag import LoopLag
from podrun.daemon.metrics import pod_metrics
from podrun.daemon.podjson import PodJSON
from podrun.daemon.registry import PodRegistry

__all__ = ["make_app"]

log = logging.getLogger("podrun.api")


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.json_response(body, status=code)


class _BadBody(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason


async def _read_object(request: web.Request) -> dict:
    """handlers/rest.go limitedReadBody, then the decode: a body over 3 MiB is refused unread
    (413), one that is not a JSON object (or nests too deep to walk) is a 400."""
    too_large = _BadBody(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}")
    if (request.content_length or 0) > MAX_REQUEST_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_REQUEST_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    # in a thread: walking a 2.7 MB body for its depth is 0.2 s of Python
    obj, reason = await asyncio.to_thread(_decode, b"".join(chunks))
    if reason:
        raise _BadBody(400, "BadRequest", f"couldn't get version/kind; json parse error: {reason}")
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


@web.middleware
async def _errors(request: web.Request, handler):
    try:
        return await handler(request)
    except _BadBody as exc:
        return _status(exc.code, exc.reason, str(exc))
    except NotFound as exc:
        return _status(404, "NotFound", str(exc))
    except AlreadyExists as exc:
        return _status(409, "AlreadyExists", str(exc))
    except InvalidManifest as exc:
        return _status(422, "Invalid", str(exc))
    except Conflict as exc:
        return _status(422, "Invalid", str(exc))
    except PodrunError as exc:
        return _status(500, "InternalError", str(exc))


async def _start(lag: LoopLag) -> None:
    lag.start()


async def _stop(lag: LoopLag) -> None:
    lag.stop()


def _json(text: str, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=text, status=status, headers=headers, content_type="application/json")


def _selector(request: web.Request) -> dict[str, str]:
    sel = request.query.get("labelSelector", "")
    out = {}
    for part in filter(None, sel.split(",")):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip().lstrip("=")
    return out


def make_app(registry: PodRegistry) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=MAX_REQUEST_BODY_BYTES + 1)
    r = web.RouteTableDef()
    pods_json = PodJSON()

    @r.get("/healthz")
    async def healthz(request):
        return web.Response(text="ok")

    @r.get("/version")
    async def version(request):
        return web.json_response({"podrun": __version__})

    @r.post("/api/v1/namespaces/{ns}/pods")
    async def create(request):
        obj = await _read_object(request)
        obj.setdefault("metadata", {}).setdefault("namespace", request.match_info["ns"])
        admitted = await asyncio.to_thread(registry.admit, obj)
        result, pod = registry.create(obj, admitted)
        return _json(pods_json.dumps(pod), status=201 if result == "created" else 200,
                     headers={"X-Podrun-Result": result})

    @r.get("/api/v1/pods")
    @r.get("/api/v1/namespaces/{ns}/pods")
    async def list_pods(request):
        pods = registry.list(request.match_info.get("ns"), _selector(request))
        if not request.match_info.get("ns"):
            pods_json.keep(p["metadata"]["uid"] for p in pods)
        return _json(pods_json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}))

    @r.get("/api/v1/namespaces/{ns}/pods/{name}")
    async def get_pod(request):
        return _json(pods_json.dumps(registry.get(request.match_info["ns"], request.match_info["name"])))

    @r.delete("/api/v1/namespaces/{ns}/pods/{name}")
    async def delete_pod(request):
        q = request.query
        grace = int(q["gracePeriodSeconds"]) if "gracePeriodSeconds" in q else None
        pod = await registry.delete(request.match_info["ns"], request.match_info["name"], grace,
                                    q.get("force") == "true", q.get("wait", "true") != "false")
        return _json(pods_json.dumps(pod))

    @r.get("/api/v1/events")
    @r.get("/api/v1/namespaces/{ns}/events")
    async def events(request):
        ns = request.match_info.get("ns")
        want = request.query.get("fieldSelector", "").partition("involvedObject.name=")[2] or None
        items = []
        for key in registry.ctx.status.keys():
            if (ns and key[0] != ns) or (want and key[1] != want):
                continue
            items.extend(registry.ctx.status.events(key))
        items.sort(key=lambda e: e["lastTimestamp"])
        return web.json_response({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items})

    @r.get("/api/v1/watch/pods")
    async def watch(request):
        ns = request.query.get("namespace")
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        seen: dict = {}
        while True:
            changed = registry.ctx.status.changed()
            current = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in registry.list(ns)}
            for key, pod in current.items():
                typ = "ADDED" if key not in seen else "MODIFIED"
                if seen.get(key) != pod:
                    await resp.write(pods_json.dumps({"type": typ, "object": pod}).encode() + b"\n")
            for key in set(seen) - set(current):
                await resp.write(pods_json.dumps({"type": "DELETED", "object": seen[key]}).encode() + b"\n")
            seen = current
            await changed.wait()

    @r.get("/apis/metrics.k8s.io/v1beta1/pods")
    @r.get("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods")
    async def list_metrics(request):
        items = await pod_metrics(registry, request.match_info.get("ns"), None, _selector(request))
        return web.json_response({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                                  "metadata": {}, "items": items})

    @r.get("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/{name}")
    async def get_metrics(request):
        items = await pod_metrics(registry, request.match_info["ns"], request.match_info["name"])
        return web.json_response(items[0])

    lag = LoopLag()
    app.on_startup.append(lambda _app: _start(lag))
    app.on_cleanup.append(lambda _app: _stop(lag))

    @r.get("/podrun/v1/looplag")
    async def looplag(request):
        """The event loop's worst lateness since the last ?reset=true (podrun's own, for bench)."""
        return web.json_response(lag.snapshot(request.query.get("reset") == "true"))

    @r.post("/podrun/v1/images/changed")
    async def images_changed(request):
        registry.wake_image_waiters()
        return web.json_response({"ok": True})

    app.add_routes(r)
    return app
