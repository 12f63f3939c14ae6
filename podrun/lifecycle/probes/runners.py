"""Probe runners: run one probe once, exactly as the kubelet's `runProbe` does (`prober.go`).

    exec       host.exec_in_container(command, timeoutSeconds)        pkg/probe/exec/exec.go
    httpGet    GET from the daemon to the pod IP, aiohttp             pkg/probe/http/{http,request}.go
    tcpSocket  connect from the daemon to the pod IP, asyncio         pkg/probe/tcp/tcp.go

A runner returns (Result, output): SUCCESS, WARNING (a redirect not followed), FAILURE (the check
failed; output is the kubelet's message) or UNKNOWN. A *prober error* (bad port name, exec could
not start, body read cut short) raises ProbeError: the worker retries it and then throws the
result away instead of counting it. Messages copy Go's error text, since users grep events for it.
"""
from __future__ import annotations

import asyncio
import errno as _errno
import os
import socket
import ssl
import weakref
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from multidict import CIMultiDict

from podrun import KUBE_VERSION
from podrun.clock import Clock
from podrun.errors import PodrunError
from podrun.lifecycle.probes.results import Result

__all__ = [
    "ProbeHost", "ProbeError", "RunProbe", "Prober", "exec_probe", "http_probe", "tcp_probe",
    "HTTPRequest", "HTTPResponse", "HTTPTransportError", "http_request_for", "http_get",
    "close_http_session", "resolve_port", "go_quote", "format_pod", "MAX_OUTPUT",
]

MAX_OUTPUT = 10 * 1024          # exec.go maxReadLength, http.go maxRespBodyLength
MAX_REDIRECTS = 10              # http.go redirectChecker
_REDIRECT_CODES = (301, 302, 303, 307, 308)   # the ones Go's http.Client follows


class ProbeHost(Protocol):
    """What probes and hooks need from one container (the lead's ContainerRunner; a fake in tests)."""
    pod: dict
    spec: dict
    clock: Clock

    def pod_ip(self) -> str | None: ...
    def is_deleting(self) -> bool: ...
    async def exec_in_container(self, argv: list[str], timeout: float | None) -> tuple[int, bytes]: ...
    def report_event(self, type_: str, reason: str, message: str) -> None: ...


class ProbeError(PodrunError):
    """The probe could not be run (kubelet: runProbe returned err); `result` is what it reported."""

    def __init__(self, message: str, result: Result = Result.UNKNOWN):
        super().__init__(message)
        self.result = result


RunProbe = Callable[[str, dict], Awaitable[tuple[Result, str]]]   # (kind, probe) -> (result, output)


class Prober:
    """The real RunProbe for one container: dispatch on the probe's handler (prober.go runProbe)."""

    def __init__(self, host: ProbeHost):
        self.host = host

    async def __call__(self, kind: str, probe: dict) -> tuple[Result, str]:
        if probe.get("exec") is not None:
            return await exec_probe(self.host, probe)
        if probe.get("httpGet") is not None:
            return await http_probe(self.host, probe)
        if probe.get("tcpSocket") is not None:
            return await tcp_probe(self.host, probe)
        if probe.get("grpc") is not None:
            raise ProbeError("grpc probes are not supported by podrun")
        raise ProbeError(f"missing probe handler for {format_pod(self.host.pod)}:{self.host.spec.get('name', '')}")


# ---- exec ---------------------------------------------------------------------------------

async def exec_probe(host: ProbeHost, probe: dict) -> tuple[Result, str]:
    """Exit 0 → success; else failure with the combined output; timeout → failure (ExecProbeTimeout)."""
    command = expand_static(list(probe["exec"].get("command") or []), host.spec.get("env") or [])
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        code, out = await host.exec_in_container(command, timeout)
    except asyncio.TimeoutError:
        # cri remote_runtime.go ExecSync: fmt.Errorf("command %q timed out", strings.Join(cmd, " "))
        return Result.FAILURE, f"command {go_quote(' '.join(command))} timed out"
    except Exception as exc:   # exec could not start: a prober error, not a failed check
        raise ProbeError(str(exc)) from exc
    output = out[:MAX_OUTPUT].decode("utf-8", "replace")
    return (Result.SUCCESS if code == 0 else Result.FAILURE), output


