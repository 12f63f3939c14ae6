"""`podrun apply`: every document validated first, all or nothing, then created in order."""
from __future__ import annotations

import sys
import time

import click

from podrun.api import defaults, manifests, validation
from podrun.cli.common import client, namespace_option
from podrun.client import ApiError
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


def _duration(s: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if s.endswith(u):
            return float(s[: -len(u)]) * units[u]
    return float(s)


@click.command("apply")
@click.argument("file", required=False)
@click.option("-f", "--filename", "filenames", multiple=True, help="A manifest file, a directory, or - for stdin.")
@namespace_option
@click.option("--force", is_flag=True, help="Delete and re-create a pod whose spec changed.")
@click.option("--wait", type=click.BOOL, is_flag=False, flag_value=True, default=False,
              help="Wait until every pod is Ready, Succeeded or Failed: --wait or --wait=true; "
                   "--wait=false (kubectl's default) does not.")
@click.option("--timeout", default="300s", show_default=True, help="How long --wait waits.")
@click.pass_context
def apply(ctx: click.Context, file: str | None, filenames: tuple[str, ...], namespace: str | None,
          force: bool, wait: bool, timeout: str) -> None:
    """Create the pods in a manifest (YAML, several documents allowed).

    \b
    Examples:
      sudo podrun apply -f pod.yaml
      sudo podrun apply pod.yaml --wait
      cat pod.yaml | sudo podrun apply -f -
    """
    sources = list(filenames) + ([file] if file else [])
    if not sources:
        raise PodrunError("must specify one of -f and -k")
    docs = manifests.load(sources)
    errors = validation.validate_all(docs)
    for doc in docs:
        ns = doc.obj.get("metadata", {}).get("namespace") if isinstance(doc.obj.get("metadata"), dict) else None
        if namespace and ns and ns != namespace:
            raise PodrunError(f'the namespace from the provided object "{ns}" does not match the namespace '
                              f'"{namespace}". You must pass \'--namespace={ns}\' to perform this operation.')
    if errors:
        for e in errors:
            click.echo(f"error: {e}", err=True)
        sys.exit(1)
    if not docs:
        raise PodrunError("no objects passed to apply")
    c = client(ctx)
    applied = []
    for doc in docs:
        pod = defaults.apply_defaults(doc.obj)
        if namespace and not doc.obj.get("metadata", {}).get("namespace"):
            pod["metadata"]["namespace"] = namespace
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            _, headers = c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod)
            result = headers.get("x-podrun-result", "created")
        except ApiError as exc:
            if exc.reason != "Invalid":   # kubectl's AddSourceToErr("creating", source, err)
                raise ApiError(exc.code, exc.reason, f'error when creating "{doc.file}": {exc.message}') from None
            if not force:
                raise
            c.call("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}")
            c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod)
            result = "configured"
        click.echo(f"pod/{name} {result}")
        applied.append((ns, name))
    if wait:
        _wait(c, applied, _duration(timeout))


def _done(pod: dict) -> bool:
    st = pod.get("status", {})
    if st.get("phase") in ("Succeeded", "Failed"):
        return True
    return any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions", []))


def _wait(c, pods: list[tuple[str, str]], timeout: float) -> None:
    tty = sys.stderr.isatty()
    deadline = time.monotonic() + timeout
    pending = list(pods)
    shown: dict = {}
    while pending:
        for key in list(pending):
            pod = c.get_pod(*key)
            from podrun.printers.table import pod_row
            row = pod_row(pod, time.time())
            line = f"pod/{key[1]}: {row['STATUS']} {row['READY']}"
            if tty and shown.get(key) != line:
                click.echo(line, err=True)
                shown[key] = line
            if _done(pod):
                pending.remove(key)
                phase = pod["status"].get("phase")
                click.echo(f"pod/{key[1]} condition met" if phase not in ("Failed",) else f"pod/{key[1]} failed")
        if not pending:
            return
        if time.monotonic() > deadline:
            raise PodrunError(f"timed out waiting for the condition on pods/{pending[0][1]}")
        time.sleep(0.1)


COMMANDS = [apply]
