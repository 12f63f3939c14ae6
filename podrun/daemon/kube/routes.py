"""The Kubernetes paths stock clients use, added to the daemon's one aiohttp app (served on the
unix socket and over HTTPS alike).

    GET    /version /api /apis /api/v1 /apis/G/V        version.Info (1.32) and discovery
    GET    /openapi/v3[/api/v1|/apis/G/V]               OpenAPI v3 index and documents
    GET    /api/v1/pods /api/v1/namespaces/NS/pods      PodList or Table; ?labelSelector=
           &fieldSelector= &watch=true[&resourceVersion=N&timeoutSeconds=S]
    GET    /api/v1/namespaces/NS/pods/NAME              Pod or Table
    POST   /api/v1/namespaces/NS/pods                   201 Pod; 409 AlreadyExists
    DELETE /api/v1/namespaces/NS/pods/NAME              the Pod with deletionTimestamp
    GET    /api/v1/events /api/v1/namespaces/NS/events  EventList or Table, with selectors

Two podrun extensions stay on the unix socket, where podrun's own CLI is the client: a POST of
an existing pod answers `unchanged`/`configured` (X-Podrun-Result) instead of 409, and DELETE
waits until the pod is gone unless `wait=false`. Over TCP both are Kubernetes': 409, and an
immediate answer (kubectl then watches for DELETED).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re

from aiohttp import web

from podrun.api import defaults, validation
from podrun.api.manifests import Document
from podrun.api.selectors import EVENT_FIELDS, POD_FIELDS, SelectorError, parse_fields, parse_labels
from podrun.buildinfo import version_info
from podrun.daemon.body import read_object
from podrun.daemon.kube import discovery, openapi, tables
from podrun.daemon.kube.watch import Expired, PodWatchHub
from podrun.errors import AlreadyExists, Conflict, InvalidManifest, NotFound

__all__ = ["install", "status"]

log = logging.getLogger("podrun.api")
_HUB = web.AppKey("kube_hub", PodWatchHub)


def status(code: int, reason: str, message: str, name: str | None = None, kind: str | None = None
           ) -> web.Response:
    """A v1 Status, as kube-apiserver answers every error."""
    body: dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason}
    if name is not None or kind is not None:
        body["details"] = {k: v for k, v in (("name", name), ("kind", kind)) if v is not None}
    body["code"] = code
    return web.json_response(body, status=code)


def _on_unix_socket(request: web.Request) -> bool:
    return isinstance(request.transport.get_extra_info("sockname") if request.transport else None, str)


def _selectors(request: web.Request, fields: dict):
    return (parse_labels(request.query.get("labelSelector")),
            parse_fields(request.query.get("fieldSelector"), fields))


def _bad_selector(exc: SelectorError) -> web.Response:
    # kubectl adds `Unable to find "/v1, Resource=pods" that match label selector ...` itself
    return status(400, "BadRequest", str(exc))


def _bad_watch_params(request: web.Request) -> web.Response | None:
    q = request.query
    if q.get("resourceVersion", "0") and not q.get("resourceVersion", "0").isdigit():
        return status(400, "BadRequest", f'invalid resource version: {q["resourceVersion"]}')
    if q.get("timeoutSeconds") and not q["timeoutSeconds"].isdigit():
        return status(400, "BadRequest", f'invalid timeoutSeconds: {q["timeoutSeconds"]}')
    return None


def _include(request: web.Request) -> str:
    return request.query.get("includeObject", "Metadata")


def _drop_field(obj: dict, path: str) -> None:
    """Remove the field at a FieldPath text (`spec.containers[0].commandz`)."""
    tokens = [a if a is not None and a != "" else b for a, b in re.findall(r"\[([^\]]*)\]|([^.\[]+)", path)]
    cur: object = obj
    for tok in tokens[:-1]:
        cur = cur[int(tok)] if isinstance(cur, list) else cur.get(tok) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(tokens[-1], None)


def _decode(obj: dict, mode: str) -> tuple[web.Response | None, list[str]]:
    """The API server's checks of a Pod body: (an error answer or None, warnings). Unknown fields
    follow fieldValidation (staging/.../apiserver/pkg/endpoints/handlers/create.go): Strict → a
    400 strict decoding error, Warn (the default) → dropped with a warning, Ignore → dropped.
    Anything else invalid is a 422 Invalid whose causes kubectl prints one per line."""
    errors = validation.validate(Document("<request>", 1, obj))
    unknown = [e for e in errors if e.reason.startswith("unknown field")]
    warnings: list[str] = []
    if unknown and mode != "Strict":
        for e in unknown:
            _drop_field(obj, e.field_path)
        warnings = [f'unknown field "{e.field_path}"' for e in unknown] if mode == "Warn" else []
        errors = validation.validate(Document("<request>", 1, obj))
        unknown = []
    if not errors:
        return None, warnings
    name = (obj.get("metadata") or {}).get("name")
    if unknown:
        fields = ", ".join(f'unknown field "{e.field_path}"' for e in unknown)
        return status(400, "BadRequest", f'Pod in version "v1" cannot be handled as a Pod: '
                                         f'strict decoding error: {fields}'), []
    causes = [{"reason": "FieldValueInvalid", "message": e.reason, "field": e.field_path} for e in errors]
    listed = ", ".join(f"{e.field_path}: {e.reason}" for e in errors)
    resp = status(422, "Invalid", f'Pod "{name}" is invalid: {"[" + listed + "]" if len(errors) > 1 else listed}',
                  name, "Pod")
    body = json.loads(resp.body)
    body["details"]["causes"] = causes
    return web.json_response(body, status=422), []


def _warn(resp: web.Response, warnings: list[str]) -> web.Response:
    for w in warnings:                                   # RFC 7234 warn-code 299, as the apiserver
        resp.headers.add("Warning", '299 - "' + w.replace('\\', '\\\\').replace('"', '\\"') + '"')
    return resp


def install(app: web.Application, registry) -> None:
    """Add the routes; call before the app's own routes, which these take over where both exist."""
    hub = PodWatchHub(lambda: registry.list(None), registry.ctx.status.changed)
    app[_HUB] = hub

    async def _stop(app_):
        hub.stop()
    app.on_cleanup.append(_stop)
    r = web.RouteTableDef()

    # ---- version, discovery, openapi ---------------------------------------------------

    @r.get("/version")
    async def version(request):
        return web.json_response(version_info())

    async def _discovery(request, legacy: bool):
        agg = discovery.negotiate(request.headers.get("Accept", ""))
        if agg:
            return web.json_response(discovery.aggregated(agg, legacy), content_type=None,
                                     headers={"Content-Type": discovery.content_type(agg)})
        if legacy:
            return web.json_response(discovery.api_versions(request.host or "127.0.0.1"))
        return web.json_response(discovery.api_group_list())

    @r.get("/api")
    async def api(request):
        return await _discovery(request, True)

    @r.get("/apis")
    async def apis(request):
        return await _discovery(request, False)

    @r.get("/api/{version}")
    async def core_resources(request):
        return _resources(request, "", request.match_info["version"])

    @r.get("/apis/{group}/{version}")
    async def group_resources(request):
        return _resources(request, request.match_info["group"], request.match_info["version"])

    def _resources(request, group, version):
        body = discovery.resource_list(group, version)
        if body is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(body)

    @r.get("/openapi/v3")
    async def openapi_index(request):
        return web.json_response(openapi.index())

    @r.get("/openapi/v3/{path:.+}")
    async def openapi_doc(request):
        parts = request.match_info["path"].split("/")
        doc = None
        if parts[0] == "api" and len(parts) == 2:
            doc = openapi.document("", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            doc = openapi.document(parts[1], parts[2])
        if doc is None:
            return status(404, "NotFound", "the server could not find the requested resource")
        return web.json_response(doc, headers={"Cache-Control": "public, immutable"})

    # ---- pods ----------------------------------------------------------------------------

    @r.get("/api/v1/pods")
    @r.get("/api/v1/namespaces/{ns}/pods")
    async def list_pods(request):
        ns = request.match_info.get("ns")
        try:
            labels, fields = _selectors(request, POD_FIELDS)
        except SelectorError as exc:
            return _bad_selector(exc)
        if request.query.get("watch") in ("true", "1"):
            bad = _bad_watch_params(request)
            return bad if bad is not None else await _watch(request, ns, labels, fields)
        pods = [p for p in hub.sync() if (not ns or p["metadata"]["namespace"] == ns)
                and labels.matches(p["metadata"].get("labels")) and fields.matches(p, POD_FIELDS)]
        rv = str(hub.rv)
        tv = tables.wants_table(request.headers.get("Accept", ""))
        if tv:
            return web.json_response(tables.pod_table(pods, tv, _include(request), rv))
        return web.json_response({"kind": "PodList", "apiVersion": "v1",
                                  "metadata": {"resourceVersion": rv}, "items": pods})

    @r.get("/api/v1/namespaces/{ns}/pods/{name}")
    async def get_pod(request):
        ns, name = request.match_info["ns"], request.match_info["name"]
        pod = next((p for p in hub.sync() if (p["metadata"]["namespace"], p["metadata"]["name"]) == (ns, name)),
                   None)
        if pod is None:
            return status(404, "NotFound", f'pods "{name}" not found', name, "pods")
        tv = tables.wants_table(request.headers.get("Accept", ""))
        if tv:
            return web.json_response(tables.pod_table([pod], tv, _include(request), pod["metadata"]["resourceVersion"]))
        return web.json_response(pod)

    @r.post("/api/v1/namespaces/{ns}/pods")
    async def create_pod(request):
        ns = request.match_info["ns"]
        obj = await read_object(request)       # a missing Content-Type is JSON; 413 past 3 MiB
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace", ns) != ns:
            return status(400, "BadRequest", "the namespace of the provided object does not match "
                                             "the namespace sent on the request")
        meta["namespace"] = ns
        name = meta.get("name")
        unix = _on_unix_socket(request)
        # validation and defaults are heavy for a large pod: off the event loop
        invalid, warnings = await asyncio.to_thread(
            _decode, obj, request.query.get("fieldValidation", "Strict" if unix else "Warn"))
        if invalid is not None:
            return invalid
        if not unix and name and (ns, name) in registry.pods:      # decoded first, as the apiserver
            going = registry.pods[(ns, name)]["metadata"].get("deletionTimestamp")
            return status(409, "AlreadyExists", ("object is being deleted: " if going else "") +
                          f'pods "{name}" already exists', name, "pods")
        try:
            if request.query.get("dryRun") == "All":      # validated and defaulted, nothing stored
                pod = defaults.apply_defaults(obj)
                pod.pop("status", None)
                return _warn(web.json_response(pod, status=201), warnings)
            result, pod = registry.create(obj, await asyncio.to_thread(registry.admit, obj))
        except InvalidManifest as exc:
            return status(422, "Invalid", f'Pod "{name}" is invalid: {exc.field_path}: {exc.reason}',
                          name, "Pod")
        except AlreadyExists as exc:
            return status(409, "AlreadyExists", str(exc), name, "pods")
        except Conflict as exc:
            return status(409 if not unix else 422, "Conflict" if not unix else "Invalid", str(exc), name, "pods")
        stamped = next((p for p in hub.sync() if p["metadata"].get("uid") == pod["metadata"].get("uid")), pod)
        return _warn(web.json_response(stamped, status=201 if result == "created" else 200,
                                       headers={"X-Podrun-Result": result}), warnings)

    @r.delete("/api/v1/namespaces/{ns}/pods/{name}")
    async def delete_pod(request):
        ns, name = request.match_info["ns"], request.match_info["name"]
        q = request.query
        try:
            body = json.loads(await request.read() or b"{}") or {}
        except ValueError:
            body = {}
        grace = body.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        try:
            grace = int(grace) if grace is not None else None
        except (TypeError, ValueError):
            return status(400, "BadRequest", f"invalid gracePeriodSeconds: {grace}")
        unix = _on_unix_socket(request)
        if q.get("dryRun") == "All":             # --dry-run=server: checked, nothing deleted
            found = [p for p in hub.sync() if (p["metadata"]["namespace"], p["metadata"]["name"]) == (ns, name)]
            if not found:
                return status(404, "NotFound", f'pods "{name}" not found', name, "pods")
            return web.json_response(found[0])
        force = q.get("force") == "true" or (not unix and grace == 0)   # the API: 0 = now
        wait = q.get("wait", "true" if unix else "false") != "false"
        try:
            pod = await registry.delete(ns, name, grace, force, wait)
        except NotFound:
            return status(404, "NotFound", f'pods "{name}" not found', name, "pods")
        current = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in hub.sync()}
        pod = current.get((ns, name), pod)
        pod["metadata"].setdefault("resourceVersion", str(hub.rv))
        return web.json_response(pod)

    @r.patch("/api/v1/namespaces/{ns}/pods/{name}")
    @r.put("/api/v1/namespaces/{ns}/pods/{name}")
    async def not_yet(request):
        # apply/label/annotate/patch need the patch module and the object store: a later piece
        return status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    async def _watch(request, ns, labels, fields):
        hub.start()
        table_version = tables.wants_table(request.headers.get("Accept", ""))
        include = _include(request)
        timeout = float(request.query.get("timeoutSeconds") or 0) or None
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        first = True

        async def send(typ: str, obj: dict) -> None:
            nonlocal first
            if table_version:
                obj = tables.pod_table([obj], table_version, include, obj["metadata"]["resourceVersion"],
                                       columns=first)
            first = False
            await resp.write(json.dumps({"type": typ, "object": obj}).encode() + b"\n")

        def selected(pod: dict) -> bool:
            return ((not ns or pod["metadata"]["namespace"] == ns) and
                    labels.matches(pod["metadata"].get("labels")) and fields.matches(pod, POD_FIELDS))

        def key(pod):
            return pod["metadata"]["namespace"], pod["metadata"]["name"]

        async def stream():
            wake = hub.wakeup()
            current = hub.sync()
            matched = {key(p) for p in current if selected(p)}
            rv_param = request.query.get("resourceVersion", "")
            if rv_param in ("", "0"):
                for p in current:
                    if key(p) in matched:
                        await send("ADDED", p)
                last = hub.rv
            else:
                last = int(rv_param)
            while True:
                try:
                    events = hub.since(last)
                except Expired as exc:
                    await resp.write(json.dumps({"type": "ERROR", "object": {
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": str(exc), "reason": "Expired", "code": 410}}).encode() + b"\n")
                    return
                for ev in events:
                    last = ev.rv
                    k, now_in = key(ev.object), ev.type != "DELETED" and selected(ev.object)
                    was_in = k in matched or (ev.type == "DELETED" and selected(ev.object))
                    if now_in:
                        matched.add(k)
                        await send("MODIFIED" if was_in and ev.type != "ADDED" else "ADDED", ev.object)
                    elif was_in:
                        matched.discard(k)
                        await send("DELETED", ev.object)
                await wake.wait()
                wake = hub.wakeup()

        try:
            await asyncio.wait_for(stream(), timeout)
        except asyncio.TimeoutError:
            pass
        await resp.write_eof()
        return resp

    # ---- events ------------------------------------------------------------------------

    @r.get("/api/v1/events")
    @r.get("/api/v1/namespaces/{ns}/events")
    async def events(request):
        ns = request.match_info.get("ns")
        try:
            labels, fields = _selectors(request, EVENT_FIELDS)
        except SelectorError as exc:
            return _bad_selector(exc)
        status_mgr = registry.ctx.status

        def selected() -> list[dict]:
            items = [ev for k in status_mgr.keys() if not ns or k[0] == ns for ev in status_mgr.events(k)
                     if labels.matches(ev["metadata"].get("labels")) and fields.matches(ev, EVENT_FIELDS)]
            return sorted(items, key=lambda e: e["lastTimestamp"])

        if request.query.get("watch") in ("true", "1"):
            bad = _bad_watch_params(request)
            return bad if bad is not None else await _watch_events(request, selected)
        items = selected()
        rv = str(hub.rv)
        tv = tables.wants_table(request.headers.get("Accept", ""))
        if tv:
            return web.json_response(tables.event_table(items, tv, _include(request), rv))
        return web.json_response({"kind": "EventList", "apiVersion": "v1",
                                  "metadata": {"resourceVersion": rv}, "items": items})

    async def _watch_events(request, selected):
        """Events carry no resourceVersion history yet: a watch sends what is new or repeated
        (count) after it starts (every event first when no resourceVersion is given)."""
        tv = tables.wants_table(request.headers.get("Accept", ""))
        timeout = float(request.query.get("timeoutSeconds") or 0) or None
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)

        def version(ev):
            return ev["metadata"]["name"], ev.get("count"), ev.get("lastTimestamp")

        async def stream():
            seen = set() if request.query.get("resourceVersion", "0") in ("", "0") else \
                {version(ev) for ev in selected()}
            names = {v[0] for v in seen}
            first = True
            while True:
                changed = registry.ctx.status.changed()
                for ev in selected():
                    if version(ev) in seen:
                        continue
                    seen.add(version(ev))
                    typ = "MODIFIED" if ev["metadata"]["name"] in names else "ADDED"
                    names.add(ev["metadata"]["name"])
                    obj = dict(ev, metadata=dict(ev["metadata"], resourceVersion=str(hub.rv)))
                    if tv:
                        obj = tables.event_table([obj], tv, _include(request), str(hub.rv))
                        if not first:
                            obj["columnDefinitions"] = []
                    first = False
                    await resp.write(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
                await changed.wait()

        try:
            await asyncio.wait_for(stream(), timeout)
        except asyncio.TimeoutError:
            pass
        await resp.write_eof()
        return resp

    app.add_routes(r)
