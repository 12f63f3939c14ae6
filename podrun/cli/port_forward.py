"""`podrun port-forward pod/NAME [LOCAL:]REMOTE ... [--address ADDR,...]`: kubectl's relay.

The CLI listens on the host and relays each accepted connection to localhost:REMOTE inside the
pod's network namespace (pod_dialer.py, as containerd does) with asyncio streams, until SIGINT
or SIGTERM, then exits 0. Lines and errors are kubectl's (`kubectl/pkg/cmd/portforward/
portforward.go`, `client-go/tools/portforward/portforward.go`): `Forwarding from 127.0.0.1:8080
-> 80`, `Forwarding from [::1]:8080 -> 80`, `Handling connection for 8080`. A local port 0 or an
empty one (`:80`) takes a free port, the same one on every address.

A connection the pod side refuses is logged as client-go logs it (runtime.HandleError: a klog
line `E... portforward.go:413] "Unhandled Error" err="an error occurred forwarding 8080 -> 80:
..."`), and, as kubectl has done since 1.23, the forward then ends: `error: lost connection to
pod`, exit 1.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass

import click

from podrun.cli.common import client, namespace_option, roots
from podrun.cli.pod_dialer import ForwardError, PodDialer
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


async def _relay(dialer: PodDialer, m: PortMapping, local_port: int, lost: asyncio.Event,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _say(f"Handling connection for {local_port}")
    try:
        up_reader, up_writer = await asyncio.open_connection(sock=await dialer.dial(int(m.remote)))
    except ForwardError as exc:
        _klog_error(f"an error occurred forwarding {local_port} -> {m.remote}: {exc}")
        writer.close()
        lost.set()
        return
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        for w in (up_writer, writer):
            w.close()


def _klog_error(err: str) -> None:
    """runtime.HandleError in kubectl 1.31+: klog.ErrorS(err, "Unhandled Error") on stderr."""
    now = time.time()
    stamp = time.strftime("%m%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    sys.stderr.write(f'E{stamp} {os.getpid():7d} portforward.go:413] "Unhandled Error" '
                     f"err={json.dumps(err, ensure_ascii=False)}\n")
    sys.stderr.flush()


async def _forward(dialer: PodDialer, mappings: list[PortMapping], addresses: list[str]) -> None:
    servers: list[asyncio.AbstractServer] = []
    lost = asyncio.Event()
    for m in mappings:
        bound = 0
        for addr in addresses:
            def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, m: PortMapping = m):
                return _relay(dialer, m, m.local, lost, r, w)
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
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        for srv in servers:
            srv.close()
    if lost.is_set() and not stop.is_set():
        raise PodrunError("lost connection to pod")   # client-go ErrLostConnectionToPod


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
    for m in mappings:
        if isinstance(m.remote, str):
            m.remote = _container_port(pod, m.remote)
    dialer = _dialer(ctx, pod)
    try:
        asyncio.run(_forward(dialer, mappings, listen))
    except KeyboardInterrupt:
        pass
    finally:
        dialer.close()


def _dialer(ctx: click.Context, pod: dict) -> PodDialer:
    """The pod's network namespace, from its sandbox record (the pause process, still itself)."""
    from podrun.kernel.procs import alive
    from podrun.runtime.state import load_sandbox
    meta = pod["metadata"]
    sandbox = load_sandbox(roots(ctx).sandbox_file(pod))
    if sandbox is None or not alive(sandbox.pause):
        raise PodrunError("unable to forward port because pod is not running. Current status=Running")
    netns = sandbox.ns_paths.get("net") or f"/proc/{sandbox.pause_pid}/ns/net"
    try:
        return PodDialer(netns, meta.get("uid", ""))
    except OSError as exc:
        raise PodrunError(f"unable to forward port: {exc.strerror or exc}") from exc


COMMANDS = [port_forward]
