"""Lifecycle hooks (kubelet handlers.go): exec, httpGet, sleep; postStart and preStop events."""
from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from fakes import FakeHost
from podrun.lifecycle.hooks import run_handler, run_post_start, run_pre_stop
from podrun.lifecycle.probes.httpget import close_http_session


def run(coro):
    return asyncio.run(coro)


async def serve(status: int, seen: list) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.copy())
        return web.Response(status=status, text="nope")
    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def test_exec_hook_failure_message():
    async def main():
        host = FakeHost()
        host.exec_result = (3, b"oops\n")
        message = await run_handler(host, {"exec": {"command": ["sh", "-c", "echo oops; exit 3"]}}, "PostStart")
        assert message == ('Exec lifecycle hook ([sh -c echo oops; exit 3]) for Container "app" in Pod '
                           '"web_default(u1)" failed - error: command \'sh -c echo oops; exit 3\' exited with 3: '
                           'oops\n, message: "oops\\n"')
        assert host.exec_calls == [(["sh", "-c", "echo oops; exit 3"], None)]     # no timeout of its own
    run(main())


def test_exec_hook_success():
    async def main():
        host = FakeHost()
        assert await run_handler(host, {"exec": {"command": ["true"]}}, "PreStop") is None
    run(main())


def test_http_hook_ignores_the_status_code_and_sends_lifecycle_user_agent():
    async def main():
        seen: list = []
        runner, port = await serve(500, seen)
        try:
            host = FakeHost()
            assert await run_handler(host, {"httpGet": {"path": "/stop", "port": port}}, "PreStop") is None
            assert seen[0]["User-Agent"] == "kube-lifecycle/1.31"
        finally:
            await close_http_session()
            await runner.cleanup()
    run(main())


def test_http_hook_transport_error_fails():
    async def main():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        message = await run_handler(FakeHost(), {"httpGet": {"path": "/stop", "port": port}}, "PreStop")
        assert message == (f'HTTP lifecycle hook (/stop) for Container "app" in Pod "web_default(u1)" failed - '
                           f'error: Get "http://127.0.0.1:{port}/stop": dial tcp 127.0.0.1:{port}: connect: '
                           f'connection refused')
        await close_http_session()
    run(main())


def test_sleep_hook_waits_on_the_clock_and_is_cancellable():
    async def main():
        host = FakeHost()
        task = asyncio.ensure_future(run_handler(host, {"sleep": {"seconds": 30}}, "PreStop"))
        await host.clock.advance(29)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        done = asyncio.ensure_future(run_handler(host, {"sleep": {"seconds": 5}}, "PreStop"))
        await host.clock.advance(5.1)
        assert done.done() and done.result() is None
    run(main())


def test_tcp_socket_handler_is_invalid():
    async def main():
        message = await run_handler(FakeHost(), {"tcpSocket": {"port": 80}}, "PostStart")
        assert message.startswith("Cannot run handler: invalid handler: ")
    run(main())


def test_post_start_failure_records_event_without_the_message():
    async def main():
        host = FakeHost(lifecycle={"postStart": {"exec": {"command": ["false"]}}})
        host.exec_result = (1, b"secret")
        message = await run_post_start(host)
        assert message is not None and "exited with 1" in message
        assert host.events == [("Warning", "FailedPostStartHook", "PostStartHook failed")]
        assert await run_post_start(FakeHost()) is None
    run(main())


def test_pre_stop_failure_records_event():
    async def main():
        host = FakeHost(lifecycle={"preStop": {"exec": {"command": ["false"]}}})
        host.exec_result = (1, b"")
        await run_pre_stop(host, 30)
        assert host.events == [("Warning", "FailedPreStopHook", "PreStopHook failed")]
    run(main())


def test_pre_stop_is_cut_at_the_grace_period():
    async def main():
        host = FakeHost(lifecycle={"preStop": {"sleep": {"seconds": 50}}})
        task = asyncio.ensure_future(run_pre_stop(host, 10))
        await host.clock.advance(9.5)
        assert not task.done()
        await host.clock.advance(1)
        assert task.done() and task.result() is None
        assert host.events == []
    run(main())
