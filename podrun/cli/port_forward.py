"""`podrun port-forward pod/NAME [LOCAL:]REMOTE ... [--address ADDR,...]`: kubectl's relay.

The CLI listens on the host and relays each accepted connection to POD_IP:REMOTE with asyncio
streams (the pod IP is reachable from the host over the bridge), until SIGINT or SIGTERM, then
exits 0. Lines and errors are kubectl's (`kubectl/pkg/cmd/portforward/portforward.go`,
`client-go/tools/portforward/portforward.go`): `Forwarding from 127.0.0.1:8080 -> 80`,
`Forwarding from [::1]:8080 -> 80`, `Handling connection for 8080`. A local port 0 or an empty
one (`:80`) takes a free port, the same one on every address.
"""
from __future__ import annotations

import asyncio
import signal
import socket
import sys
from dataclasses import dataclass

import click

from podrun.cli.common import client, namespace_option
from podrun.errors import PodrunError

__all__ = ["COMMANDS", "parse_ports", "resolve_addresses"]


@dataclass
class PortMapping:
    local: int
    remote: int | str          # a number, or a container port's name until resolved
    spec: str


def parse_ports(specs: tuple[str, ...] | list[str]) -> list[PortMapping]:
    """`8080`, `8080:80`, `:80`, `0:80`; the remote side may name a container port."""
    out = []
    for spec in specs:
        local_s, sep, remote_s = spec.partition(":")
        if not sep:
            local_s, remote_s = spec, spec
        remote: int | str = int(remote_s) if remote_s.isdigit() else remote_s
        if isinstance(remote, int) and not 0 < remote < 65536 or not remote_s:
            raise PodrunError(f"Error parsing remote port '{remote_s}': must be in the range 1 to 65535")
        if local_s and not local_s.isdigit() or local_s and int(local_s) > 65535:
            raise PodrunError(f"Error parsing local port '{local_s}': must be in the range 0 to 65535")
        out.append(PortMapping(int(local_s or 0), remote, spec))
    return out


def resolve_addresses(addresses: tuple[str, ...]) -> list[str]:
    """--address values (repeated or comma-separated); `localhost` is 127.0.0.1 and ::1."""
    out: list[str] = []
    for value in addresses:
        for a in value.split(","):
            a = a.strip()
            for ip in (["127.0.0.1", "::1"] if a == "localhost" else [a] if a else []):
                if ip not in out:
                    out.append(ip)
    return out


def _container_port(pod: dict, name: str) -> int:
    for c in pod["spec"].get("containers", []):
        for p in c.get("ports") or []:
            if p.get("name") == name:
                return int(p["containerPort"])
    raise PodrunError(f"Pod '{pod['metadata']['name']}' does not have a named port '{name}'")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def _relay(pod_ip: str, m: PortMapping, local_port: int,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _say(f"Handling connection for {local_port}")
    try:
        up_reader, up_writer = await asyncio.open_connection(pod_ip, m.remote)
    except OSError as exc:
        sys.stderr.write(f"error: an error occurred forwarding {local_port} -> {m.remote}: "
                         f"dial tcp4 {pod_ip}:{m.remote}: {exc.strerror or exc}\n")
        sys.stderr.flush()
        writer.close()
        return
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        for w in (up_writer, writer):
            w.close()


async def _forward(pod_ip: str, mappings: list[PortMapping], addresses: list[str]) -> None:
    servers: list[asyncio.AbstractServer] = []
    for m in mappings:
        bound = 0
        for addr in addresses:
            def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, m: PortMapping = m):
                return _relay(pod_ip, m, m.local, r, w)
            port = m.local
            try:
                srv = await asyncio.start_server(handler, addr, port, reuse_address=True,
                                                 family=socket.AF_INET6 if ":" in addr else socket.AF_INET)
            except OSError as exc:
                # kubectl: a failure on one address is only a warning, on all of them an error
                sys.stderr.write(f"Unable to listen on port {port}: Listeners failed to create "
                                 f"with the following errors: [unable to create listener: Error listen tcp"
                                 f"{'6' if ':' in addr else '4'} {_hostport(addr, port)}: {exc.strerror or exc}]\n")
                continue
            if port == 0:   # client-go: the first listener's port is used on every address
                port = m.local = srv.sockets[0].getsockname()[1]
            servers.append(srv)
            bound += 1
            _say(f"Forwarding from {_hostport(addr, port)} -> {m.remote}")
        if not bound:
            raise PodrunError(f"unable to listen on any of the requested ports: [{m.spec}]")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for srv in servers:
            srv.close()


def _hostport(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


@click.command("port-forward")
@click.argument("target")
@click.argument("ports", nargs=-1, required=True)
@click.option("--address", "addresses", multiple=True, default=("localhost",), show_default=True,
              help="Addresses to listen on (comma-separated); only IP addresses or localhost.")
@namespace_option
@click.pass_context
def port_forward(ctx: click.Context, target: str, ports: tuple[str, ...], addresses: tuple[str, ...],
                 namespace: str | None) -> None:
    """Forward one or more local ports to a pod.

    \b
    Examples:
      sudo podrun port-forward pod/web 8080:80
      sudo podrun port-forward pod/web :80 --address 0.0.0.0
    """
    kind, sep, name = target.partition("/")
    if not sep:
        kind, name = "pod", target
    if kind not in ("pod", "pods", "po"):
        raise PodrunError(f'the server doesn\'t have a resource type "{kind}"')
    mappings = parse_ports(ports)
    listen = resolve_addresses(addresses)
    pod = client(ctx).get_pod(namespace or "default", name)
    phase = (pod.get("status") or {}).get("phase", "Pending")
    if phase != "Running":
        raise PodrunError(f"unable to forward port because pod is not running. Current status={phase}")
    pod_ip = pod["status"].get("podIP")
    if not pod_ip:
        raise PodrunError("unable to forward port because pod has no IP")
    for m in mappings:
        if isinstance(m.remote, str):
            m.remote = _container_port(pod, m.remote)
    try:
        asyncio.run(_forward(pod_ip, mappings, listen))
    except KeyboardInterrupt:
        pass


COMMANDS = [port_forward]
