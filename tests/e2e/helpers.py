"""Small readers of v1 Pod dicts for the end-to-end tests."""
from __future__ import annotations

import json
import textwrap


def cstatus(pod: dict, name: str) -> dict:
    st = pod.get("status", {})
    for cs in st.get("initContainerStatuses", []) + st.get("containerStatuses", []):
        if cs["name"] == name:
            return cs
    raise KeyError(name)


def state(pod: dict, name: str) -> str:
    return next(iter(cstatus(pod, name).get("state", {})), "none")


def phase(pod: dict) -> str:
    return pod.get("status", {}).get("phase", "")


def running(pod: dict) -> bool:
    return phase(pod) == "Running" and all(
        "running" in cs.get("state", {}) for cs in pod["status"].get("containerStatuses", []))


def manifest(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def pod(name: str, *containers: dict, restart: str = "Always", init: list[dict] | None = None,
        **spec) -> dict:
    """A v1 Pod dict; `spec` keys are added to the spec as given."""
    body = {"restartPolicy": restart, "containers": list(containers), **spec}
    if init:
        body["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def sh(name: str, script: str, image: str = "busybox", **fields) -> dict:
    """A container running `sh -c SCRIPT`."""
    return {"name": name, "image": image, "command": ["sh", "-c", script], **fields}


def as_yaml(*pods: dict) -> str:
    """JSON is YAML: documents joined with ---."""
    return "\n---\n".join(json.dumps(p) for p in pods) + "\n"


def table(stdout: str) -> list[dict]:
    """Rows of a kubectl table as dicts keyed by header (columns split on 2+ spaces)."""
    import re
    lines = [l for l in stdout.splitlines() if l.strip()]
    headers = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(headers, re.split(r"\s{2,}", l.strip()))) for l in lines[1:]]


class PtySession:
    """`python -m podrun ARGS` on a fresh pseudo-terminal, as a user at a terminal runs it;
    killed and closed on exit even when the test failed (a context manager)."""

    def __init__(self, env: dict, *args: str, rows: int = 0, cols: int = 0):
        import fcntl
        import os
        import struct
        import subprocess
        import sys
        import termios
        self.master, slave = os.openpty()
        if rows:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "podrun", *args], env=env, stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)

    def __enter__(self) -> "PtySession":
        return self

    def __exit__(self, *exc) -> None:
        import os
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
