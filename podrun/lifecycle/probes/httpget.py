"""The GET that httpGet probes and httpGet hooks share (pkg/probe/http/{http,request}.go).

A request is built as request.go NewRequestForHTTPGetAction builds it, sent like Go's
http.Client{Timeout} with the kubelet's redirect rules, and every error reads as Go's net/http
error text. One aiohttp session per event loop, no keep-alive, no proxies, no TLS verification.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
import weakref
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from multidict import CIMultiDict

from podrun import KUBE_VERSION
from podrun.errors import PodrunError
from podrun.lifecycle.probes.base import MAX_OUTPUT, errno_text, go_quote, join_host_port, resolve_port

__all__ = ["HTTPRequest", "HTTPResponse", "HTTPTransportError", "BodyReadError", "http_request_for",
           "http_get", "close_http_session"]

MAX_REDIRECTS = 10              # http.go redirectChecker
_REDIRECT_CODES = (301, 302, 303, 307, 308)   # the ones Go's http.Client follows


@dataclass
class HTTPRequest:
    url: str                    # as Go's url.String() prints it (used in error messages)
    headers: CIMultiDict        # what goes on the wire, Host included when set


@dataclass
class HTTPResponse:
    status: int
    body: bytes                 # at most MAX_OUTPUT bytes


class HTTPTransportError(PodrunError):
    """The request failed before a response: str() is Go's `Get "<url>": <cause>`."""


class BodyReadError(PodrunError):
    """The response body could not be read (Go: the error of io.ReadAll)."""


def http_request_for(http_get: dict, container: dict, pod_ip: str | None, purpose: str) -> HTTPRequest:
    """request.go NewRequestForHTTPGetAction: URL, then httpHeaders, User-Agent, Accept, Host."""
    scheme = (http_get.get("scheme") or "http").lower()
    host = http_get.get("host") or pod_ip or ""
    port = resolve_port(http_get.get("port"), container)
    headers: CIMultiDict = CIMultiDict()
    for h in http_get.get("httpHeaders") or []:
        headers.add(_canonical_header(h["name"]), h.get("value", ""))
    if "User-Agent" not in headers:
        headers["User-Agent"] = f"kube-{purpose}/{KUBE_VERSION[0]}.{KUBE_VERSION[1]}"
    if "Accept" not in headers:
        headers["Accept"] = "*/*"
    elif not headers.get("Accept"):
        del headers["Accept"]            # an explicitly empty Accept removes the header
    if not headers.get("Host"):
        headers.pop("Host", None)
    return HTTPRequest(_format_url(scheme, host, port, http_get.get("path") or ""), headers)


async def http_get(req: HTTPRequest, timeout: float | None) -> HTTPResponse:
    """One GET like Go's http.Client{Timeout} with redirectChecker(followNonLocalRedirects=false).

    Redirects are followed while the hostname stays the same, at most 10; a redirect elsewhere
    ends the chain and returns the 3xx response itself (http.ErrUseLastResponse).
    """
    url, headers, first_host = req.url, req.headers, urlsplit(req.url).hostname
    phase, hops = "headers", 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                phase = "headers"
                try:
                    resp = await _session().get(yarl.URL(url), headers=headers, allow_redirects=False)
                except (aiohttp.ClientError, OSError) as exc:
                    raise HTTPTransportError(f"Get {go_quote(url)}: {_go_transport_error(url, exc)}") from exc
                async with resp:
                    location = resp.headers.get("Location")
                    if resp.status in _REDIRECT_CODES and location:
                        target = urljoin(url, location)
                        if urlsplit(target).hostname == first_host:
                            hops += 1           # Go: len(via) >= 10 refuses the 10th redirect
                            if hops >= MAX_REDIRECTS:
                                raise HTTPTransportError(f"Get {go_quote(location)}: stopped after 10 redirects")
                            if urlsplit(location).scheme:   # Go keeps a custom Host only on relative redirects
                                headers = CIMultiDict((k, v) for k, v in headers.items() if k.lower() != "host")
                            url = target
                            continue
                    phase = "body"
                    return HTTPResponse(resp.status, await _read_capped(resp))
    except TimeoutError:
        if phase == "body":
            raise BodyReadError("context deadline exceeded (Client.Timeout or context cancellation "
                                 "while reading body)") from None
        raise HTTPTransportError(f"Get {go_quote(url)}: context deadline exceeded "
                                 "(Client.Timeout exceeded while awaiting headers)") from None


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    try:
        while len(body) < MAX_OUTPUT:
            chunk = await resp.content.read(MAX_OUTPUT - len(body))
            if not chunk:
                break
            body.extend(chunk)
    except (aiohttp.ClientError, OSError) as exc:
        raise BodyReadError(_go_transport_error(str(resp.url), exc)) from exc
    return bytes(body)


# One session per event loop, created lazily: no keep-alive (Go: DisableKeepAlives), no proxies
# from the environment, no TLS verification (InsecureSkipVerify), no cookies.
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = weakref.WeakKeyDictionary()


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, ssl=False),
            timeout=aiohttp.ClientTimeout(total=None), trust_env=False, auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent", "Accept"))
        _sessions[loop] = session
    return session


async def close_http_session() -> None:
    """Close this loop's shared session (daemon shutdown, test teardown)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


def _format_url(scheme: str, host: str, port: int, path: str) -> str:
    # request.go formatURL: url.Parse(path), then scheme and host:port; the query rides along.
    if path and not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{join_host_port(host, port)}{path}"


def _canonical_header(name: str) -> str:
    # Go's http.Header.Add canonicalises names: x-custom-header → X-Custom-Header.
    if not all(c.isalnum() or c == "-" for c in name):
        return name
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def _go_transport_error(url: str, exc: BaseException) -> str:
    """The cause part of Go's net/http error for an aiohttp/OS exception."""
    parts = urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    hostport = join_host_port(parts.hostname or "", parts.port or default_port)
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(getattr(exc, "os_error", None), ssl.SSLError):
        text = str(exc)
        if any(s in text for s in ("WRONG_VERSION_NUMBER", "record layer failure", "http request")):
            return "http: server gave HTTP response to HTTPS client"
        return f"tls: {text}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, socket.gaierror):
            return f"dial tcp: lookup {parts.hostname}: no such host"
        return f"dial tcp {hostport}: connect: {errno_text(os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "unexpected EOF"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"net/http: HTTP/1.x transport connection broken: {exc.message}"
    if isinstance(exc, OSError) and exc.errno:
        return f"read tcp {hostport}: read: {errno_text(exc)}"
    return str(exc) or type(exc).__name__
