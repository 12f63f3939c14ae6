"""kubectl attach and run -i/-t: the container's own stdin and terminal, through the daemon."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from helpers import PtySession, as_yaml, cstatus, pod, running, sh
from test_run_exec_watch import _read_until


def test_run_i_rm_pipes_stdin_prints_output_deletes_the_pod_and_exits_with_its_code(podrun):
    out = podrun("run", "piped", "-i", "--rm", "--restart=Never", "--image=busybox", "--",
                 "sh", "-c", "read x; sleep 0.5; echo got-$x; exit 3", input="hello\n", timeout=60)
    assert out.stdout == 'got-hello\npod "piped" deleted\n', out.stderr
    assert out.returncode == 3
    assert out.stderr.endswith("pod default/piped terminated (Error)\n")
    assert podrun("get", "pod", "piped").returncode == 1


def test_run_it_rm_gives_a_terminal_that_follows_the_window_size(podrun):
    with PtySession(podrun.env, "run", "shell", "-it", "--rm", "--restart=Never", "--image=busybox", "--", "sh",
                    rows=33, cols=111) as session:
        master, proc = session.master, session.proc
        _read_until(master, b"If you don't see a command prompt, try pressing enter.", timeout=30)
        os.write(master, b"echo hi-$((1+1))\n")
        _read_until(master, b"hi-2")
        os.write(master, b"stty size\n")
        _read_until(master, b"33 111")
        os.write(master, b"[ -t 0 ] && [ -t 1 ] && echo on-a-terminal\n")
        _read_until(master, b"on-a-terminal")
        os.write(master, b"exit 5\n")
        _read_until(master, b'pod "shell" deleted', timeout=30)
        assert proc.wait(30) == 5
    assert podrun("get", "pod", "shell").returncode == 1


def test_attach_twice_to_a_tty_container_and_its_output_is_logged(podrun):
    podrun.apply_text(as_yaml(pod("tty", {"name": "sh", "image": "busybox", "command": ["sh"],
                                          "stdin": True, "tty": True})))
    podrun.wait_for("tty", running)
    for word in ("first", "second"):   # without stdinOnce the shell outlives each attach
        proc = subprocess.Popen([sys.executable, "-m", "podrun", "attach", "tty", "-i"], env=podrun.env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            proc.stdin.write(f"echo {word}-$((2+3))\n".encode())
            proc.stdin.flush()
            _read_until(proc.stdout.fileno(), f"{word}-5".encode())
            proc.send_signal(signal.SIGINT)          # Ctrl-C detaches; the shell goes on
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for f in (proc.stdin, proc.stdout, proc.stderr):
                f.close()
    assert "running" in cstatus(podrun.pod("tty"), "sh")["state"]
    deadline = time.monotonic() + 10
    while "second-5" not in podrun("logs", "tty").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "first-5" in podrun("logs", "tty").stdout and "second-5" in podrun("logs", "tty").stdout


def test_stdin_once_closes_the_containers_stdin_when_the_attach_ends(podrun):
    podrun.apply_text(as_yaml(pod("once", {"name": "cat", "image": "busybox", "stdin": True, "stdinOnce": True,
                                           "command": ["sh", "-c", "cat; echo eof-seen; exit 4"]}, restart="Never")))
    podrun.wait_for("once", running)
    out = podrun("attach", "once", "-i", input="line\n", timeout=30)
    assert (out.stdout, out.returncode) == ("line\neof-seen\n", 4)   # the run ended: its exit code
    assert podrun("logs", "once").stdout == "line\neof-seen\n"


def test_attach_t_to_a_container_without_a_tty_says_so(podrun):
    podrun.apply_text(as_yaml(pod("plain", sh("main", "read x; echo got-$x", stdin=True), restart="Never")))
    podrun.wait_for("plain", running)
    out = podrun("attach", "plain", "-t", "-i", input="y\n", timeout=30)
    assert out.stderr == "Unable to use a TTY - container main did not allocate one\n"
    assert (out.stdout, out.returncode) == ("got-y\n", 0)
