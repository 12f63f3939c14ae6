"""`podrun delete pod NAME...` / `delete -f FILE`: graceful by default, waits for the end."""
from __future__ import annotations

import sys

import click

from podrun.cli.completion import complete_pod_args
from podrun.cli.common import POD_WORDS, client, namespace_option
from podrun.client import ApiError
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


@click.command("delete")
@click.argument("args", nargs=-1, shell_complete=complete_pod_args)
@click.option("-f", "--filename", "filenames", multiple=True)
@namespace_option
@click.option("--grace-period", type=int, default=-1, help="Seconds before SIGKILL (-1: the pod's own).")
@click.option("--now", "now_", is_flag=True, help="Same as --grace-period=1.")
@click.option("--force", is_flag=True, help="With --grace-period=0: kill at once.")
@click.option("--wait", type=click.BOOL, is_flag=False, flag_value=True, default=True,
              help="Wait until the pod is gone: --wait (default) or --wait=false, as kubectl.")
@click.option("--all", "all_", is_flag=True, help="Delete every pod in the namespace.")
@click.option("--ignore-not-found", is_flag=True, help="A missing pod is not an error.")
@click.pass_context
def delete(ctx: click.Context, args: tuple[str, ...], filenames: tuple[str, ...], namespace: str | None,
           grace_period: int, now_: bool, force: bool, wait: bool, all_: bool, ignore_not_found: bool) -> None:
    """Delete pods: preStop, SIGTERM, the grace period, SIGKILL, then every resource released.

    \b
    Examples:
      sudo podrun delete pod web
      sudo podrun delete -f pod.yaml --grace-period=5
      sudo podrun delete pod web --force --grace-period=0
    """
    targets: list[tuple[str, str]] = []
    ns_default = namespace or "default"
    if filenames:
        from podrun.api import manifests
        for doc in manifests.load(list(filenames)):
            meta = doc.obj.get("metadata") or {}
            targets.append((meta.get("namespace") or ns_default, meta.get("name", "")))
    else:
        words = list(args)
        if words and "/" in words[0]:
            kinds = {w.partition("/")[0] for w in words}
            if not kinds <= set(POD_WORDS):
                raise PodrunError(f'the server doesn\'t have a resource type "{kinds.pop()}"')
            names = [w.partition("/")[2] for w in words]
        elif words:
            if words[0].lower() not in POD_WORDS:
                raise PodrunError(f'the server doesn\'t have a resource type "{words[0]}"')
            names = words[1:]
        else:
            raise PodrunError("You must provide one or more resources by argument or filename.")
        if all_:
            names = [p["metadata"]["name"] for p in client(ctx).list_pods(ns_default)]
        elif not names:
            raise PodrunError("resource(s) were provided, but no name was specified")
        targets = [(ns_default, n) for n in names]
    grace = 1 if now_ else (None if grace_period < 0 else grace_period)
    if force and grace == 0:
        click.echo("Warning: Immediate deletion does not wait for confirmation that the running "
                   "resource has been terminated. The resource may continue to run on the cluster "
                   "indefinitely.", err=True)
    c = client(ctx)
    failed = False
    for ns, name in targets:
        q = [f"wait={'true' if wait else 'false'}"]
        if grace is not None:
            q.append(f"gracePeriodSeconds={grace}")
        if force:
            q.append("force=true")
        try:
            c.call("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}?{'&'.join(q)}")
        except ApiError as exc:
            if ignore_not_found and exc.reason == "NotFound":
                continue
            click.echo(str(exc), err=True)
            failed = True
            continue
        click.echo(f'pod "{name}" {"force deleted" if force and grace == 0 else "deleted"}')
    if failed:
        sys.exit(1)


COMMANDS = [delete]
