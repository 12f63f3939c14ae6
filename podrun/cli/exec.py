"""`podrun exec [-i] [-t] POD [-c C] -- CMD...`: the command runs in the container's namespaces,
root, environment and working directory; its exit status is podrun's.

The CLI acts directly (no daemon round trip for the process itself): it asks the daemon for the
pod, reads containers/<c>.json for the container's (pid, start time), checks that identity, and
joins that process through runtime/exec.py.
"""
from __future__ import annotations

import os
import sys

import click

from podrun.cli.completion import complete_pod_names
from podrun.cli.common import client, namespace_option, roots
from podrun.cli.logs import default_container
from podrun.errors import PodrunError
from podrun.runtime.state import load_container

__all__ = ["COMMANDS"]


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("pod", shell_complete=complete_pod_names)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("-c", "--container", default=None)
@namespace_option
@click.option("-i", "--stdin", "stdin", is_flag=True, help="Pass standard input to the command.")
@click.option("-t", "--tty", is_flag=True, help="Give the command a terminal.")
@click.pass_context
def exec_(ctx: click.Context, pod: str, command: tuple[str, ...], container: str | None,
          namespace: str | None, stdin: bool, tty: bool) -> None:
    """Run a command in a running container.

    \b
    Examples:
      sudo podrun exec web -- cat /etc/hostname
      sudo podrun exec -it web -c sidecar -- sh
    """
    argv = _after_dash(list(command))
    if not argv:
        raise PodrunError("you must specify at least one command for the container")
    pod_name = pod.partition("/")[2] if pod.startswith(("pod/", "pods/")) else pod
    ns = namespace or "default"
    obj = client(ctx).get_pod(ns, pod_name)
    phase = obj.get("status", {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise PodrunError(f"cannot exec into a container in a completed pod; current phase is {phase}")
    name = container or default_container(obj, "exec")
    names = [c["name"] for c in obj["spec"]["containers"] + obj["spec"].get("initContainers", [])]
    if name not in names:
        raise PodrunError(f'Error from server (BadRequest): container {name} is not valid for pod {pod_name}')
    cs = next((s for s in obj["status"].get("initContainerStatuses", []) +
               obj["status"].get("containerStatuses", []) if s["name"] == name), {})
    rec = load_container(roots(ctx).container_file(obj, name))
    if "running" not in cs.get("state", {}) or not rec:
        raise PodrunError(f'unable to upgrade connection: container not found ("{name}")')
    from podrun.runtime.exec import ExecStartError, exec_foreground, exec_foreground_pty, exec_plan
    # kubectl's StreamOptions.SetupTTY: a terminal only with -i and a terminal on stdin.
    if tty and not stdin:
        tty = False
    elif tty and not os.isatty(0):
        click.echo("Unable to use a TTY - input is not a terminal or the right kind of file", err=True)
        tty = False
    try:
        plan = exec_plan(rec.process, argv, rec.env, rec.cwd, rec.shares_pid, tty=tty, identity=rec.identity)
    except ProcessLookupError:
        raise PodrunError(f'unable to upgrade connection: container not found ("{name}")')
    sys.stdout.flush()
    try:
        if tty:
            code = exec_foreground_pty(plan, 0, 1, root=f"/proc/{rec.process.pid}/root")
        else:
            stdin_fd = 0 if stdin else os.open(os.devnull, os.O_RDONLY)
            code = exec_foreground(plan, stdin_fd, 1, 2)
    except ExecStartError as exc:
        # kubelet's streaming server (remotecommand ServeExec) answers a failed start with an
        # InternalError status; kubectl prints its message after "error: " and exits 1.
        raise PodrunError(f"Internal error occurred: error executing command in container: {exc}") from None
    sys.exit(code)


def _after_dash(command: list[str]) -> list[str]:
    """kubectl takes the command from after `--` (ArgsLenAtDash): in the tutorial's
    `exec -it web-server-pod web-server-pod -- bash` the second name is ignored. click drops
    the `--` itself, so it is found in the process's own arguments."""
    raw = sys.argv[1:]
    if "--" in raw:
        after = raw[raw.index("--") + 1:]
        if command[len(command) - len(after):] == after:
            return after
    return command[1:] if command[:1] == ["--"] else command


COMMANDS = [exec_]
