"""port-forward's remote end, as containerd's CRI plugin does it (sandbox_portforward_linux.go):
connect to localhost:PORT *inside the pod's network namespace* — tcp4 127.0.0.1 first, then
tcp6 [::1] — so a server bound to the pod's loopback only is reachable, as with kubectl.

One worker thread joins the pause's netns (setns(CLONE_NEWNET) is per thread) and stays there
for the life of the forward; every socket it makes lives in that namespace and is then used by
the event loop of the main thread. A failed connect carries the words kubectl prints:

    error forwarding port 80 to pod UID, uid : failed to execute portforward in network
    namespace "/proc/PID/ns/net": failed to connect to localhost:80 inside namespace "UID",
    IPv4: dial tcp4 127.0.0.1:80: connect: connection refused IPv6 dial tcp6 [::1]:80: ...
"""
from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import BrokenExecutor, ThreadPoolExecutor

from podrun.errors import PodrunError

__all__ = ["PodDialer", "ForwardError"]


class ForwardError(PodrunError):
    """The pod side of one forwarded connection failed; str() is the kubelet's message."""


class PodDialer:
    def __init__(self, netns_path: str, pod_id: str):
        self.netns_path, self.pod_id = netns_path, pod_id
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)   # fails now if the pod is gone
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podrun-pod-netns",
                                        initializer=_join, initargs=(fd, netns_path))

    async def dial(self, port: int) -> socket.socket:
        """A connected, non-blocking socket to localhost:port in the pod; ForwardError if none."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._dial, port)
        except BrokenExecutor:                  # the thread could not join the namespace
            raise ForwardError(f"error forwarding port {port} to pod {self.pod_id}, uid : failed to "
                               f'execute portforward in network namespace "{self.netns_path}"') from None

    def _dial(self, port: int) -> socket.socket:
        errors = []
        for family, addr, text in ((socket.AF_INET, "127.0.0.1", f"127.0.0.1:{port}"),
                                   (socket.AF_INET6, "::1", f"[::1]:{port}")):
            sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                sock.connect((addr, port))
            except OSError as exc:
                sock.close()
                net = "tcp4" if family == socket.AF_INET else "tcp6"
                errors.append(f"dial {net} {text}: connect: {_errno_text(exc)}")
                continue
            sock.setblocking(False)
            return sock
        # kubelet cri streaming portforward: "error forwarding port %d to pod %s, uid %v: %v"
        raise ForwardError(
            f"error forwarding port {port} to pod {self.pod_id}, uid : failed to execute portforward in "
            f'network namespace "{self.netns_path}": failed to connect to localhost:{port} inside '
            f'namespace "{self.pod_id}", IPv4: {errors[0]} IPv6 {errors[1]} ')

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _join(fd: int, path: str) -> None:
    from podrun.kernel import syscalls
    try:
        syscalls.setns(fd, syscalls.CLONE_NEWNET, path)
    finally:
        os.close(fd)


def _errno_text(exc: OSError) -> str:
    if not exc.errno:
        return str(exc)
    text = os.strerror(exc.errno)
    return text[:1].lower() + text[1:]
