"""The CLI's side of the API: HTTP/1.1 over the daemon's unix socket with the standard library
only (importing aiohttp would cost the CLI ~250 ms), starting the daemon on demand.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from typing import Any, Iterator

from podrun.errors import DaemonUnavailable, PodrunError
from podrun.paths import Roots

__all__ = ["Client", "ApiError"]

DAEMON_START_TIMEOUT = 15.0
DAEMON_ANSWER_TIMEOUT = 15.0   # a daemon that is there but busy gets this long to answer


class ApiError(PodrunError):
    """A v1 Status from the daemon; str() is kubectl's `Error from server (Reason): message`."""

    def __init__(self, code: int, reason: str, message: str):
        self.code, self.reason, self.message = code, reason, message
        super().__init__(f"Error from server ({reason}): {message}")


class _Response:
    """One HTTP/1.1 response read from a unix socket: status, headers, and the body as a file."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.file = sock.makefile("rb")
        line = self.file.readline()
        if not line:
            raise ConnectionError("the daemon closed the connection")
        self.status = int(line.split()[1])
        self.headers: dict[str, str] = {}
        while (h := self.file.readline()) not in (b"\r\n", b"\n", b""):
            k, _, v = h.decode("latin-1").partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"

    def chunks(self) -> Iterator[bytes]:
        if not self.chunked:
            n = self.headers.get("content-length")
            yield self.file.read(int(n)) if n is not None else self.file.read()
            return
        while True:
            size = int(self.file.readline().split(b";")[0], 16)
            if size == 0:
                return
            data = self.file.read(size)
            self.file.readline()
            yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _request(path_sock: str, method: str, path: str, body: bytes | None, timeout: float | None) -> _Response:
    """HTTP/1.1 over the daemon's unix socket with the standard library's socket only: the CLI
    skips http.client's imports (35 ms of its start-up)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path_sock)
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        try:
            s.sendall(head.encode() + b"\r\n" + (body or b""))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon answered (a 413) and closed before reading the whole body
        return _Response(s)
    except BaseException:
        s.close()
        raise


