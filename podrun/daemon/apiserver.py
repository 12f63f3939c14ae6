"""The daemon's REST API on a root-only unix socket, in Kubernetes' own paths and objects.

    (version, discovery, openapi, pods and events: daemon/kube/routes.py)
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

from aiohttp import web

from podrun.api.limits import MAX_REQUEST_BODY_BYTES
from podrun.errors import AlreadyExists, Conflict, InvalidManifest, NotFound, PodrunError
from podrun.daemon.body import BadBody
from podrun.daemon.kube import routes as kube_routes
from podrun.daemon.looplag import LoopLag
from podrun.daemon.metrics import pod_metrics
from podrun.daemon.registry import PodRegistry

__all__ = ["make_app"]

log = logging.getLogger("podrun.api")


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.json_response(body, status=code)


@web.middleware
async def _errors(request: web.Request, handler):
    try:
        return await handler(request)
    except BadBody as exc:
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


def _selector(request: web.Request) -> dict[str, str]:
    sel = request.query.get("labelSelector", "")
    out = {}
    for part in filter(None, sel.split(",")):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip().lstrip("=")
    return out


def make_app(registry: PodRegistry) -> web.Application:
    app = web.Application(middlewares=[_errors], client_max_size=MAX_REQUEST_BODY_BYTES + 1)
    kube_routes.install(app, registry)   # /version, discovery, openapi, pods, events (issue 16)
    r = web.RouteTableDef()

    @r.get("/healthz")
    async def healthz(request):
        return web.Response(text="ok")

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
                    await resp.write(json.dumps({"type": typ, "object": pod}).encode() + b"\n")
            for key in set(seen) - set(current):
                await resp.write(json.dumps({"type": "DELETED", "object": seen[key]}).encode() + b"\n")
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
