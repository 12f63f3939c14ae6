"""kubectl parity: `run` (generator and create), `exec -it` on a real pty, `exec -i`, `get -w`."""
from __future__ import annotations

import fcntl
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import yaml

from helpers import PtySession, as_yaml, pod, running, sh

SEED_002 = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"creationTimestamp": None, "labels": {"app": "web-server", "environment": "production"},
                 "name": "web-server-pod"},
    "spec": {"containers": [{"image": "nginx", "name": "web-server-pod", "ports": [{"containerPort": 80}],
                             "resources": {}}],
             "dnsPolicy": "ClusterFirst", "restartPolicy": "Never"},
    "status": {},
}


def test_run_dry_run_prints_kubectls_manifest_and_it_applies(podrun):
    out = podrun("run", "web-server-pod", "--image=nginx", "--restart=Never", "--port=80",
                 "--labels=app=web-server,environment=production", "--dry-run=client", "-o", "yaml")
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout) == SEED_002
    assert out.stdout.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: null\n")
    assert podrun("get", "pods").stdout == ""  # nothing created
    out = podrun("run", "gen", "--image=busybox", "--restart=Never", "--dry-run=client", "-o", "yaml",
                 "--command", "--", "sleep", "3600")
    assert yaml.safe_load(out.stdout)["spec"]["containers"][0]["command"] == ["sleep", "3600"]
    applied = podrun.apply_text(out.stdout)
    assert applied.stdout == "pod/gen created\n", applied.stderr
    podrun.wait_for("gen", running)


def test_run_creates_a_running_pod(podrun):
    out = podrun("run", "sleeper", "--image=busybox", "--env=GREETING=hi", "--command", "--", "sleep", "3600")
    assert (out.returncode, out.stdout) == (0, "pod/sleeper created\n"), out.stderr
    p = podrun.wait_for("sleeper", running)
    assert p["metadata"]["labels"] == {"run": "sleeper"}
    assert p["spec"]["restartPolicy"] == "Always"
    assert podrun("exec", "sleeper", "--", "sh", "-c", "echo $GREETING").stdout == "hi\n"
    again = podrun("run", "sleeper", "--image=busybox")
    assert again.returncode == 1 and "already exists" in again.stderr


def _read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"never saw {needle!r}; got {buf!r}"
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    assert needle in buf, f"never saw {needle!r}; got {buf!r}"
    return buf


def test_exec_it_gives_a_real_terminal(podrun):
    podrun.apply_text(as_yaml(pod("term", sh("main", "sleep 3600"))))
    podrun.wait_for("term", running)
    with PtySession(podrun.env, "exec", "-it", "term", "--", "sh", rows=40, cols=100) as session:
        master, proc = session.master, session.proc
        os.write(master, b"tty; echo hi-$((1+1))\n")
        out = _read_until(master, b"hi-2")
        assert b"/dev/pts/0" in out  # a terminal of the container's own devpts
        os.write(master, b"stty size\n")
        _read_until(master, b"40 100")  # the window size at start
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        proc.send_signal(signal.SIGWINCH)  # (our pty is not podrun's controlling terminal)
        time.sleep(0.3)
        os.write(master, b"stty size\n")
        _read_until(master, b"50 132")  # and after a SIGWINCH
        os.write(master, b"sleep 100\n")
        time.sleep(0.5)
        t0 = time.monotonic()
        os.write(master, b"\x03")  # raw mode: Ctrl-C travels to the pty inside
        os.write(master, b"echo after-$((2+3))\n")
        _read_until(master, b"after-5")
        assert time.monotonic() - t0 < 10
        os.write(master, b"exit 3\n")
        assert proc.wait(10) == 3


def test_exec_t_without_a_terminal_says_so_and_runs_without(podrun):
    podrun.apply_text(as_yaml(pod("notty", sh("main", "sleep 3600"))))
    podrun.wait_for("notty", running)
    out = podrun("exec", "-it", "notty", "--", "sh", "-c", "cat; test -t 0 || exit 4", input="piped\n")
    assert out.stdout == "piped\n"
    assert "Unable to use a TTY - input is not a terminal or the right kind of file" in out.stderr
    assert out.returncode == 4
    out = podrun("exec", "-i", "notty", "--", "cat", input="hello\nworld\n")
    assert (out.returncode, out.stdout) == (0, "hello\nworld\n")


