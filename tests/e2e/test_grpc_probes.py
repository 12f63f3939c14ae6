"""gRPC probes on real pods: a gRPC health server run by the test inside the pod's network
namespace (nsenter into the pause's netns with the host's python; busybox has none), probed by
the daemon over the pod network as the kubelet probes pod IPs."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from helpers import as_yaml, cstatus, pod, running, sh
from podrun.runtime.state import load_sandbox

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grpc_health_server.py")
PORT = 9555


def grpc_probe(**fields) -> dict:
    return {"grpc": {"port": PORT, **fields}, "periodSeconds": 1, "timeoutSeconds": 1}


def wait_event(podrun, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = podrun("get", "events").stdout
        if text in out:
            return out
        time.sleep(0.3)
    raise AssertionError(f"no event containing {text!r}:\n{out}")


def ready(p: dict) -> bool:
    return running(p) and all(cs["ready"] for cs in p["status"]["containerStatuses"])


@contextmanager
def health_server(podrun, name: str, status: str):
    """The server in pod `name`'s netns; yields a function that changes the status it answers."""
    sandbox = load_sandbox(podrun.roots.sandbox_file(podrun.pod(name)))
    assert sandbox is not None
    with tempfile.NamedTemporaryFile("w", suffix=".status", delete=False) as f:
        f.write(status)
    proc = subprocess.Popen(["nsenter", f"--net=/proc/{sandbox.pause_pid}/ns/net", sys.executable, SERVER,
                             str(PORT), f.name], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"

        def set_status(value: str) -> None:
            with open(f.name + ".tmp", "w") as t:
                t.write(value)
            os.replace(f.name + ".tmp", f.name)
        yield set_status
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.unlink(f.name)


def test_grpc_readiness_follows_serving_and_not_serving(podrun):
    podrun.apply_text(as_yaml(pod("grpc-ready", sh("app", "sleep 3600", readinessProbe=grpc_probe(service="api")))))
    podrun.wait_for("grpc-ready", running)
    with health_server(podrun, "grpc-ready", "SERVING") as set_status:
        podrun.wait_for("grpc-ready", ready, timeout=20)
        set_status("NOT_SERVING")
        podrun.wait_for("grpc-ready", lambda p: running(p) and not cstatus(p, "app")["ready"], timeout=20)
        wait_event(podrun, 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")')
        set_status("SERVING")
        podrun.wait_for("grpc-ready", ready, timeout=20)
    d = podrun("describe", "pod", "grpc-ready").stdout
    assert "Readiness:      grpc <pod>:9555 api delay=0s timeout=1s period=1s #success=1 #failure=3" in d


def test_grpc_liveness_with_nothing_listening_times_out_and_restarts(podrun):
    probe = {**grpc_probe(), "failureThreshold": 1}
    podrun.apply_text(as_yaml(pod("grpc-live", sh("app", "sleep 3600", livenessProbe=probe),
                                  terminationGracePeriodSeconds=1)))
    p = podrun.wait_for("grpc-live", lambda p: cstatus(p, "app")["restartCount"] >= 1, timeout=40)
    out = wait_event(podrun, "Container app failed liveness probe, will be restarted")
    assert (f'Liveness probe failed: timeout: failed to connect service "{p["status"]["podIP"]}:{PORT}" '
            "within 1s: context deadline exceeded") in out
    # the daemon forked the new container after grpcio was loaded: nothing of gRPC's leaks into it
    assert podrun("logs", "grpc-live").stdout == ""
    assert podrun("logs", "grpc-live", "--previous").stdout == ""
