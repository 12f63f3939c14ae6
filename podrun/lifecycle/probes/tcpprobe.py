"""The tcpSocket probe (pkg/probe/tcp/tcp.go): a connection from the daemon to the pod IP."""
from __future__ import annotations

import asyncio
import socket

from podrun.lifecycle.probes.base import ProbeError, ProbeHost, errno_text, join_host_port, resolve_port
from podrun.lifecycle.probes.results import Result

__all__ = ["tcp_probe"]


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
        return Result.FAILURE, f"dial tcp {where}: connect: {errno_text(exc)}"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return Result.SUCCESS, ""
