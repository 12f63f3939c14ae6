"""Probes and lifecycle hooks on real containers, through the CLI. Most tests apply the seed
examples from examples/ with probe periods patched down to 1 s so the suite stays fast."""
from __future__ import annotations

import json
import os
import socket
import time
import urllib.request

import yaml

from helpers import as_yaml, cstatus, phase, pod, running, sh, state, table
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")


def example(name: str, period: int = 1, **hostpaths: str) -> dict:
    """An example manifest with every probe's period (and delay) made short, hostPaths moved."""
    with open(os.path.join(EXAMPLES, name)) as f:
        obj = yaml.safe_load(f)
    for c in obj["spec"]["containers"]:
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            if kind in c:
                c[kind]["periodSeconds"] = period
                c[kind]["initialDelaySeconds"] = min(c[kind].get("initialDelaySeconds", 0), 1)
    for v in obj["spec"].get("volumes", []):
        if v["name"] in hostpaths:
            v["hostPath"]["path"] = hostpaths[v["name"]]
    return obj


def events(podrun, name: str) -> str:
    return podrun("get", "events").stdout


def ready(p: dict) -> bool:
    return running(p) and all(cs["ready"] for cs in p["status"]["containerStatuses"])


def wait_event(podrun, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = podrun("get", "events").stdout
        if text in out:
            return out
        time.sleep(0.3)
    raise AssertionError(f"no event containing {text!r}:\n{out}")


def test_s2_readiness_http_404_keeps_the_pod_unready_until_the_page_exists(podrun):
    podrun.apply_text(as_yaml(example("readiness-http.yaml")))
    podrun.wait_for("readiness-http", running)
    wait_event(podrun, "Readiness probe failed: HTTP probe failed with statuscode: 404")
    row = table(podrun("get", "pods", "readiness-http").stdout)[0]
    assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("0/1", "Running", "0")
    conds = {c["type"]: c for c in podrun.pod("readiness-http")["status"]["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "ContainersNotReady"
    assert podrun("exec", "readiness-http", "--", "sh", "-c", "echo ok > /usr/share/nginx/html/index1.html").returncode == 0
    podrun.wait_for("readiness-http", ready, timeout=15)
    assert table(podrun("get", "pods", "readiness-http").stdout)[0]["READY"] == "1/1"
    d = podrun("describe", "pod", "readiness-http").stdout
    assert "Readiness:      http-get http://:http/index1.html delay=1s timeout=1s period=1s #success=1 #failure=3" in d


def test_s3_liveness_exec_failure_kills_and_restarts_with_events(podrun):
    spec = example("liveness-exec.yaml")
    spec["spec"]["containers"][0]["args"] = ["/bin/sh", "-c", "touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600"]
    spec["spec"]["terminationGracePeriodSeconds"] = 2    # sh as PID 1 ignores SIGTERM: the kill waits it out
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("liveness-exec", lambda p: cstatus(p, "liveness")["restartCount"] >= 1, timeout=30)
    out = wait_event(podrun, "Container liveness failed liveness probe, will be restarted")
    assert "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory" in out
    last = cstatus(p, "liveness")["lastState"]["terminated"]
    assert last["exitCode"] == 137        # sh as PID 1 ignores SIGTERM: killed at the end of the grace
    d = podrun("describe", "pod", "liveness-exec").stdout
    assert "Liveness:       exec [cat /tmp/healthy] delay=1s timeout=1s period=1s #success=1 #failure=3" in d
    assert "Killing" in d and "Unhealthy" in d


def test_s4_http_probe_sends_kube_probe_user_agent_accept_and_custom_headers(podrun):
    # A busybox nc server that answers 200 and appends each raw request to a file.
    server = ("while true; do printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok' "
              "| nc -l -p 8080 >> /tmp/requests; done")
    c = sh("web", server, ports=[{"containerPort": 8080}],
           livenessProbe={"httpGet": {"path": "/healthz?x=1", "port": 8080,
                                      "httpHeaders": [{"name": "X-Custom-Header", "value": "hello"}]},
                          "periodSeconds": 1})
    podrun.apply_text(as_yaml(pod("headers", c)))
    podrun.wait_for("headers", running)
    deadline = time.monotonic() + 20
    seen = ""
    while "X-Custom-Header" not in seen and time.monotonic() < deadline:
        seen = podrun("exec", "headers", "--", "cat", "/tmp/requests").stdout
        time.sleep(0.3)
    assert "GET /healthz?x=1 HTTP/1.1" in seen
    assert "User-Agent: kube-probe/1.31" in seen
    assert "Accept: */*" in seen
    assert "X-Custom-Header: hello" in seen
    assert cstatus(podrun.pod("headers"), "web")["restartCount"] == 0


def test_s4_moving_the_page_away_restarts_the_http_server(podrun):
    spec = example("liveness-http.yaml")
    spec["spec"]["terminationGracePeriodSeconds"] = 2
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("liveness-http", running)
    time.sleep(1.5)
    assert podrun("exec", "liveness-http", "--", "mv", "/usr/share/nginx/html/index.html", "/usr/share/nginx/html/moved.html").returncode == 0
    p = podrun.wait_for("liveness-http", lambda p: cstatus(p, "web")["restartCount"] >= 1 and running(p), timeout=30)
    wait_event(podrun, "Liveness probe failed: HTTP probe failed with statuscode: 404")
    # the new container has a fresh root: the page is back and the probe passes again
    assert "Welcome to nginx!" in podrun("exec", "liveness-http", "--", "cat", "/usr/share/nginx/html/index.html").stdout


def test_s5_tcp_probe_on_a_closed_port_restarts_with_crashloop_backoff(podrun):
    spec = example("liveness-tcp.yaml")
    spec["spec"]["terminationGracePeriodSeconds"] = 2
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("liveness-tcp", lambda p: cstatus(p, "app")["restartCount"] >= 1
                        and cstatus(p, "app").get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff",
                        timeout=40)
    ip = p["status"]["podIP"]
    wait_event(podrun, f"Liveness probe failed: dial tcp {ip}:8081: connect: connection refused")
    assert table(podrun("get", "pods", "liveness-tcp").stdout)[0]["STATUS"] == "CrashLoopBackOff"


def test_s6_post_start_writes_the_page_and_pre_stop_leaves_its_file(podrun, tmp_path):
    out = tmp_path / "prestop"
    podrun.apply_text(as_yaml(example("lifecycle-hooks.yaml", out=str(out))))
    p = podrun.wait_for("lifecycle-demo", running)
    body = urllib.request.urlopen(f"http://{p['status']['podIP']}/", timeout=5).read()
    assert body == b"Hello from the postStart handler\n"
    assert podrun("delete", "pod", "lifecycle-demo").returncode == 0
    assert "by the preStop handler" in (out / "prestop").read_text()


def test_s8_a_failing_readiness_probe_never_restarts(podrun):
    spec = example("readiness-exec.yaml")
    spec["spec"]["containers"][0]["args"] = ["/bin/sh", "-c", "touch /tmp/healthy; sleep 3; rm -f /tmp/healthy; sleep 600"]
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("readiness-exec", ready, timeout=15)
    podrun.wait_for("readiness-exec", lambda p: running(p) and not cstatus(p, "app")["ready"], timeout=15)
    time.sleep(3)
    p = podrun.pod("readiness-exec")
    assert cstatus(p, "app")["restartCount"] == 0 and state(p, "app") == "running"
    assert table(podrun("get", "pods", "readiness-exec").stdout)[0]["READY"] == "0/1"
    assert "Killing" not in podrun("get", "events").stdout.split("readiness-exec")[-1]


def test_s12_timing_file_reads_every_stage_in_order(podrun, tmp_path):
    spec = example("timing.yaml", period=10, timing=str(tmp_path))
    podrun.apply_text(as_yaml(spec))
    deadline = time.monotonic() + 30
    timing = tmp_path / "timing"
    while time.monotonic() < deadline and "LIVENESS" not in (timing.read_text() if timing.exists() else ""):
        time.sleep(0.2)
    assert podrun("delete", "pod", "loap").returncode == 0
    words = [line.split(": ")[1] for line in timing.read_text().splitlines()]
    assert words == ["INIT", "START", "POST-START", "READINESS", "LIVENESS", "PRE-HOOK", "END"], words


def test_exec_probe_that_hangs_past_its_timeout_fails_with_the_kubelet_message(podrun):
    c = sh("main", "sleep 3600", readinessProbe={"exec": {"command": ["sleep", "30"]}, "timeoutSeconds": 1,
                                                   "periodSeconds": 1})
    podrun.apply_text(as_yaml(pod("hang", c)))
    podrun.wait_for("hang", running)
    wait_event(podrun, 'Readiness probe failed: command "sleep 30" timed out')
    assert cstatus(podrun.pod("hang"), "main")["ready"] is False


def test_startup_probe_gates_readiness_and_liveness(podrun):
    c = sh("main", "sleep 3; touch /tmp/started; sleep 3600",
           startupProbe={"exec": {"command": ["test", "-e", "/tmp/started"]}, "periodSeconds": 1, "failureThreshold": 30},
           livenessProbe={"exec": {"command": ["test", "-e", "/tmp/started"]}, "periodSeconds": 1, "failureThreshold": 1})
    podrun.apply_text(as_yaml(pod("gated", c)))
    p = podrun.wait_for("gated", running)
    assert cstatus(p, "main")["started"] is False and cstatus(p, "main")["ready"] is False
    p = podrun.wait_for("gated", lambda p: cstatus(p, "main")["started"] and cstatus(p, "main")["ready"], timeout=20)
    assert cstatus(p, "main")["restartCount"] == 0   # liveness would have failed before the start


def test_failed_post_start_kills_the_container_and_restarts_it(podrun):
    c = sh("main", "sleep 3600", lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "echo nope; exit 3"]}}})
    podrun.apply_text(as_yaml(pod("bad-hook", c, terminationGracePeriodSeconds=1)))
    p = podrun.wait_for("bad-hook", lambda p: cstatus(p, "main")["restartCount"] >= 1
                        and state(p, "main") == "waiting", timeout=30)
    wait_event(podrun, "PostStartHook failed")
    ev = podrun("get", "events").stdout
    assert "FailedPostStartHook" in ev
    w = cstatus(p, "main")["state"]["waiting"]
    assert w["reason"] in ("PostStartHookError", "CrashLoopBackOff")


