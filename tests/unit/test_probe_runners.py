"""Probe runners against a real HTTP/TCP server on 127.0.0.1 (ephemeral ports) and a fake exec."""
from __future__ import annotations

import asyncio
import gzip
import socket

import pytest
from aiohttp import web

from fakes import FakeHost
from podrun.lifecycle.probes.results import Result
from podrun.lifecycle.probes.base import ProbeError, go_quote, resolve_port
from podrun.lifecycle.probes.execprobe import exec_probe
from podrun.lifecycle.probes.httpget import close_http_session, http_get, http_request_for
from podrun.lifecycle.probes.httpprobe import http_probe
from podrun.lifecycle.probes.runners import Prober
from podrun.lifecycle.probes.tcpprobe import tcp_probe


class Server:
    """A loopback aiohttp server recording the headers of every request."""

    def __init__(self):
        self.seen: list[dict] = []
        self.port = 0
        self.release = asyncio.Event()      # /slow answers only at teardown
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)

    async def __aenter__(self) -> "Server":
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.release.set()
        await close_http_session()
        await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append({"path": request.path_qs, "headers": request.headers.copy(), "host": request.host})
        path = request.path
        if path.startswith("/status/"):
            return web.Response(status=int(path.rsplit("/", 1)[1]), text="status body")
        if path == "/redirect-same":
            return web.Response(status=302, headers={"Location": "/ok"}, text="moved")
        if path == "/redirect-other":
            return web.Response(status=302, headers={"Location": f"http://localhost:{self.port}/ok"},
                                text='<a href="http://localhost/">Found</a>.')
        if path == "/loop":
            return web.Response(status=302, headers={"Location": "/loop"})
        if path == "/big":
            return web.Response(body=b"x" * 20000)
        if path == "/gzip":
            return web.Response(body=gzip.compress(b"unzipped"), headers={"Content-Encoding": "gzip"})
        if path == "/slow":
            await self.release.wait()
        return web.Response(text="ok")

    def probe(self, path: str, **http_get) -> dict:
        return {"httpGet": {"path": path, "port": self.port, "scheme": "HTTP", **http_get}, "timeoutSeconds": 1}


def run(coro):
    return asyncio.run(coro)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- httpGet --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,result,output", [
    ("/ok", Result.SUCCESS, "ok"),
    ("/status/204", Result.SUCCESS, ""),
    ("/status/399", Result.WARNING, "Probe terminated redirects, Response body: status body"),
    ("/status/400", Result.FAILURE, "HTTP probe failed with statuscode: 400"),
    ("/status/500", Result.FAILURE, "HTTP probe failed with statuscode: 500"),
])
def test_http_status_codes(path, result, output):
    async def main():
        async with Server() as srv:
            assert await http_probe(FakeHost(), srv.probe(path)) == (result, output)
    run(main())


def test_http_default_headers_and_query():
    async def main():
        async with Server() as srv:
            await http_probe(FakeHost(), srv.probe("/healthz?verbose=1"))
            seen = srv.seen[0]
            assert seen["path"] == "/healthz?verbose=1"
            assert seen["headers"]["User-Agent"] == "kube-probe/1.31"
            assert seen["headers"]["Accept"] == "*/*"
            assert seen["host"] == f"127.0.0.1:{srv.port}"
    run(main())


def test_http_custom_headers_host_and_empty_accept():
    async def main():
        async with Server() as srv:
            headers = [{"name": "x-custom", "value": "a"}, {"name": "X-Custom", "value": "b"},
                       {"name": "Host", "value": "example.test"}, {"name": "Accept", "value": ""},
                       {"name": "User-Agent", "value": "mine"}]
            await http_probe(FakeHost(), srv.probe("/ok", httpHeaders=headers))
            seen = srv.seen[0]["headers"]
            assert seen.getall("X-Custom") == ["a", "b"]
            assert srv.seen[0]["host"] == "example.test"
            assert "Accept" not in seen
            assert seen["User-Agent"] == "mine"
    run(main())


def test_http_named_port():
    async def main():
        async with Server() as srv:
            host = FakeHost(ports=[{"name": "http", "containerPort": srv.port}])
            assert await http_probe(host, {**srv.probe("/ok"), "httpGet": {"path": "/ok", "port": "http"}}) == \
                (Result.SUCCESS, "ok")
    run(main())


def test_http_redirect_to_same_host_is_followed():
    async def main():
        async with Server() as srv:
            assert await http_probe(FakeHost(), srv.probe("/redirect-same")) == (Result.SUCCESS, "ok")
            assert [s["path"] for s in srv.seen] == ["/redirect-same", "/ok"]
    run(main())


def test_http_redirect_to_other_host_is_a_warning_with_the_body():
    async def main():
        async with Server() as srv:
            assert await http_probe(FakeHost(), srv.probe("/redirect-other")) == (
                Result.WARNING, 'Probe terminated redirects, Response body: <a href="http://localhost/">Found</a>.')
            assert len(srv.seen) == 1
    run(main())


def test_http_redirect_loop_stops_after_10():
    async def main():
        async with Server() as srv:
            assert await http_probe(FakeHost(), srv.probe("/loop")) == (
                Result.FAILURE, 'Get "/loop": stopped after 10 redirects')
            assert len(srv.seen) == 10
    run(main())


