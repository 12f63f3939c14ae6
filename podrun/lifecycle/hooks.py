"""Lifecycle hooks: postStart and preStop handlers (kubelet `lifecycle/handlers.go` handlerRunner.Run).

    exec      the command in the container, no timeout of its own; exit ≠ 0 fails
    httpGet   GET like the HTTP probe (User-Agent kube-lifecycle/<major>.<minor>); only a
              transport error fails — the status code is not looked at; HTTPS answered in plain
              HTTP is retried over HTTP with a LifecycleHTTPFallback event
    sleep     `seconds` on the Clock; cancelled with its caller
    tcpSocket deprecated, never run: fails as an invalid handler

run_handler returns the kubelet's error message, or None. The events carry no message on purpose
(kuberuntime_container.go: "do not record the message in the event so that secrets won't leak").
"""
from __future__ import annotations

import asyncio

from podrun.lifecycle.probes.base import ProbeHost, format_pod, go_quote
from podrun.lifecycle.probes.httpget import HTTPTransportError, http_get, http_request_for

__all__ = ["run_handler", "run_post_start", "run_pre_stop"]

_HTTP_FALLBACK_CAUSE = "http: server gave HTTP response to HTTPS client"


async def run_handler(host: ProbeHost, handler: dict, kind: str) -> str | None:
    """Run one LifecycleHandler; `kind` is "PostStart" or "PreStop". The error message, or None."""
    name, pod = go_quote(host.spec.get("name", "")), go_quote(format_pod(host.pod))
    if handler.get("exec") is not None:
        command = [str(a) for a in handler["exec"].get("command") or []]
        error, output = await _run_exec(host, command)
        if error is None:
            return None
        return (f"Exec lifecycle hook ({_go_slice(command)}) for Container {name} in Pod {pod} "
                f"failed - error: {error}, message: {go_quote(output)}")
    if handler.get("httpGet") is not None:
        error = await _run_http(host, handler["httpGet"])
        if error is None:
            return None
        return (f"HTTP lifecycle hook ({handler['httpGet'].get('path', '')}) for Container {name} "
                f"in Pod {pod} failed - error: {error}")
    if handler.get("sleep") is not None:
        await host.clock.sleep(float(handler["sleep"].get("seconds") or 0))
        return None
    return f"Cannot run handler: invalid handler: {handler}"


async def run_post_start(host: ProbeHost) -> str | None:
    """kuberuntime_container.go startContainer step 4: the hook's error message, or None.

    On failure the Warning FailedPostStartHook event is recorded here; killing the container
    (message "FailedPostStartHook") and the PostStartHookError waiting state are the caller's.
    """
    handler = (host.spec.get("lifecycle") or {}).get("postStart")
    if not handler:
        return None
    message = await run_handler(host, handler, "PostStart")
    if message is not None:
        host.report_event("Warning", "FailedPostStartHook", "PostStartHook failed")
    return message


async def run_pre_stop(host: ProbeHost, grace: float) -> None:
    """kuberuntime_container.go executePreStopHook: the hook, at most `grace` seconds.

    A failure is a Warning FailedPreStopHook event; termination goes on either way. The hook is
    cancelled when the grace period ends so that nothing outlives the kill.
    """
    handler = (host.spec.get("lifecycle") or {}).get("preStop")
    if not handler:
        return
    task = asyncio.ensure_future(run_handler(host, handler, "PreStop"))
    timer = asyncio.ensure_future(host.clock.sleep(max(grace, 0.0)))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled() and task.exception() is None and task.result() is not None:
        host.report_event("Warning", "FailedPreStopHook", "PreStopHook failed")


async def _run_exec(host: ProbeHost, command: list[str]) -> tuple[str | None, str]:
    """(error, combined output) like kuberuntime RunInContainer with timeout 0."""
    try:
        code, out = await host.exec_in_container(command, None)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return str(exc) or type(exc).__name__, ""
    output = out.decode("utf-8", "replace")
    if code == 0:
        return None, output
    # cri remote_runtime.go ExecSync: CodeExitError "command '%s' exited with %d: %s"
    return f"command '{' '.join(command)}' exited with {code}: {output}", output


async def _run_http(host: ProbeHost, http_get_action: dict) -> str | None:
    """handlers.go runHTTPHandler: only a transport error counts; the body is drained and dropped."""
    pod_ip = host.pod_ip()
    if not http_get_action.get("host") and not pod_ip:
        return "failed to find networking container: pod has no IP"
    try:
        req = http_request_for(http_get_action, host.spec, pod_ip, "lifecycle")
    except ValueError as exc:
        return str(exc)
    try:
        await http_get(req, None)
        return None
    except HTTPTransportError as exc:
        if not (req.url.startswith("https://") and str(exc).endswith(_HTTP_FALLBACK_CAUSE)):
            return str(exc)
        first_error = str(exc)
    except Exception as exc:                 # a body read cut short: still a failed request
        return str(exc)
    # HTTPS hook answered in plain HTTP: retry over HTTP, without Authorization.
    req.url = "http://" + req.url[len("https://"):]
    req.headers.popall("Authorization", None)
    try:
        await http_get(req, None)
    except Exception:
        return first_error
    hostport = req.url[len("http://"):].split("/", 1)[0]
    host.report_event("Warning", "LifecycleHTTPFallback",
                      f"request to HTTPS lifecycle hook {hostport} got HTTP response, retry with HTTP succeeded")
    return None


def _go_slice(items: list[str]) -> str:
    """Go's %v of a []string: [a b c]."""
    return "[" + " ".join(items) + "]"
