"""`podrun describe pod NAME`: kubectl's describe layout, events folded."""
from __future__ import annotations

import click

from podrun.cli.completion import complete_pod_names
from podrun.cli.common import POD_WORDS, client, namespace_option, now
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


@click.command("describe")
@click.argument("resource")
@click.argument("names", nargs=-1, shell_complete=complete_pod_names)
@namespace_option
@click.option("-l", "--selector", default="")
@click.pass_context
def describe(ctx: click.Context, resource: str, names: tuple[str, ...], namespace: str | None,
             selector: str) -> None:
    """Show a pod in detail, with its events.

    \b
    Example:
      sudo podrun describe pod web
    """
    from podrun.printers.describe import describe_pod
    if "/" in resource and not names:
        resource, _, n = resource.partition("/")
        names = (n,)
    if resource.lower() not in POD_WORDS:
        raise PodrunError(f'the server doesn\'t have a resource type "{resource}"')
    c = client(ctx)
    ns = namespace or "default"
    pods = [c.get_pod(ns, n) for n in names] if names else c.list_pods(ns, selector)
    out = []
    for pod in pods:
        out.append(describe_pod(pod, c.events(ns, pod["metadata"]["name"]), now()))
    click.echo("\n\n".join(o.rstrip("\n") for o in out))


COMMANDS = [describe]