def test_http_body_is_capped_at_10_kib():
    async def main():
        async with Server() as srv:
            result, output = await http_probe(FakeHost(), srv.probe("/big"))
            assert result is Result.SUCCESS and output == "x" * 10240
    run(main())


def test_http_gzip_is_decompressed():
    async def main():
        async with Server() as srv:
            assert await http_probe(FakeHost(), srv.probe("/gzip")) == (Result.SUCCESS, "unzipped")
    run(main())


def test_http_connection_refused_message():
    async def main():
        port = free_port()
        probe = {"httpGet": {"path": "/healthz", "port": port}, "timeoutSeconds": 1}
        assert await http_probe(FakeHost(), probe) == (
            Result.FAILURE,
            f'Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: connect: connection refused')
        await close_http_session()
    run(main())


def test_http_timeout_message():
    async def main():
        async with Server() as srv:
            req = http_request_for({"path": "/slow", "port": srv.port}, {}, "127.0.0.1", "probe")
            with pytest.raises(Exception) as info:
                await http_get(req, 0.2)
            assert str(info.value) == (f'Get "http://127.0.0.1:{srv.port}/slow": context deadline exceeded '
                                       "(Client.Timeout exceeded while awaiting headers)")
    run(main())


def test_http_unknown_port_name_is_a_prober_error():
    async def main():
        with pytest.raises(ProbeError) as info:
            await http_probe(FakeHost(), {"httpGet": {"path": "/", "port": "metrics"}, "timeoutSeconds": 1})
        assert str(info.value) == 'strconv.Atoi: parsing "metrics": invalid syntax'
        assert info.value.result is Result.UNKNOWN
    run(main())


# ---- tcpSocket ------------------------------------------------------------------------------

def test_tcp_success_and_refused():
    async def main():
        async with Server() as srv:
            assert await tcp_probe(FakeHost(), {"tcpSocket": {"port": srv.port}, "timeoutSeconds": 1}) == \
                (Result.SUCCESS, "")
        port = free_port()
        assert await tcp_probe(FakeHost(), {"tcpSocket": {"port": port}, "timeoutSeconds": 1}) == \
            (Result.FAILURE, f"dial tcp 127.0.0.1:{port}: connect: connection refused")
    run(main())


# ---- exec -----------------------------------------------------------------------------------

def test_exec_exit_codes_and_output():
    async def main():
        host = FakeHost()
        p = {"exec": {"command": ["cat", "/tmp/healthy"]}, "timeoutSeconds": 3}
        host.exec_result = (0, b"fine\n")
        assert await exec_probe(host, p) == (Result.SUCCESS, "fine\n")
        host.exec_result = (1, b"cat: can't open '/tmp/healthy': No such file or directory\n")
        assert await exec_probe(host, p) == (
            Result.FAILURE, "cat: can't open '/tmp/healthy': No such file or directory\n")
        host.exec_result = (1, b"y" * 20000)
        assert (await exec_probe(host, p))[1] == "y" * 10240
        assert host.exec_calls[0] == (["cat", "/tmp/healthy"], 3.0)
    run(main())


def test_exec_timeout_message():
    async def main():
        host = FakeHost()
        host.exec_result = asyncio.TimeoutError()
        assert await exec_probe(host, {"exec": {"command": ["sh", "-c", 'echo "x"; sleep 10']}}) == (
            Result.FAILURE, r'command "sh -c echo \"x\"; sleep 10" timed out')
    run(main())


def test_exec_start_failure_is_a_prober_error():
    async def main():
        host = FakeHost()
        host.exec_result = ProcessLookupError("process 42 is not running")
        with pytest.raises(ProbeError):
            await exec_probe(host, {"exec": {"command": ["true"]}})
    run(main())


def test_exec_command_expands_static_env():
    async def main():
        host = FakeHost(env=[{"name": "FILE", "value": "/tmp/ok"},
                             {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}])
        await exec_probe(host, {"exec": {"command": ["cat", "$(FILE)", "$(POD)", "$$(FILE)"]}})
        assert host.exec_calls[0][0] == ["cat", "/tmp/ok", "", "$(FILE)"]   # v1EnvVarsToMap: valueFrom → ""
    run(main())


def test_prober_dispatches_on_the_handler():
    async def main():
        host = FakeHost()
        host.exec_result = (0, b"")
        prober = Prober(host)
        assert await prober("liveness", {"exec": {"command": ["true"]}}) == (Result.SUCCESS, "")
        with pytest.raises(ProbeError, match="missing probe handler for web_default\\(u1\\):app"):
            await prober("liveness", {})
    run(main())


# ---- helpers --------------------------------------------------------------------------------

def test_resolve_port_and_go_quote():
    container = {"ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port(80, container) == 80
    assert resolve_port("http", container) == 8080
    assert resolve_port("9090", container) == 9090
    with pytest.raises(ValueError, match="invalid port number: 70000"):
        resolve_port(70000, container)
    assert go_quote('a "b"\n\x01é') == '"a \\"b\\"\\n\\x01é"'
