"""The CLI's view of its daemon: a busy one is waited for and reported as what it is (a timeout,
with its pid), never as "another daemon"; an absent one is started or reported absent."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from podrun import client as client_mod
from podrun.client import Client
from podrun.errors import DaemonUnavailable
from podrun.paths import Roots


@pytest.fixture
def roots(tmp_path) -> Roots:
    r = Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log"))
    os.makedirs(r.run)
    return r


def test_a_daemon_that_accepts_but_does_not_answer_is_a_timeout_with_its_pid(roots, monkeypatch):
    monkeypatch.setattr(client_mod, "DAEMON_ANSWER_TIMEOUT", 0.5)
    monkeypatch.setenv("PODRUN_NO_AUTOSTART", "0")
    busy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(roots.socket)
        server.listen(16)                 # connections queue, nothing is ever answered
        with open(roots.daemon_json, "w") as f:
            json.dump({"pid": busy.pid}, f)
        c = Client(roots, autostart=True)
        with pytest.raises(DaemonUnavailable) as exc:
            c.ensure_daemon()
        assert str(exc.value) == (f"the podrun daemon (pid {busy.pid}) did not answer within 0.5s: timed out "
                                  f"(socket {roots.socket})")
        assert not os.path.exists(roots.daemon_log)          # no second daemon was started
    finally:
        server.close()
        busy.kill()
        busy.wait()


def test_no_daemon_and_no_autostart_says_it_is_not_running(roots):
    with pytest.raises(DaemonUnavailable, match="the podrun daemon is not running"):
        Client(roots, autostart=False).ensure_daemon()
