"""API discovery: what podrun serves, in both of kube-apiserver's forms.

Aggregated (apidiscovery.k8s.io/v2 and v2beta1 `APIGroupDiscoveryList`, one answer per /api and
/apis) when the Accept header asks for it — the Content-Type must then echo the `g;v;as` asked
for, or kubectl ignores the body — and the legacy form otherwise (`APIVersions`, `APIGroupList`,
then an `APIResourceList` per group-version). RESOURCES is the one table both are built from,
and the OpenAPI documents too (openapi.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Resource", "RESOURCES", "GROUP_VERSIONS", "negotiate", "aggregated", "api_versions",
           "api_group_list", "resource_list", "find"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    resource: str          # plural
    kind: str
    singular: str
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    namespaced: bool = True
    # subresource -> (responseKind group, version, kind, verbs)
    subresources: dict[str, tuple[str, str, str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


_POD_SUBS = {
    "attach": ("", "v1", "PodAttachOptions", ("create", "get")),
    "exec": ("", "v1", "PodExecOptions", ("create", "get")),
    "log": ("", "v1", "Pod", ("get",)),
    "portforward": ("", "v1", "PodPortForwardOptions", ("create", "get")),
    "status": ("", "v1", "Pod", ("get",)),
}

# Only what the daemon answers today; verbs name what it serves (no patch/update yet).
RESOURCES: list[Resource] = [
    Resource("", "v1", "events", "Event", "event", ("list", "watch"), ("ev",)),
    Resource("", "v1", "pods", "Pod", "pod", ("create", "delete", "get", "list", "watch"), ("po",),
             ("all",), subresources=_POD_SUBS),
    Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", "pod", ("get", "list")),
]

GROUP_VERSIONS = sorted({(r.group, r.version) for r in RESOURCES})

_AGGREGATED = ("v2", "v2beta1")
_AGG_TYPE = "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"


def find(group: str, version: str, resource: str) -> Resource | None:
    for r in RESOURCES:
        if (r.group, r.version, r.resource) == (group, version, resource):
            return r
    return None


def negotiate(accept: str) -> str | None:
    """The aggregated discovery version ('v2'/'v2beta1') the Accept header prefers, or None for the
    legacy form. The first acceptable media type wins (clients list them by preference)."""
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        kv = dict(p.partition("=")[::2] for p in params)
        if media == "application/json" and kv.get("g") == "apidiscovery.k8s.io" \
                and kv.get("as") == "APIGroupDiscoveryList" and kv.get("v") in _AGGREGATED:
            return kv["v"]
        if media in ("application/json", "*/*", "application/*") and "g" not in kv:
            return None
    return None


def content_type(version: str) -> str:
    return _AGG_TYPE.format(v=version)


def _agg_resource(r: Resource) -> dict:
    out = {"resource": r.resource,
           "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
           "scope": "Namespaced" if r.namespaced else "Cluster",
           "singularResource": r.singular,
           "verbs": list(r.verbs)}
    if r.short_names:
        out["shortNames"] = list(r.short_names)
    if r.categories:
        out["categories"] = list(r.categories)
    if r.subresources:
        out["subresources"] = [{"subresource": s, "responseKind": {"group": g, "version": v, "kind": k},
                                "verbs": list(verbs)}
                               for s, (g, v, k, verbs) in sorted(r.subresources.items())]
    return out


def aggregated(version: str, legacy: bool) -> dict:
    """GET /api (legacy=True, the core group) or /apis (every named group) as one document."""
    items = []
    groups = sorted({g for g, _ in GROUP_VERSIONS if (g == "") == legacy})
    for g in groups:
        versions = [{"version": v, "resources": [_agg_resource(r) for r in RESOURCES
                                                 if (r.group, r.version) == (g, v)],
                     "freshness": "Current"}
                    for gg, v in GROUP_VERSIONS if gg == g]
        meta = {"name": g, "creationTimestamp": None} if g else {"creationTimestamp": None}
        items.append({"metadata": meta, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list() -> dict:
    groups = []
    for g in sorted({g for g, _ in GROUP_VERSIONS if g}):
        versions = [{"groupVersion": f"{g}/{v}", "version": v} for gg, v in GROUP_VERSIONS if gg == g]
        groups.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def resource_list(group: str, version: str) -> dict | None:
    rs = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    if not rs:
        return None
    out = []
    for r in rs:
        entry = {"name": r.resource, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        for s, (_, _, k, verbs) in sorted(r.subresources.items()):
            out.append({"name": f"{r.resource}/{s}", "singularName": "", "namespaced": r.namespaced,
                        "kind": k, "verbs": list(verbs)})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
