"""`podrun get pods|pod|po [NAME...]`, `podrun get events`: kubectl's tables and objects."""
from __future__ import annotations

import sys

import click

from podrun.cli.completion import complete_pod_names
from podrun.cli.common import POD_WORDS, client, namespace_option, now, print_object
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


@click.command("get")
@click.argument("resource")
@click.argument("names", nargs=-1, shell_complete=complete_pod_names)
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
        if pods and not watch_only:
            print_object(pods[0] if single else pods, output)
    elif output == "name":
        for p in pods if not watch_only else []:
            click.echo(f"pod/{p['metadata']['name']}")
    elif pods and watch_only:
        pass
    elif pods:
        text = table.pods_table(pods, now(), wide=output == "wide", all_namespaces=all_namespaces,
                                no_headers=no_headers)
        click.echo(text, nl=False)
    elif not missing and not watch_only:
        click.echo(f"No resources found in {ns} namespace." if ns else "No resources found", err=True)
    for exc in missing:
        click.echo(str(exc), err=True)
    if watch or watch_only:
        try:
            _watch(c, ns, set(names), selector, pods, output, all_namespaces,
                   header_done=bool(pods) and not watch_only, no_headers=no_headers)
        except KeyboardInterrupt:  # Ctrl-C ends a watch, as kubectl: exit status 0
            pass
    if missing:
        sys.exit(1)


def _matches(pod: dict, selector: str) -> bool:
    """Equality-based selector terms: k=v, k==v, k!=v, k (exists), !k."""
    labels = pod["metadata"].get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, _, v = term.partition("!=")
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, _, v = term.replace("==", "=").partition("=")
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _row_key(pod: dict, wide: bool, all_namespaces: bool) -> tuple:
    """The printed cells but AGE: a row is printed again only when one of them changes."""
    from podrun.printers import table
    row = table.pod_row(pod, now())
    columns = (["NAMESPACE"] if all_namespaces else []) + table.POD_COLUMNS + (table.WIDE_COLUMNS if wide else [])
    return tuple(row[c] for c in columns if c != "AGE")


def _watch(c, ns: str | None, names: set[str], selector: str, listed: list[dict], output: str | None,
           all_namespaces: bool, header_done: bool, no_headers: bool) -> None:
    """kubectl get -w: one row per change after the list, each row flushed on its own (Go's
    tabwriter is flushed per object, so a row's widths are its own); the header is printed once,
    with the first row when the list printed none (--watch-only, or no pods yet)."""
    from podrun.printers import table
    wide = output == "wide"
    path = "/api/v1/watch/pods" + (f"?namespace={ns}" if ns else "")
    last = {(p["metadata"]["namespace"], p["metadata"]["name"]): _row_key(p, wide, all_namespaces)
            for p in listed}
    for ev in c.stream(path):
        pod = ev["object"]
        name = pod["metadata"]["name"]
        if names and name not in names:
            continue
        if selector and not _matches(pod, selector):
            continue
        key = (pod["metadata"]["namespace"], name)
        row = _row_key(pod, wide, all_namespaces)
        if last.get(key) == row and ev["type"] != "DELETED":
            continue
        last[key] = row
        if ev["type"] == "DELETED":
            last.pop(key, None)
        if output in ("json", "yaml"):
            print_object(pod, output)
            continue
        if output == "name":
            click.echo(f"pod/{name}")
            continue
        text = table.pods_table([pod], now(), wide=wide, all_namespaces=all_namespaces,
                                no_headers=header_done or no_headers)
        header_done = True
        click.echo(text, nl=False)


COMMANDS = [get]