def test_get_watch_prints_a_row_per_change_until_ctrl_c(podrun):
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "get", "pods", "-w"], env=podrun.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    try:
        time.sleep(1.0)  # the watch is connected
        podrun.apply_text(as_yaml(pod("watched", sh("main", "sleep 2"), restart="Never")))
        seen = []
        deadline = time.monotonic() + 30
        while not any(" Completed " in l for l in seen):
            assert time.monotonic() < deadline, seen
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert seen[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sum(l.startswith("NAME ") for l in seen) == 1
    statuses = [l.split()[2] for l in seen[1:]]
    assert statuses[0] in ("Pending", "ContainerCreating", "Running"), seen
    assert "Running" in statuses and statuses[-1] == "Completed", seen
    rows = [tuple(l.split()[:4]) for l in seen[1:]]
    assert all(a != b for a, b in zip(rows, rows[1:])), seen  # a row only when it changes


def _lines_of(proc) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    return lines


def _drain(lines: queue.Queue, wait: float) -> list[str]:
    out, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            out.append(lines.get(timeout=0.1))
        except queue.Empty:
            pass
    return out


def test_watch_does_not_repeat_the_listed_state_and_watch_only_starts_with_the_header(podrun):
    podrun.apply_text(as_yaml(pod("steady", sh("main", "sleep 3600"))))
    podrun.wait_for("steady", running)
    cmd = [sys.executable, "-m", "podrun", "get", "pods"]
    kw = dict(env=podrun.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch, only = subprocess.Popen(cmd + ["-w"], **kw), subprocess.Popen(cmd + ["--watch-only"], **kw)
    try:
        wl, ol = _lines_of(watch), _lines_of(only)
        first = _drain(wl, 1.5)
        assert [l.split()[:3] for l in first] == [["NAME", "READY", "STATUS"], ["steady", "1/1", "Running"]]
        assert _drain(ol, 0.1) == []
        deleting = subprocess.Popen([sys.executable, "-m", "podrun", "delete", "pod", "steady",
                                     "--grace-period=1"], env=podrun.env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = _drain(ol, 0.8)
        for p in (watch, only):  # before the pod is gone: the daemon's watch handlers see the
            p.send_signal(signal.SIGINT)  # closed stream on the next change and end
            assert p.wait(10) == 0
        assert deleting.wait(30) == 0
        assert got and got[0].split()[0] == "NAME" and got[1].split()[:3] == ["steady", "1/1", "Terminating"], got
        assert sum(l.startswith("NAME ") for l in got) == 1
    finally:
        for p in (watch, only):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_seed_s10_the_tutorials_commands_in_order(podrun):
    """S10 (seed 002): run the manifest kubectl prints, get -o wide, exec -it ... -- bash,
    hostname, the default-container annotation, delete."""
    manifest = podrun("run", "web-server-pod", "--image=nginx", "--restart=Never", "--port=80",
                      "--labels=app=web-server,environment=production", "--dry-run=client", "-o", "yaml",
                      check=True).stdout
    assert podrun.apply_text(manifest).stdout == "pod/web-server-pod created\n"
    p = podrun.wait_for("web-server-pod", running)
    wide = podrun("get", "pod", "-o", "wide", check=True).stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                               "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[1].split()[:4] == ["web-server-pod", "1/1", "Running", "0"]
    assert p["status"]["podIP"] in wide[1].split()
    # The tutorial types the pod name twice: kubectl ignores what comes before `--` after the pod.
    with PtySession(podrun.env, "exec", "-it", "web-server-pod", "web-server-pod", "--", "bash") as session:
        master, proc = session.master, session.proc
        _read_until(master, b"root@web-server-pod:/# ")   # bash's prompt names the pod, as in the tutorial
        os.write(master, b"hostname\n")
        _read_until(master, b"web-server-pod\r\n")
        os.write(master, b"exit\n")
        assert proc.wait(10) == 0
    # Two containers: the annotation picks the default, with kubectl's line on stderr otherwise.
    two = pod("harbor", sh("registry", "sleep 3600"), sh("registryctl", "sleep 3600"))
    podrun.apply_text(as_yaml(two))
    podrun.wait_for("harbor", running)
    out = podrun("exec", "harbor", "--", "hostname")
    assert (out.stdout, out.stderr) == ("harbor\n", 'Defaulted container "registry" out of: registry, registryctl\n')
    two["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "registryctl"}
    podrun("delete", "pod", "harbor", "--grace-period=1", check=True)
    podrun.apply_text(as_yaml(two))
    podrun.wait_for("harbor", running)
    out = podrun("exec", "harbor", "--", "sh", "-c", "echo $HOSTNAME")
    assert (out.stdout, out.stderr) == ("harbor\n", "")
    assert podrun("describe", "pod", "harbor").stdout.count("kubectl.kubernetes.io/default-container: registryctl") == 1
    assert podrun("delete", "pod", "web-server-pod", check=True).stdout == 'pod "web-server-pod" deleted\n'


def test_exec_sees_the_containers_env_and_cwd_passes_exit_codes_and_says_kubectls_errors(podrun):
    podrun.apply_text(as_yaml(pod("inside", sh("main", "sleep 3600", workingDir="/srv/app",
                                              env=[{"name": "GREETING", "value": "hello"},
                                                   {"name": "BOTH", "value": "$(GREETING)-world"}]),
                                  init=[sh("setup", "true")])))
    podrun.wait_for("inside", running)
    out = podrun("exec", "inside", "--", "sh", "-c", 'echo "$BOTH $(pwd) $HOSTNAME"; exit 7')
    assert (out.returncode, out.stdout) == (7, "hello-world /srv/app inside\n")
    assert out.stderr == 'Defaulted container "main" out of: main, setup (init)\n'
    assert podrun("exec", "inside", "-c", "main", "--", "sh", "-c", "kill -9 $$").returncode == 137
    out = podrun("exec", "inside", "-c", "main", "--", "no-such-command")
    assert out.returncode == 1 and "no-such-command" in out.stderr and out.stderr.count("\n") == 1
    out = podrun("exec", "inside", "-c", "nope", "--", "true")
    assert (out.returncode, out.stderr) == (1, "Error from server (BadRequest): container nope is not valid for pod inside\n")
    out = podrun("exec", "inside", "-c", "setup", "--", "true")
    assert (out.returncode, out.stderr) == (1, 'error: unable to upgrade connection: container not found ("setup")\n')
    out = podrun("exec", "gone", "--", "true")
    assert (out.returncode, out.stderr) == (1, 'Error from server (NotFound): pods "gone" not found\n')