def test_pre_stop_that_outlives_the_grace_period_is_cut_and_the_container_killed_on_time(podrun):
    c = sh("main", "sleep 3600", lifecycle={"preStop": {"exec": {"command": ["sleep", "60"]}}})
    podrun.apply_text(as_yaml(pod("long-prestop", c, terminationGracePeriodSeconds=3)))
    podrun.wait_for("long-prestop", running)
    t0 = time.monotonic()
    assert podrun("delete", "pod", "long-prestop").returncode == 0
    took = time.monotonic() - t0
    # preStop gets the 3 s grace, then SIGTERM with the kubelet's 2 s minimum, then SIGKILL.
    assert 4.5 <= took <= 9, took


def test_sleep_pre_stop_hook_delays_termination(podrun):
    c = sh("main", "trap 'exit 0' TERM; sleep 3600 & wait", lifecycle={"preStop": {"sleep": {"seconds": 2}}})
    podrun.apply_text(as_yaml(pod("sleepy-stop", c)))
    podrun.wait_for("sleepy-stop", running)
    t0 = time.monotonic()
    assert podrun("delete", "pod", "sleepy-stop").returncode == 0
    assert 1.8 <= time.monotonic() - t0 <= 6


RECORDER = ("while true; do printf 'HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n' "
            "| nc -l -p 8080 >> /tmp/requests; done")


def test_http_hook_is_sent_with_kube_lifecycle_agent_and_a_404_does_not_fail_it(podrun):
    podrun.apply_text(as_yaml(pod("recorder", sh("rec", RECORDER, ports=[{"containerPort": 8080}],
                                                 readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1}))))
    rec = podrun.wait_for("recorder", ready, timeout=20)
    c = sh("web", "mkdir -p /www; exec httpd -f -p 8080 -h /www", ports=[{"name": "web", "containerPort": 8080}],
           readinessProbe={"tcpSocket": {"port": "web"}, "periodSeconds": 1},
           lifecycle={"postStart": {"httpGet": {"host": rec["status"]["podIP"], "path": "/hooked", "port": 8080}}})
    podrun.apply_text(as_yaml(pod("http-hook", c)))
    p = podrun.wait_for("http-hook", ready, timeout=20)
    assert cstatus(p, "web")["restartCount"] == 0      # the 404 answer did not fail the hook
    seen = podrun("exec", "recorder", "--", "cat", "/tmp/requests").stdout
    assert "GET /hooked HTTP/1.1" in seen and "User-Agent: kube-lifecycle/1.31" in seen
