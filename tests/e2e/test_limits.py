"""The apiserver's and the kubelet's limits, held by podrun: every valid name runs, oversized
requests and annotations get Kubernetes' messages, bad input never crashes the CLI or daemon."""
from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psutil
import pytest

from helpers import as_yaml, cstatus, phase, pod, sh, table
from podrun.api.limits import MAX_REQUEST_BODY_BYTES as MAX
from podrun.paths import Roots

# a valid DNS-1123 subdomain of 253 characters (labels of at most 63)
LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


def test_a_253_character_pod_name_runs_to_completion(podrun):
    assert len(LONG_NAME) == 253
    out = podrun.apply_text(as_yaml(pod(LONG_NAME, sh("main", "echo long-name-ok"), restart="Never")))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"pod/{LONG_NAME} created\n"
    p = podrun.wait_for(LONG_NAME, lambda p: phase(p) == "Succeeded", timeout=60)
    assert cstatus(p, "main")["state"]["terminated"]["exitCode"] == 0
    assert podrun("logs", LONG_NAME).stdout == "long-name-ok\n"
    described = podrun("describe", "pod", LONG_NAME)
    assert described.returncode == 0 and f"Name:         {LONG_NAME}" in described.stdout, described.stdout
    # directories are named by the uid; every component stays within 255 bytes
    uid = p["metadata"]["uid"]
    assert os.path.isfile(podrun.roots.pod_file(p)) and uid in podrun.roots.pod_dir(p)
    log_dir = podrun.roots.pod_log_dir("default", LONG_NAME, uid)
    assert os.path.isdir(log_dir) and len(os.path.basename(log_dir)) <= 255
    out = podrun("delete", "pod", LONG_NAME)
    assert out.returncode == 0 and out.stdout == f'pod "{LONG_NAME}" deleted\n', out.stderr
    assert not os.path.exists(podrun.roots.pod_dir(p)) and not os.path.exists(log_dir)


