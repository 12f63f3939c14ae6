"""The grpc probe against real gRPC servers on 127.0.0.1 (grpcio's own health servicer)."""
from __future__ import annotations

import asyncio
import socket

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from fakes import FakeHost
from podrun.lifecycle.probes.base import ProbeError
from podrun.lifecycle.probes.grpcprobe import go_code_name, grpc_check
from podrun.lifecycle.probes.results import Result
from podrun.lifecycle.probes.runners import Prober

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class SlowHealth(health_pb2_grpc.HealthServicer):
    async def Check(self, request, context):
        await asyncio.sleep(5)
        return health_pb2.HealthCheckResponse(status=SERVING)


async def start(servicer=None, agents: list | None = None) -> tuple[grpc.aio.Server, int]:
    interceptors = [UserAgent(agents)] if agents is not None else []
    server = grpc.aio.server(interceptors=interceptors)
    if servicer is not None:
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


class UserAgent(grpc.aio.ServerInterceptor):
    def __init__(self, seen: list):
        self.seen = seen

    async def intercept_service(self, continuation, details):
        self.seen.append(dict(details.invocation_metadata).get("user-agent", ""))
        return await continuation(details)


def closed_port() -> tuple[socket.socket, int]:
    """A loopback port that is bound but not listening: connections are refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def test_serving_is_success_with_the_kube_probe_user_agent():
    async def main():
        servicer, agents = health.aio.HealthServicer(), []
        await servicer.set("", SERVING)
        server, port = await start(servicer, agents)
        try:
            assert await grpc_check("127.0.0.1", port, "", 1) == (Result.SUCCESS, "service healthy")
            assert agents and agents[0].startswith("kube-probe/1.")
        finally:
            await server.stop(None)
    asyncio.run(main())


def test_not_serving_and_unknown_service_fail_with_the_kubelets_messages():
    async def main():
        servicer = health.aio.HealthServicer()
        await servicer.set("", SERVING)
        await servicer.set("db", NOT_SERVING)
        server, port = await start(servicer)
        try:
            assert await grpc_check("127.0.0.1", port, "db", 1) == (
                Result.FAILURE, 'service unhealthy (responded with "NOT_SERVING")')
            # grpcio's servicer answers NOT_FOUND with no details (grpc-go's says "unknown service")
            assert await grpc_check("127.0.0.1", port, "cache", 1) == (
                Result.FAILURE, "error: health rpc probe failed: rpc error: code = NotFound desc = ")
        finally:
            await server.stop(None)
    asyncio.run(main())


def test_nothing_listening_is_the_connect_timeout():
    async def main():
        sock, port = closed_port()
        try:
            result, message = await grpc_check("127.0.0.1", port, "", 1)
        finally:
            sock.close()
        assert (result, message) == (Result.FAILURE, f'timeout: failed to connect service "127.0.0.1:{port}" '
                                                     "within 1s: context deadline exceeded")
    asyncio.run(main())


def test_a_server_without_the_health_service_and_a_slow_one():
    async def main():
        bare, bare_port = await start(None)
        slow, slow_port = await start(SlowHealth())
        try:
            result, message = await grpc_check("127.0.0.1", bare_port, "", 1)
            assert result == Result.FAILURE
            assert message.startswith("error: this server does not implement the grpc health protocol "
                                      "(grpc.health.v1.Health): ")
            assert await grpc_check("127.0.0.1", slow_port, "", 1) == (
                Result.FAILURE, "timeout: health rpc did not complete within 1s")
        finally:
            await bare.stop(None)
            await slow.stop(None)
    asyncio.run(main())


def test_prober_dispatches_grpc_to_the_pod_ip_with_the_service():
    async def main():
        servicer = health.aio.HealthServicer()
        await servicer.set("api", NOT_SERVING)
        server, port = await start(servicer)
        try:
            got = await Prober(FakeHost())("readiness", {"grpc": {"port": port, "service": "api"},
                                                          "timeoutSeconds": 2})
            assert got == (Result.FAILURE, 'service unhealthy (responded with "NOT_SERVING")')
        finally:
            await server.stop(None)
        with pytest.raises(ProbeError):
            await Prober(FakeHost())("readiness", {})
    asyncio.run(main())


def test_go_code_names():
    assert [go_code_name(c.name) for c in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.CANCELLED,
                                           grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.OK)] == [
        "NotFound", "Canceled", "DeadlineExceeded", "Ok"]


def test_the_grpc_field_is_validated_as_the_apiserver_does():
    import json

    from podrun.api import manifests, validation

    def errors(action: dict) -> list[str]:
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                "spec": {"containers": [{"name": "c", "image": "busybox", "livenessProbe": action}]}}
        return [str(e).partition("document 1: ")[2] for e in validation.validate_all(
            manifests.load_text(json.dumps(body), "-"))]

    field = "spec.containers[0].livenessProbe.grpc"
    assert errors({"grpc": {"port": 9000}}) == errors({"grpc": {"port": 9000, "service": "api"}}) == []
    assert errors({"grpc": {}}) == [f"{field}.port: Required value"]
    assert errors({"grpc": {"port": 0}}) == [f"{field}.port: Invalid value: 0: must be between 1 and 65535, inclusive"]
    assert errors({"grpc": {"port": 9000}, "exec": {"command": ["true"]}}) == [
        f"{field}: Forbidden: may not specify more than 1 handler type"]
