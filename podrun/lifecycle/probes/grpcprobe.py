"""The grpc probe (pkg/probe/grpc/grpc.go, GA in 1.27): grpc.health.v1.Health/Check on the pod IP.

One deadline of timeoutSeconds covers the connection and the call, as the kubelet's context
does: no connection by then is the connect timeout, a call cut by it the rpc timeout. SERVING
is success; any other answer or error is a failure with the kubelet's message (never a prober
error: "Any failure is considered as a probe failure to mimic grpc_health_probe"). Plaintext
only (grpc.WithInsecure), no proxy, User-Agent kube-probe/<major>.<minor>.

grpcio is imported on the first grpc probe: the daemon pays for it only when a pod uses one,
and the CLI never does.
"""
from __future__ import annotations

import asyncio
import os

from podrun import KUBE_VERSION
from podrun.lifecycle.probes.base import ProbeHost, go_quote, join_host_port
from podrun.lifecycle.probes.results import Result
from podrun.lifecycle.restart import go_duration

__all__ = ["grpc_probe", "grpc_check", "go_code_name"]


async def grpc_probe(host: ProbeHost, probe: dict) -> tuple[Result, str]:
    """prober.go runProbe: host is the pod IP, service defaults to "" (the whole server)."""
    action = probe["grpc"]
    return await grpc_check(host.pod_ip() or "", int(action["port"]), action.get("service") or "",
                            float(probe.get("timeoutSeconds") or 1))


async def grpc_check(ip: str, port: int, service: str, timeout: float) -> tuple[Result, str]:
    """grpc.go Probe: (result, message)."""
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")   # the daemon forks containers
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    addr = join_host_port(ip, port)
    within = go_duration(timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    options = [("grpc.primary_user_agent", f"kube-probe/{KUBE_VERSION[0]}.{KUBE_VERSION[1]}"),
               ("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
    async with grpc.aio.insecure_channel(addr, options=options) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            return Result.FAILURE, (f"timeout: failed to connect service {go_quote(addr)} within {within}: "
                                    "context deadline exceeded")
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            resp = await stub.Check(health_pb2.HealthCheckRequest(service=service),
                                    timeout=max(deadline - loop.time(), 0.001))
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return Result.FAILURE, ("error: this server does not implement the grpc health protocol "
                                        f"(grpc.health.v1.Health): {exc.details() or ''}")
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return Result.FAILURE, f"timeout: health rpc did not complete within {within}"
            return Result.FAILURE, (f"error: health rpc probe failed: rpc error: code = "
                                    f"{go_code_name(code.name)} desc = {exc.details() or ''}")
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
    if resp.status != health_pb2.HealthCheckResponse.SERVING:
        return Result.FAILURE, f"service unhealthy (responded with {go_quote(status)})"
    return Result.SUCCESS, "service healthy"


def go_code_name(name: str) -> str:
    """grpc-go codes.Code.String(): NOT_FOUND → NotFound, CANCELLED → Canceled."""
    if name == "CANCELLED":
        return "Canceled"
    return "".join(part.capitalize() for part in name.split("_"))
