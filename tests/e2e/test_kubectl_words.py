"""kubectl's words where podrun used to differ (issue 15 point 3): `version`, `apply --wait=false`,
`exec` of a command that cannot run, and port-forward to a port nothing listens on."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import yaml

from helpers import as_yaml, pod, running, sh

INFO_KEYS = ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
             "compiler", "platform"]


def test_version_plain_client_json_and_yaml(podrun, tmp_path):
    import podrun as pkg
    from podrun.buildinfo import KUBERNETES_VERSION
    v = f"v{KUBERNETES_VERSION}+podrun.{pkg.__version__}"      # Kubernetes 1.32's API, podrun's build
    out = podrun("version", check=True)
    assert out.stdout == f"Client Version: {v}\nServer Version: {v}\n"
    data = json.loads(podrun("version", "-o", "json", check=True).stdout)
    assert list(data) == ["clientVersion", "serverVersion"]
    for part in data.values():
        assert list(part) == INFO_KEYS and part["gitVersion"] == v
        assert part["platform"].startswith("linux/") and (part["major"], part["minor"]) == ("1", "32")
    text = podrun("version", "-o", "yaml", check=True).stdout
    assert text.startswith("clientVersion:\n  buildDate: \"\"\n") and text.endswith("\n\n")
    assert f'  major: "{data["clientVersion"]["major"]}"\n' in text      # Go's yaml quotes "0"
    assert yaml.safe_load(text) == data
    # --client never contacts the daemon: it answers even where no daemon could be found
    env = dict(podrun.env, PODRUN_ROOT=str(tmp_path), PODRUN_NO_AUTOSTART="1")
    for args, expect in ((["version", "--client"], f"Client Version: {v}\n"),
                         (["version", "--client", "-o", "json"], None)):
        got = subprocess.run([sys.executable, "-m", "podrun", "--root", str(tmp_path), *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        if expect:
            assert got.stdout == expect
        else:
            assert list(json.loads(got.stdout)) == ["clientVersion"]
    bad = podrun("version", "-o", "wide")
    assert (bad.returncode, bad.stderr) == (1, "error: --output must be 'yaml' or 'json'\n")
    extra = podrun("version", "now")
    assert (extra.returncode, extra.stderr) == (1, "error: extra arguments: [now]\n")


def test_apply_wait_false_is_accepted_and_does_not_wait(podrun):
    text = as_yaml(pod("nowait-false", sh("main", "sleep 3600", image="no-such-image")))
    out = podrun("apply", "-f", "-", "--wait=false", input=text)
    assert (out.returncode, out.stdout, out.stderr) == (0, "pod/nowait-false created\n", "")
    out = podrun("apply", "-f", "-", "--wait=true", "--timeout", "1s", input=text)
    assert out.returncode == 1 and "timed out waiting for the condition on pods/nowait-false" in out.stderr


EXEC_PREFIX = (r'error: Internal error occurred: error executing command in container: failed to exec in '
               r'container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: '
               r'unable to start container process: ')


def test_exec_of_a_missing_or_non_executable_command_says_what_kubectl_shows_against_containerd(podrun):
    podrun.apply_text(as_yaml(pod("execerr", sh("main", "sleep 3600"))))
    podrun.wait_for("execerr", running)
    for argv, cause in ((["no-such-command"], r'exec: "no-such-command": executable file not found in \$PATH'),
                        (["/etc/passwd"], r'exec: "/etc/passwd": permission denied'),
                        (["/no/such/file", "x"], r'exec: "/no/such/file": stat /no/such/file: no such file or directory')):
        out = podrun("exec", "execerr", "--", *argv)
        assert out.returncode == 1 and out.stdout == ""
        assert re.fullmatch(EXEC_PREFIX + cause + r": unknown\n", out.stderr), out.stderr
    # with -i (stdin passed) it says the same
    out = podrun("exec", "-i", "execerr", "--", "no-such-command", input="x\n")
    assert out.returncode == 1 and re.fullmatch(EXEC_PREFIX + r'exec: "no-such-command": .*: unknown\n', out.stderr)


def _forward(podrun, name: str, spec: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "port-forward", f"pod/{name}", spec],
                            env=podrun.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    m = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> \d+\n", first)
    assert m, (first, proc.stderr.read() if proc.poll() is not None else "")
    assert proc.stdout.readline().startswith("Forwarding from [::1]:")
    return proc, int(m.group(1))


def _get(port: int, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
            if data or time.monotonic() > deadline:
                return data
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_port_forward_to_a_closed_port_logs_kubectls_error_and_ends(podrun):
    podrun.apply_text(as_yaml(pod("fwd-closed", sh("main", "sleep 3600"))))
    p = podrun.wait_for("fwd-closed", running)
    uid = p["metadata"]["uid"]
    proc, port = _forward(podrun, "fwd-closed", ":9999")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            assert s.recv(100) == b""                  # closed by the forwarder
        assert proc.wait(20) == 1
        assert proc.stdout.read() == f"Handling connection for {port}\n"
        err = proc.stderr.read().splitlines()
        assert len(err) == 2 and err[1] == "error: lost connection to pod"
        m = re.fullmatch(r'E\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ portforward\.go:\d+\] "Unhandled Error" err=(".*")', err[0])
        assert m, err[0]
        message = json.loads(m.group(1))
        assert re.fullmatch(
            rf'an error occurred forwarding {port} -> 9999: error forwarding port 9999 to pod {uid}, uid : '
            r'failed to execute portforward in network namespace "/proc/\d+/ns/net": failed to connect to '
            rf'localhost:9999 inside namespace "{uid}", IPv4: dial tcp4 127\.0\.0\.1:9999: connect: connection '
            r'refused IPv6 dial tcp6 \[::1\]:9999: connect: (connection refused|cannot assign requested address) ',
            message), message
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_forward_reaches_a_server_bound_to_the_pods_loopback_only(podrun):
    script = "mkdir -p /www && echo loopback-only > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"
    podrun.apply_text(as_yaml(pod("fwd-lo", sh("web", script))))
    podrun.wait_for("fwd-lo", running)
    proc, port = _forward(podrun, "fwd-lo", ":8080")
    try:
        assert _get(port).endswith(b"loopback-only\n")
    finally:
        proc.kill()
        proc.wait()
