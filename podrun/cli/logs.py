"""`podrun logs POD [-c C] [-p] [-f] [--tail N] [--timestamps] [--since D] [--all-containers]`.

Reads the per-run CRI log files directly (the daemon only says which run is which): run N of
container C is `<log root>/pods/NS_POD_UID/C/N.log`; `-p` is run restartCount-1.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time

import click

from podrun.cli.completion import complete_pod_names
from podrun.cli.common import client, namespace_option, roots
from podrun.errors import PodrunError
from podrun.runtime.logfile import parse_line, read_entries, render

__all__ = ["COMMANDS", "default_container"]

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def default_container(pod: dict, verb: str = "logs") -> str:
    """kubectl's rule (podcmd FindOrDefaultContainerByName): the annotation's container,
    silently; else the first container, saying so when there was a choice."""
    spec = pod["spec"]
    mains = [c["name"] for c in spec["containers"]]
    inits = [c["name"] for c in spec.get("initContainers", [])]
    name = (pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if name in mains + inits:
        return name
    if name:
        click.echo(f'Default container name "{name}" not found in pod {pod["metadata"]["name"]}', err=True)
    name = mains[0]
    if len(mains) + len(inits) > 1:
        choices = ", ".join(mains + [f"{i} (init)" for i in inits])
        click.echo(f'Defaulted container "{name}" out of: {choices}', err=True)
    return name


def _status_of(pod: dict, name: str) -> dict | None:
    st = pod.get("status", {})
    for cs in st.get("initContainerStatuses", []) + st.get("containerStatuses", []):
        if cs["name"] == name:
            return cs
    return None


def _parse_since(s: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    total, num = 0.0, ""
    for ch in s:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        else:
            raise PodrunError(f'invalid argument "{s}" for "--since" flag: time: invalid duration "{s}"')
    if num:
        raise PodrunError(f'invalid argument "{s}" for "--since" flag: time: missing unit in duration "{s}"')
    return total


@click.command("logs")
@click.argument("pod", shell_complete=complete_pod_names)
@click.argument("container_arg", required=False)
@click.option("-c", "--container", default=None)
@namespace_option
@click.option("-p", "--previous", is_flag=True, help="The previous run of the container.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing as the container writes.")
@click.option("--tail", type=int, default=-1, help="Only the last N lines.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its RFC3339 timestamp.")
@click.option("--since", default=None, help="Only lines newer than a duration, e.g. 5s, 2m, 1h.")
@click.option("--all-containers", is_flag=True)
@click.pass_context
def logs(ctx: click.Context, pod: str, container_arg: str | None, container: str | None,
         namespace: str | None, previous: bool, follow: bool, tail: int, timestamps: bool,
         since: str | None, all_containers: bool) -> None:
    """Print a container's logs.

    \b
    Examples:
      sudo podrun logs web
      sudo podrun logs web -c sidecar -p
      sudo podrun logs web -f --tail 10
    """
    pod_name = pod.partition("/")[2] if pod.startswith(("pod/", "pods/")) else pod
    ns = namespace or "default"
    c = client(ctx)
    obj = c.get_pod(ns, pod_name)
    container = container or container_arg
    if all_containers:
        names = [x["name"] for x in obj["spec"].get("initContainers", []) + obj["spec"]["containers"]]
    else:
        names = [container or default_container(obj)]
    since_ts = time.time() - _parse_since(since) if since else None
    for name in names:
        _print_logs(ctx, c, obj, name, previous, follow and not all_containers, tail, timestamps, since_ts)


def _print_logs(ctx, c, pod: dict, name: str, previous: bool, follow: bool, tail: int,
                timestamps: bool, since_ts: float | None) -> None:
    meta = pod["metadata"]
    cs = _status_of(pod, name)
    if cs is None:
        raise PodrunError(f'Error from server (BadRequest): container {name} is not valid for pod {meta["name"]}')
    state = cs.get("state", {})
    count = cs.get("restartCount", 0)
    # kubelet validateContainerLogStatus: which run each case reads.
    if previous:
        if not cs.get("lastState", {}).get("terminated"):
            raise PodrunError(f'Error from server (BadRequest): previous terminated container "{name}" '
                              f'in pod "{meta["name"]}" not found')
        run = count if "waiting" in state else count - 1
    elif "waiting" in state:
        if not cs.get("lastState", {}).get("terminated"):
            raise PodrunError(f'Error from server (BadRequest): container "{name}" in pod "{meta["name"]}" '
                              f'is waiting to start: {state["waiting"].get("reason", "")}')
        run = count
    else:
        run = count
    path = roots(ctx).log_file(meta["namespace"], meta["name"], meta["uid"], name, max(run, 0))
    entries = read_entries(path)
    if since_ts is not None:
        entries = [e for e in entries if _ts(e.timestamp) >= since_ts]
    if tail >= 0:
        entries = _tail(entries, tail)
    out = sys.stdout.buffer
    out.write(render(entries, timestamps))
    out.flush()
    if follow and "running" in state:
        _follow(c, pod, name, path, timestamps, out)


def _ts(s: str) -> float:
    return dt.datetime.fromisoformat(s[:26] + "+00:00").timestamp()


def _tail(entries, n: int):
    """The last n lines, a line being its P pieces and the F that ends it."""
    lines, cur = [], []
    for e in entries:
        cur.append(e)
        if not e.partial:
            lines.append(cur)
            cur = []
    if cur:
        lines.append(cur)
    return [e for line in lines[len(lines) - n if n else len(lines):] for e in line]


def _follow(c, pod: dict, name: str, path: str, timestamps: bool, out) -> None:
    meta = pod["metadata"]
    run_id = _status_of(pod, name).get("containerID")
    pos = os.path.getsize(path) if os.path.exists(path) else 0
    last_check = time.monotonic()
    buf = b""
    try:
        while True:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
            if data:
                pos += len(data)
                buf += data
                *lines, buf = buf.split(b"\n")
                out.write(render([e for e in (parse_line(l) for l in lines) if e], timestamps))
                out.flush()
                continue
            if time.monotonic() - last_check > 0.5:
                last_check = time.monotonic()
                cs = _status_of(c.get_pod(meta["namespace"], meta["name"]), name) or {}
                if cs.get("containerID") != run_id or "running" not in cs.get("state", {}):
                    return
            time.sleep(0.1)
    except KeyboardInterrupt:
        return


COMMANDS = [logs]