def _raw(roots, method: str, path: str, body: bytes, content_length: int | None = None) -> tuple[int, dict]:
    """One HTTP/1.1 request on the daemon's unix socket, written by hand."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(roots.socket)
        head = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\n"
                f"Content-Length: {len(body) if content_length is None else content_length}\r\n\r\n")
        try:
            s.sendall(head.encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    finally:
        s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


TOO_LARGE = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "Request entity too large: limit is 3145728", "reason": "RequestEntityTooLarge",
             "code": 413}


def _big_env_pod(name: str, size: int) -> dict:
    """A valid pod whose JSON is about `size` bytes (env values have no limit of their own)."""
    return pod(name, sh("main", "true", env=[{"name": "BIG", "value": "x" * size}]), restart="Never")


def test_request_bodies_over_3_mib_get_413(podrun, tmp_path):
    path = "/api/v1/namespaces/default/pods"
    body = json.dumps(_big_env_pod("big", 4 * 1024 * 1024)).encode()
    assert _raw(podrun.roots, "POST", path, body) == (413, TOO_LARGE)
    # announced small, sent large: the limit holds on what is read, not on the header
    assert _raw(podrun.roots, "POST", path, body[:3145729], content_length=3145729) == (413, TOO_LARGE)
    # exactly 3 MiB is still read (and this one is a good pod)
    just = json.dumps(_big_env_pod("just", 10)).encode()
    just = just.replace(b'"x' + b"x" * 9, b'"' + b"x" * (10 + MAX - len(just)))
    assert len(just) == MAX
    code, obj = _raw(podrun.roots, "POST", path, just)
    assert code == 201, obj
    # the CLI sends it, as kubectl does, and prints the server's answer
    f = tmp_path / "big.yaml"
    f.write_text(json.dumps(_big_env_pod("big", 4 * 1024 * 1024)))
    out = podrun("apply", "-f", str(f))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == (f'Error from server (RequestEntityTooLarge): error when creating "{f}": '
                          f"Request entity too large: limit is 3145728\n")
    assert podrun("get", "pod", "big").returncode == 1


def test_deeply_nested_json_bodies_are_a_bad_request(podrun):
    for body in (b"[" * 50000 + b"]" * 50000, b'{"a":' * 50000 + b"1" + b"}" * 50000, b"{"):
        code, obj = _raw(podrun.roots, "POST", "/api/v1/namespaces/default/pods", body)
        assert code == 400 and obj["reason"] == "BadRequest", obj
        assert obj["message"].startswith("couldn't get version/kind; json parse error: "), obj
    assert podrun("get", "pods").returncode == 0      # the daemon is still serving


ANNOTATIONS_TOO_LONG = "metadata.annotations: Too long: must have at most 262144 bytes"


def test_annotations_over_256_kib_are_refused(podrun, tmp_path):
    p = pod("annotated", sh("main", "true"), restart="Never")
    p["metadata"]["annotations"] = {"a": "x" * 131071, "b": "y" * 131071}        # keys + values: 262144 bytes
    p2 = json.loads(json.dumps(p))
    p2["metadata"]["name"] = "over"
    p2["metadata"]["annotations"]["c"] = ""                                      # one byte more
    f = tmp_path / "over.yaml"
    f.write_text(as_yaml(p2))
    out = podrun("apply", "-f", str(f))
    assert out.returncode == 1
    assert out.stderr == f"error: {f}: document 1: {ANNOTATIONS_TOO_LONG}\n"
    code, obj = _raw(podrun.roots, "POST", "/api/v1/namespaces/default/pods", json.dumps(p2).encode())
    assert code == 422 and obj["reason"] == "Invalid" and ANNOTATIONS_TOO_LONG in obj["message"], obj
    assert podrun.apply_text(as_yaml(p)).returncode == 0
    assert podrun("get", "pod", "over").returncode == 1


def test_yaml_nested_50000_deep_is_one_line_and_nothing_is_sent(podrun, tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\n  labels: " + "[" * 50000 + "]" * 50000 + "\n")
    out = podrun("apply", "-f", str(f))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "exceeded max depth of 100" in out.stderr, out.stderr
    assert out.stderr.startswith(f"error: {f}: document 1: error converting YAML to JSON: yaml: line 5"), out.stderr
    block = tmp_path / "block.yaml"
    block.write_text("".join(" " * i + "k:\n" for i in range(2000)))
    out = podrun("apply", "-f", str(block))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "exceeded max depth" in out.stderr
    assert podrun("get", "pod", "deep").returncode == 1


def _ticks(path) -> list[float]:
    try:
        return [float(x) for x in open(path).read().split()]
    except OSError:
        return []


def _wait(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_80000_variable_pod_blocks_neither_probes_nor_the_cli(podrun, tmp_path):
    ticks_dir = tmp_path / "ticks"
    ticks_dir.mkdir()
    ticks = ticks_dir / "t"
    ticker = pod("ticker", sh("main", "sleep 3600", readinessProbe={"periodSeconds": 1, "exec": {
        "command": ["sh", "-c", "read up _ < /proc/uptime; echo $up >> /ticks/t"]}},
        volumeMounts=[{"name": "ticks", "mountPath": "/ticks"}]),
        volumes=[{"name": "ticks", "hostPath": {"path": str(ticks_dir)}}])
    assert podrun.apply_text(as_yaml(ticker)).returncode == 0
    _wait(lambda: len(_ticks(ticks)) >= 3, 60, "the ticker's first probes")
    env = [{"name": f"V{i}", "value": "$(V0)" if i % 1000 == 0 else "x"} for i in range(80000)]
    env[0]["value"] = "zero"
    big = pod("big-env", sh("main", "echo $V79000 $V79999; sleep 3600", env=env))
    f = tmp_path / "big.json"
    f.write_text(json.dumps(big))
    assert len(f.read_bytes()) < MAX
    _raw(podrun.roots, "GET", "/podrun/v1/looplag?reset=true", b"")
    start = len(_ticks(ticks))
    out = podrun("apply", "-f", str(f))
    assert out.returncode == 0, out.stderr
    answered = []
    def big_running():
        t0 = time.monotonic()
        got = podrun("get", "pods")
        answered.append(time.monotonic() - t0)
        assert got.returncode == 0, got.stderr
        return "big-env" in got.stdout and "Running" in [r["STATUS"] for r in table(got.stdout) if r["NAME"] == "big-env"]
    _wait(big_running, 120, "the 80,000-variable pod to run")
    _wait(lambda: podrun("logs", "big-env").stdout == "zero x\n", 10, "the pod's output")
    _wait(lambda: len(_ticks(ticks)) >= start + 5, 30, "five more probes")
    seen = _ticks(ticks)[start - 1:]
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    lag = _raw(podrun.roots, "GET", "/podrun/v1/looplag", b"")[1]
    print(f"probe gaps {max(gaps):.2f}s max, CLI answered in {max(answered):.2f}s max, loop {lag}")
    assert max(gaps) < 1 + 1.5, gaps                  # periodSeconds 1, a generous margin
    assert max(answered) < 10, answered


@pytest.fixture
def low_limit_daemon(busybox_image, podrun):
    """A daemon of its own (roots, bridge, subnet, cgroup parent) started under `ulimit -Sn 256`
    (the soft limit only: raising a hard limit needs CAP_SYS_RESOURCE, which a test machine in
    a container may lack)."""
    d = tempfile.mkdtemp(prefix="podrun-nofile-")
    r = Roots(os.path.join(d, "run"), os.path.join(d, "lib"), os.path.join(d, "log"))
    os.makedirs(r.lib)
    shutil.copytree(os.path.dirname(os.path.dirname(os.path.dirname(busybox_image.rootfs))), r.images_dir,
                    symlinks=True)
    env = dict(podrun.env, **r.env(), PODRUN_BRIDGE=f"prn{os.getpid() % 100000:05d}",
               PODRUN_SUBNET=f"10.{200 + os.getpid() % 50}.{(os.getpid() + 1) % 250}.0/24",
               PODRUN_CGROUP_PARENT=f"podrun-test-nofile-{os.getpid()}")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    low = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # noqa: E731
    log = open(os.path.join(d, "daemon.out"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], env=env, preexec_fn=low,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait(lambda: os.path.exists(r.socket) or proc.poll() is not None, 30, "the daemon's socket")
        assert proc.poll() is None, open(os.path.join(d, "daemon.out")).read()
        yield r, env, proc
    finally:
        left = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for c in left:                                    # only what this daemon started, by pid
            try:
                c.kill()
            except psutil.NoSuchProcess:
                pass
        log.close()
        print(open(os.path.join(d, "daemon.out")).read()[-6000:])
        from podrun.runtime import podcgroups
        from podrun.runtime.podnet import PodNetwork
        node = podcgroups.from_env(env)
        if node is not None:
            asyncio.run(node.remove_all())
            node.remove_parent()
        asyncio.run(PodNetwork(r.lib, bridge=env["PODRUN_BRIDGE"], subnet=env["PODRUN_SUBNET"]).reset())
        shutil.rmtree(d, ignore_errors=True)


def _nofile(pid: int) -> str:
    with open(f"/proc/{pid}/limits") as f:
        return " ".join(next(l for l in f if l.startswith("Max open files")).split()[3:5])


def test_a_daemon_started_under_ulimit_256_runs_a_100_container_pod(low_limit_daemon):
    r, env, proc = low_limit_daemon
    soft, hard = (int(x) for x in _nofile(proc.pid).split())
    assert soft == hard >= min(1048576, resource.getrlimit(resource.RLIMIT_NOFILE)[1])  # raised at start

    def cli(*args, input=None):
        return subprocess.run([sys.executable, "-m", "podrun", *args], env=env, input=input, text=True,
                              capture_output=True, timeout=120, stdin=None if input else subprocess.DEVNULL)
    containers = [sh(f"c{i}", "grep 'open files' /proc/self/limits; sleep 3600") for i in range(100)]
    out = cli("apply", "-f", "-", input=as_yaml(pod("hundred", *containers)))
    assert out.returncode == 0, out.stderr

    def all_running():
        got = cli("get", "pod", "hundred", "-o", "json")
        assert got.returncode == 0, got.stderr
        p = json.loads(got.stdout)
        return p if sum("running" in cs["state"] for cs in p["status"]["containerStatuses"]) == 100 else None
    p = _wait(all_running, 240, "100 running containers")
    assert p["status"]["phase"] == "Running"
    # every container starts with the documented set, not the daemon's limit nor the shell's 256
    container_hard = min(524288, hard)          # 524288 unless the daemon's own hard limit is lower
    want = ["Max", "open", "files", "1024", str(container_hard), "files"]
    _wait(lambda: cli("logs", "hundred", "-c", "c99").stdout != "", 10, "c99's output")
    assert cli("logs", "hundred", "-c", "c99").stdout.split() == want
    assert cli("logs", "hundred", "-c", "c0").stdout.split() == want
    assert len(psutil.Process(proc.pid).children(recursive=True)) > 100
    out = cli("delete", "pod", "hundred", "--grace-period=1")
    assert out.returncode == 0, out.stderr
    assert cli("get", "pod", "hundred").returncode == 1
    _wait(lambda: not [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if c.status() != psutil.STATUS_ZOMBIE], 30, "every container process to end")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