class Client:
    def __init__(self, roots: Roots, autostart: bool = True):
        self.roots = roots
        # PODRUN_NO_AUTOSTART=1: never start a daemon (tests, which own theirs)
        self.autostart = autostart and os.environ.get("PODRUN_NO_AUTOSTART") != "1"
        self._checked = False

    def _send(self, method: str, path: str, body: bytes | None = None, timeout: float | None = None) -> _Response:
        if not self._checked:
            self.ensure_daemon()
        return _request(self.roots.socket, method, path, body, timeout)

    def ping(self) -> bool:
        return self._health(2) == "ok"

    def _health(self, timeout: float) -> str:
        """GET /healthz: "ok"; "slow" when connected but unanswered in `timeout` (a daemon that
        is there and busy); "absent" when nobody listens on the socket."""
        try:
            r = _request(self.roots.socket, "GET", "/healthz", None, timeout)
            ok = r.status == 200
            r.close()
            return "ok" if ok else "absent"
        except TimeoutError:
            return "slow"
        except (OSError, ValueError):
            return "absent"

    def _daemon_pid(self) -> int | None:
        """The pid in daemon.json when that process is alive."""
        try:
            with open(self.roots.daemon_json) as f:
                pid = int(json.load(f)["pid"])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _no_answer(self, waited: float) -> DaemonUnavailable:
        pid = self._daemon_pid()
        who = f"the podrun daemon (pid {pid})" if pid else "the podrun daemon"
        return DaemonUnavailable(f"{who} did not answer within {waited:g}s: timed out "
                                 f"(socket {self.roots.socket})")

    def _wait_for_answer(self) -> None:
        """A daemon that is there but slow: give it DAEMON_ANSWER_TIMEOUT, then say so."""
        if self._health(DAEMON_ANSWER_TIMEOUT) != "ok":
            raise self._no_answer(DAEMON_ANSWER_TIMEOUT)
        self._checked = True

    def ensure_daemon(self) -> None:
        state = self._health(2)
        if state == "ok":
            self._checked = True
            return
        if state == "slow":
            return self._wait_for_answer()
        if not self.autostart:
            raise DaemonUnavailable(f"the podrun daemon is not running (socket {self.roots.socket})")
        os.makedirs(self.roots.run, mode=0o700, exist_ok=True)
        import subprocess
        log = open(self.roots.daemon_log, "ab")
        env = dict(os.environ, **self.roots.env())
        proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True)
        log.close()
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while time.monotonic() < deadline:
            state = self._health(2)
            if state == "ok":
                self._checked = True
                return
            if state == "slow":
                return self._wait_for_answer()
            # ours exited: it failed, or lost the lock to a daemon another CLI started meanwhile
            if proc.poll() is not None and self._daemon_pid() is None:
                raise DaemonUnavailable(f"the podrun daemon did not start: {self._log_tail()}")
            time.sleep(0.01)
        raise self._no_answer(DAEMON_START_TIMEOUT)

    def _log_tail(self) -> str:
        try:
            with open(self.roots.daemon_log, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else "(no log)"
        except OSError:
            return "(no log)"

    def call(self, method: str, path: str, body: Any = None, timeout: float | None = None
             ) -> tuple[Any, dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else None
        try:
            resp = self._send(method, path, data, timeout)
            try:
                raw = resp.read()
            finally:
                resp.close()
            headers = resp.headers
        except (OSError, ValueError) as exc:
            raise DaemonUnavailable(f"talking to the podrun daemon: {exc}") from exc
        obj = json.loads(raw) if raw else None
        if resp.status >= 400:
            if isinstance(obj, dict) and obj.get("kind") == "Status":
                raise ApiError(resp.status, obj.get("reason", "Unknown"), obj.get("message", ""))
            raise ApiError(resp.status, "InternalError", raw.decode(errors="replace"))
        return obj, headers

    def stream(self, path: str) -> Iterator[dict]:
        """Lines of a watch response, each a JSON watch event."""
        resp = self._send("GET", path)
        buf = b""
        try:
            for chunk in resp.chunks():
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
        finally:
            resp.close()

    # conveniences
    def get_pod(self, namespace: str, name: str) -> dict:
        return self.call("GET", f"/api/v1/namespaces/{namespace}/pods/{name}")[0]

    def list_pods(self, namespace: str | None, selector: str = "") -> list[dict]:
        base = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        if selector:
            base += "?labelSelector=" + selector
        return self.call("GET", base)[0]["items"]

    def events(self, namespace: str | None, name: str | None = None) -> list[dict]:
        base = f"/api/v1/namespaces/{namespace}/events" if namespace else "/api/v1/events"
        if name:
            base += f"?fieldSelector=involvedObject.name={name}"
        return self.call("GET", base)[0]["items"]

    def pod_metrics(self, namespace: str | None, name: str | None = None, selector: str = "") -> list[dict]:
        """metrics.k8s.io/v1beta1 PodMetrics: one pod's (GET .../pods/NAME, a NotFound Status
        arrives as ApiError) or a namespace's / every namespace's (namespace None) items."""
        base = "/apis/metrics.k8s.io/v1beta1"
        if name:
            return [self.call("GET", f"{base}/namespaces/{namespace or 'default'}/pods/{name}")[0]]
        path = f"{base}/namespaces/{namespace}/pods" if namespace else f"{base}/pods"
        if selector:
            from urllib.parse import quote
            path += "?labelSelector=" + quote(selector, safe="")
        return self.call("GET", path)[0].get("items") or []

    def pod_names(self, namespace: str | None, timeout: float = 2.0) -> list[str]:
        """Pod names for shell completion: a short timeout, so a stuck daemon never hangs a TAB."""
        path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        items = self.call("GET", path, timeout=timeout)[0].get("items") or []
        return [p["metadata"]["name"] for p in items]
