"""`podrun get pods|pod|po [NAME...]`, `podrun get events`: kubectl's tables and objects."""
from __future__ import annotations

import sys

import click

from podrun.cli.common import POD_WORDS, client, namespace_option, now, print_object
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


@click.command("get")
@click.argument("resource")
@click.argument("names", nargs=-1)
@namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option("-o", "--output", type=click.Choice(["wide", "json", "yaml", "name"]), default=None)
@click.option("-l", "--selector", default="", help="Label selector, e.g. app=web,tier=front.")
@click.option("-w", "--watch", is_flag=True, help="After listing, print a row each time a pod changes.")
@click.option("--watch-only", is_flag=True, help="Print only the changes.")
@click.option("--no-headers", is_flag=True)
@click.pass_context
def get(ctx: click.Context, resource: str, names: tuple[str, ...], namespace: str | None,
        all_namespaces: bool, output: str | None, selector: str, watch: bool, watch_only: bool,
        no_headers: bool) -> None:
    """Show pods (or events) like kubectl get.

    \b
    Examples:
      sudo podrun get pods
      sudo podrun get pod web -o yaml
      sudo podrun get pods -A -o wide
    """
    if "/" in resource and not names:
        resource, _, name = resource.partition("/")
        names = (name,)
    kind = resource.lower()
    c = client(ctx)
    ns = None if all_namespaces else (namespace or "default")
    if kind in ("events", "event", "ev"):
        from podrun.printers.events import events_table
        evs = c.events(ns)
        if output in ("json", "yaml"):
            print_object(evs, output)
        elif not evs:
            click.echo(f"No resources found in {ns} namespace." if ns else "No resources found", err=True)
        else:
            click.echo(events_table(evs, now(), all_namespaces=all_namespaces), nl=False)
        return
    if kind not in POD_WORDS:
        raise PodrunError(f'the server doesn\'t have a resource type "{resource}"')
    if names:
        pods, missing = [], []
        for n in names:
            try:
                pods.append(c.get_pod(ns or "default", n))
            except PodrunError as exc:
                missing.append(exc)
        single = len(names) == 1
    else:
        pods, missing, single = c.list_pods(ns, selector), [], False
    from podrun.printers import table
    if output in ("json", "yaml"):
        if pods:
            print_object(pods[0] if single else pods, output)
    elif output == "name":
        for p in pods:
            click.echo(f"pod/{p['metadata']['name']}")
    elif pods or watch:
        text = table.pods_table(pods, now(), wide=output == "wide", all_namespaces=all_namespaces,
                                no_headers=no_headers)
        if not watch_only:
            click.echo(text, nl=False)
    elif not missing:
        click.echo(f"No resources found in {ns} namespace." if ns else "No resources found", err=True)
    for exc in missing:
        click.echo(str(exc), err=True)
    if watch or watch_only:
        _watch(c, ns, set(names), output == "wide", all_namespaces)
    if missing:
        sys.exit(1)


def _watch(c, ns: str | None, names: set[str], wide: bool, all_namespaces: bool) -> None:
    from podrun.printers import table
    path = "/api/v1/watch/pods" + (f"?namespace={ns}" if ns else "")
    last: dict = {}
    try:
        for ev in c.stream(path):
            pod = ev["object"]
            name = pod["metadata"]["name"]
            if names and name not in names:
                continue
            text = table.pods_table([pod], now(), wide=wide, all_namespaces=all_namespaces, no_headers=True)
            key = (pod["metadata"]["namespace"], name)
            row = text
            if last.get(key) != row or ev["type"] == "DELETED":
                click.echo(row, nl=False)
                last[key] = row
    except KeyboardInterrupt:
        pass


COMMANDS = [get]
