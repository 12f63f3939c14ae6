"""The httpGet probe (pkg/probe/http/http.go DoHTTPProbe): a GET from the daemon to the pod IP."""
from __future__ import annotations

from podrun.lifecycle.probes.base import ProbeError, ProbeHost
from podrun.lifecycle.probes.httpget import BodyReadError, HTTPTransportError, http_get, http_request_for
from podrun.lifecycle.probes.results import Result

__all__ = ["http_probe"]


async def http_probe(host: ProbeHost, probe: dict) -> tuple[Result, str]:
    """http.go DoHTTPProbe: 2xx success, 3xx warning (redirect not followed), else failure."""
    try:
        req = http_request_for(probe["httpGet"], host.spec, host.pod_ip(), "probe")
    except ValueError as exc:
        raise ProbeError(str(exc)) from exc
    try:
        resp = await http_get(req, float(probe.get("timeoutSeconds") or 1))
    except HTTPTransportError as exc:
        return Result.FAILURE, str(exc)
    except BodyReadError as exc:        # http.go: `return probe.Failure, "", err` — an error
        raise ProbeError(str(exc), Result.FAILURE) from exc
    body = resp.body.decode("utf-8", "replace")
    if 200 <= resp.status < 400:
        if resp.status >= 300:
            return Result.WARNING, f"Probe terminated redirects, Response body: {body}"
        return Result.SUCCESS, body
    return Result.FAILURE, f"HTTP probe failed with statuscode: {resp.status}"
