"""/openapi/v3: the index and one small OpenAPI 3 document per group-version.

kubectl `create -f` and `apply` (validation on by default) only ask whether the server validates
fields itself: they look up the kind's item path, its `patch` operation carrying
`x-kubernetes-group-version-kind`, and a `fieldValidation` query parameter (kubectl's
QueryParamVerifierV3). With that found they send `fieldValidation=Strict` and leave validation
to the server; no schemas are needed for it, so none are served yet (`kubectl explain` has
nothing to show). /openapi/v2 stays 404, which kubectl accepts.
"""
from __future__ import annotations

import hashlib
import json

from podrun.daemon.kube.discovery import GROUP_VERSIONS, RESOURCES

__all__ = ["index", "document", "gv_path"]

_KUBE_VERSION = "v1.32.0"


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _params(*names: str) -> list[dict]:
    return [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for n in names]


def document(group: str, version: str) -> dict | None:
    if (group, version) not in GROUP_VERSIONS:
        return None
    paths = {}
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = "/" + gv_path(group, version) + ("/namespaces/{namespace}" if r.namespaced else "")
        ok = {"200": {"description": "OK"}}
        item = {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk,
                        "responses": ok}}
        if "patch" in r.verbs or "create" in r.verbs:
            # what kubectl's field-validation check looks for (even before PATCH is served)
            item["patch"] = {"x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                             "parameters": _params("dryRun", "fieldManager", "fieldValidation", "force"),
                             "responses": ok}
        if "delete" in r.verbs:
            item["delete"] = {"x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk,
                              "responses": ok}
        paths[f"{base}/{r.resource}/{{name}}"] = item
        coll = {"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk,
                        "responses": ok}}
        if "create" in r.verbs:
            coll["post"] = {"x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                            "parameters": _params("dryRun", "fieldManager", "fieldValidation"),
                            "responses": ok}
        paths[f"{base}/{r.resource}"] = coll
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": _KUBE_VERSION},
            "paths": paths, "components": {"schemas": {}}}


def _hash(doc: dict) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()


def index() -> dict:
    return {"paths": {gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{gv_path(g, v)}?hash={_hash(document(g, v))}"}
                      for g, v in GROUP_VERSIONS}}