def expand_static(argv: list[str], env: list[dict]) -> list[str]:
    """kubecontainer.ExpandContainerCommandOnlyStatic: $(VAR) from env entries with a plain value."""
    values = {e["name"]: str(e.get("value", "")) for e in env if "valueFrom" not in e or "value" in e}
    return [_expand(arg, values) for arg in argv]


def _expand(s: str, values: dict[str, str]) -> str:
    # third_party/forked/golang/expansion: $$ → $, $(NAME) → value if known, else kept verbatim.
    out, i = [], 0
    while i < len(s):
        if s[i] != "$" or i + 1 >= len(s):
            out.append(s[i])
            i += 1
        elif s[i + 1] == "$":
            out.append("$")
            i += 2
        elif s[i + 1] == "(" and (end := s.find(")", i + 2)) != -1:
            name = s[i + 2:end]
            out.append(values[name] if name in values else s[i:end + 1])
            i = end + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


# ---- httpGet ------------------------------------------------------------------------------

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


class _BodyReadError(PodrunError):
    pass


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
    except _BodyReadError as exc:        # http.go: `return probe.Failure, "", err` — an error
        raise ProbeError(str(exc), Result.FAILURE) from exc
    body = resp.body.decode("utf-8", "replace")
    if 200 <= resp.status < 400:
        if resp.status >= 300:
            return Result.WARNING, f"Probe terminated redirects, Response body: {body}"
        return Result.SUCCESS, body
    return Result.FAILURE, f"HTTP probe failed with statuscode: {resp.status}"


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
            raise _BodyReadError("context deadline exceeded (Client.Timeout or context cancellation "
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
        raise _BodyReadError(_go_transport_error(str(resp.url), exc)) from exc
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
        return f"dial tcp {hostport}: connect: {_errno_text(os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "unexpected EOF"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"net/http: HTTP/1.x transport connection broken: {exc.message}"
    if isinstance(exc, OSError) and exc.errno:
        return f"read tcp {hostport}: read: {_errno_text(exc)}"
    return str(exc) or type(exc).__name__


def _errno_text(exc: OSError) -> str:
    """Go's syscall.Errno text: the C strerror, lower-cased first letter."""
    if exc.errno in (None, 0):
        return str(exc)
    text = os.strerror(exc.errno)
    return text[:1].lower() + text[1:]


# ---- tcpSocket ----------------------------------------------------------------------------

async def tcp_probe(host: ProbeHost, probe: dict) -> tuple[Result, str]:
    """tcp.go DoTCPProbe: a connection within timeoutSeconds is success (closed at once)."""
    tcp = probe["tcpSocket"]
    try:
        port = resolve_port(tcp.get("port"), host.spec)
    except ValueError as exc:
        raise ProbeError(str(exc)) from exc
    address = tcp.get("host") or host.pod_ip() or ""
    where = join_host_port(address, port)
    try:
        async with asyncio.timeout(float(probe.get("timeoutSeconds") or 1)):
            _, writer = await asyncio.open_connection(address, port)
    except TimeoutError:
        return Result.FAILURE, f"dial tcp {where}: i/o timeout"
    except socket.gaierror:
        return Result.FAILURE, f"dial tcp: lookup {address}: no such host"
    except OSError as exc:
        return Result.FAILURE, f"dial tcp {where}: connect: {_errno_text(exc)}"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return Result.SUCCESS, ""


# ---- shared helpers -----------------------------------------------------------------------

def resolve_port(port: int | str | None, container: dict) -> int:
    """pkg/probe ResolveContainerPort: a number, a named containerPort, or a numeric string."""
    if isinstance(port, bool) or port is None:
        raise ValueError(f"intOrString had no kind: {port!r}")
    if isinstance(port, int):
        value = port
    else:
        named = [p["containerPort"] for p in container.get("ports") or [] if p.get("name") == port]
        if named:
            value = int(named[0])
        elif port.lstrip("+-").isdigit():
            value = int(port)
        else:
            raise ValueError(f'strconv.Atoi: parsing {go_quote(port)}: invalid syntax')
    if 0 < value < 65536:
        return value
    raise ValueError(f"invalid port number: {value}")


def join_host_port(host: str, port: int) -> str:
    """net.JoinHostPort: IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_pod(pod: dict) -> str:
    """kubelet util/format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
               "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """Go's %q / strconv.Quote for a string."""
    out = ['"']
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xDC80 <= ord(ch) <= 0xDCFF:           # an undecodable byte (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
