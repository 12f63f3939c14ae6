"""`podrun attach POD [-c C] [-i] [-t]`: the container's own stdio, as `kubectl attach`
(kubectl/pkg/cmd/attach/attach.go); `run -i/-t` uses the same session.

The daemon serves each stdin/tty container run on a unix socket (runtime/attach.py, which
documents the frames). Here: our terminal goes raw with -t, its size follows SIGWINCH, stdin
is framed in, output is copied out until the daemon closes the socket at the run's end; the
exit status is then read back from the pod's status.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time

import click

from podrun.cli.common import client, namespace_option, roots
from podrun.cli.completion import complete_pod_names
from podrun.cli.logs import default_container
from podrun.errors import PodrunError
from podrun.runtime.state import load_container

__all__ = ["COMMANDS", "attach_session"]

PROMPT_HINT = "If you don't see a command prompt, try pressing enter."


def _container_status(pod: dict, name: str) -> dict:
    st = pod.get("status") or {}
    return next((s for s in st.get("initContainerStatuses", []) + st.get("containerStatuses", [])
                 if s["name"] == name), {})


def attach_session(ctx: click.Context, ns: str, pod_name: str, name: str, stdin: bool, tty: bool) -> int | None:
    """Attach until the run ends or our stdin is done (without stdinOnce the run goes on).
    Returns the container's exit code when it ended, else None."""
    rec = load_container(roots(ctx).container_file(client(ctx).get_pod(ns, pod_name), name))
    if not rec or not rec.attach or not os.path.exists(rec.attach):
        raise PodrunError(f'unable to upgrade connection: container {name} not found in pod {pod_name}')
    from podrun.runtime.attach import RESIZE, frame
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(rec.attach)
    in_fd = sys.stdin.fileno() if stdin else None
    old_attrs = None
    old_winch = None
    if tty and in_fd is not None and os.isatty(in_fd):
        import fcntl
        import struct
        import termios
        import tty as ttymod

        def send_size(*_: object) -> None:
            rows, cols = struct.unpack("HHHH", fcntl.ioctl(in_fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
            sock.sendall(frame(RESIZE, f"{rows} {cols}".encode()))

        send_size()
        old_winch = signal.signal(signal.SIGWINCH, send_size)
        old_attrs = termios.tcgetattr(in_fd)
        ttymod.setraw(in_fd, termios.TCSANOW)
    try:
        _relay(sock, in_fd)
    except KeyboardInterrupt:  # Ctrl-C without a terminal detaches; the container goes on
        return None
    finally:
        if old_attrs is not None:
            import termios
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, old_attrs)
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        sock.close()
    return _exit_code(ctx, ns, pod_name, name, rec.container_id)


def _relay(sock: socket.socket, in_fd: int | None) -> None:
    """Output out until the daemon closes the socket; stdin in, framed, until it ends."""
    from podrun.runtime.attach import CLOSE, STDIN, frame
    while True:
        fds = [sock] + ([in_fd] if in_fd is not None else [])
        try:
            ready, _, _ = select.select(fds, [], [])
        except InterruptedError:
            continue
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            os.write(1, data)
        if in_fd is not None and in_fd in ready:
            data = os.read(in_fd, 65536)
            sock.sendall(frame(STDIN, data) if data else frame(CLOSE))
            if not data:
                in_fd = None


def _exit_code(ctx: click.Context, ns: str, pod_name: str, name: str, container_id: str) -> int | None:
    """The run's exit code once its status says so (the daemon writes it just after the socket
    closes); None when it does not within 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        cs = _container_status(client(ctx).get_pod(ns, pod_name), name)
        for st in (cs.get("state", {}), cs.get("lastState", {})):
            term = st.get("terminated")
            if term and term.get("containerID") == f"podrun://{container_id}":
                return int(term["exitCode"])
        time.sleep(0.05)
    return None


@click.command("attach")
@click.argument("pod", shell_complete=complete_pod_names)
@click.option("-c", "--container", default=None)
@namespace_option
@click.option("-i", "--stdin", "stdin", is_flag=True, help="Pass stdin to the container.")
@click.option("-t", "--tty", is_flag=True, help="Stdin is a TTY.")
@click.pass_context
def attach(ctx: click.Context, pod: str, container: str | None, namespace: str | None, stdin: bool,
           tty: bool) -> None:
    """Attach to the main process of a running container.

    \b
    Examples:
      sudo podrun attach web -c shell -it
      sudo podrun attach job          # follow its output
    """
    pod_name = pod.partition("/")[2] if pod.startswith(("pod/", "pods/")) else pod
    ns = namespace or "default"
    obj = client(ctx).get_pod(ns, pod_name)
    phase = (obj.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise PodrunError(f"cannot attach a container in a completed pod; current phase is {phase}")
    name = container or default_container(obj, "attach")
    spec = next((c for c in obj["spec"]["containers"] + obj["spec"].get("initContainers", [])
                 if c["name"] == name), None)
    if spec is None:
        raise PodrunError(f"Error from server (BadRequest): container {name} is not valid for pod {pod_name}")
    # kubectl attach.go: a TTY only if the container has one; one is forced if it does
    if tty and not spec.get("tty"):
        click.echo(f"Unable to use a TTY - container {name} did not allocate one", err=True)
        tty = False
    elif spec.get("tty"):
        tty = True
    if tty and stdin:
        click.echo(PROMPT_HINT, err=True)
    code = attach_session(ctx, ns, pod_name, name, stdin, tty)
    sys.exit(code or 0)


COMMANDS = [attach]
