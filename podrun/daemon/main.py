"""The podrun daemon: one per root, asyncio, started on demand by the CLI or in the foreground.

Start-up: take the root's lock (a second daemon refuses), become a child subreaper (containers
are reparented to us and we reap them), build the pause program, reconcile what is on disk,
serve the API on a 0600 unix socket. SIGTERM/SIGINT: stop every pod's processes, keep the pods
on disk (they come back at the next start), remove the socket.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import socket

import psutil
from aiohttp import web

from podrun.clock import RealClock
from podrun.errors import PodrunError
from podrun.fsutil import makedirs, private_socket_path, write_json_atomic
from podrun.kernel import procs, rlimits
from podrun.lifecycle.context import NodeContext
from podrun.paths import Roots
from podrun.runtime import podcgroups
from podrun.images.store import ImageStore
from podrun.runtime.pause import ensure_pause
from podrun.runtime.podnet import PodNetwork, pods_on_disk
from podrun.status.manager import StatusManager
from podrun.daemon.apiserver import make_app
from podrun.daemon.kube import server as kube_server
from podrun.daemon.registry import PodRegistry

__all__ = ["run_daemon", "host_ip", "acquire_lock"]

log = logging.getLogger("podrun.daemon")


def host_ip() -> str:
    """The address of the interface holding the default route (the node's InternalIP)."""
    dev = None
    try:
        with open("/proc/net/route") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == "00000000":
                    dev = fields[0]
                    break
    except OSError:
        pass
    addrs = psutil.net_if_addrs()
    for name in ([dev] if dev else []) + list(addrs):
        for a in addrs.get(name, []):
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    return "127.0.0.1"


def acquire_lock(roots: Roots) -> int:
    makedirs(roots.run, 0o700)
    fd = os.open(roots.daemon_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            with open(roots.daemon_json) as f:
                pid = json.load(f).get("pid")
        except (OSError, ValueError):
            pid = "?"
        raise PodrunError(f"another podrun daemon is running on {roots.run} (pid {pid})")
    return fd


async def _serve(roots: Roots) -> None:
    clock = RealClock()
    node = socket.gethostname()
    ip = host_ip()
    status = StatusManager(roots, clock, node, ip)
    network = PodNetwork(roots.lib, host_ip=ip)
    cgroups = podcgroups.from_env()
    ctx = NodeContext(roots=roots, status=status, clock=clock, images=ImageStore(roots.images_dir),
                      pause_binary=ensure_pause(roots.bin_dir), node_name=node, host_ip=ip,
                      network=network, cgroups=cgroups)
    await network.reconcile(pods_on_disk(roots.pods_dir))  # a crashed daemon's leases and veths
    if cgroups is not None:
        await cgroups.remove_all()                          # and its pod cgroups: nothing is adopted
    registry = PodRegistry(ctx)
    registry.restore()
    # handler_cancellation: a watch whose client went away (Ctrl-C on `get -w`) ends at once
    # instead of at the next pod change; deletions go on regardless (registry shields them).
    runner = web.AppRunner(make_app(registry), access_log=None, handle_signals=False,
                           handler_cancellation=True)
    await runner.setup()
    await kube_server.start(runner, roots)   # the same API over HTTPS for kubectl (issue 16)
    with private_socket_path(roots.socket):
        site = web.UnixSite(runner, roots.socket)
        await site.start()
    os.chmod(roots.socket, 0o600)
    write_json_atomic(roots.daemon_json, {"pid": os.getpid(), "startTime": procs.read_start_time(os.getpid()),
                                          "socket": roots.socket})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reaper = asyncio.create_task(_reap_strays_forever())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("podrun daemon serving on %s", roots.socket)
    await stop.wait()
    log.info("podrun daemon stopping")
    reaper.cancel()
    status.flush()
    status.freeze()
    await registry.shutdown()
    await network.remove_bridge_if_unused()
    await runner.cleanup()
    for path in (roots.socket, roots.daemon_json):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


async def _reap_strays_forever() -> None:
    """We are a subreaper: orphans that nobody awaits (say, the children of an exec that was
    cut short) are reaped here, or a zombie would pin its container's PID namespace."""
    seen: set[int] = set()
    while True:
        await asyncio.sleep(2)
        seen = procs.reap_strays(seen)


def run_daemon(roots: Roots) -> None:
    lock = acquire_lock(roots)
    nofile = rlimits.raise_daemon_nofile()   # not the starting shell's limit (kernel/rlimits.py)
    roots.make_private()  # 0700 re-applied at every start, not only on creation (issue 12)
    procs.set_subreaper()
    procs.set_name("podrun-daemon")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("open files limit %d:%d", *nofile)
    if warning := rlimits.nofile_warning(nofile):
        log.warning("%s", warning)
    try:
        asyncio.run(_serve(roots))
    finally:
        os.close(lock)
