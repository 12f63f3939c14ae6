"""The CLI's side of the API: HTTP/1.1 over the daemon's unix socket with the standard library
only (importing aiohttp would cost the CLI ~250 ms), starting the daemon on demand.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any, Iterator

from podrun.errors import DaemonUnavailable, PodrunError
from podrun.paths import Roots

__all__ = ["Client", "ApiError"]

DAEMON_START_TIMEOUT = 15.0


class ApiError(PodrunError):
    """A v1 Status from the daemon; str() is kubectl's `Error from server (Reason): message`."""

    def __init__(self, code: int, reason: str, message: str):
        self.code, self.reason, self.message = code, reason, message
        super().__init__(f"Error from server ({reason}): {message}")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = None):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


class Client:
    def __init__(self, roots: Roots, autostart: bool = True):
        self.roots = roots
        # PODRUN_NO_AUTOSTART=1: never start a daemon (tests, which own theirs)
        self.autostart = autostart and os.environ.get("PODRUN_NO_AUTOSTART") != "1"
        self._checked = False

    def _conn(self, timeout: float | None = None) -> _UnixConnection:
        if not self._checked:
            self.ensure_daemon()
        return _UnixConnection(self.roots.socket, timeout)

    def ping(self) -> bool:
        try:
            c = _UnixConnection(self.roots.socket, 2)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
            return ok
        except OSError:
            return False

    def ensure_daemon(self) -> None:
        if self.ping():
            self._checked = True
            return
        if not self.autostart:
            raise DaemonUnavailable(f"the podrun daemon is not running (socket {self.roots.socket})")
        os.makedirs(self.roots.run, mode=0o700, exist_ok=True)
        log = open(self.roots.daemon_log, "ab")
        env = dict(os.environ, **self.roots.env())
        proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True)
        log.close()
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ping():
                self._checked = True
                return
            if proc.poll() is not None and not self.ping():
                raise DaemonUnavailable(f"the podrun daemon did not start: {self._log_tail()}")
            time.sleep(0.01)
        raise DaemonUnavailable(f"the podrun daemon did not answer within {DAEMON_START_TIMEOUT:.0f}s: "
                                f"{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            with open(self.roots.daemon_log, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else "(no log)"
        except OSError:
            return "(no log)"

    def call(self, method: str, path: str, body: Any = None, timeout: float | None = None
             ) -> tuple[Any, dict[str, str]]:
        conn = self._conn(timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
        except OSError as exc:
            raise DaemonUnavailable(f"talking to the podrun daemon: {exc}") from exc
        finally:
            conn.close()
        obj = json.loads(raw) if raw else None
        if resp.status >= 400:
            if isinstance(obj, dict) and obj.get("kind") == "Status":
                raise ApiError(resp.status, obj.get("reason", "Unknown"), obj.get("message", ""))
            raise ApiError(resp.status, "InternalError", raw.decode(errors="replace"))
        return obj, headers

    def stream(self, path: str) -> Iterator[dict]:
        """Lines of a watch response, each a JSON watch event."""
        conn = self._conn(None)
        conn.request("GET", path)
        resp = conn.getresponse()
        try:
            while True:
                line = resp.readline()
                if not line:
                    return
                yield json.loads(line)
        finally:
            conn.close()

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
