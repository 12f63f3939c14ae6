"""What the verbs share: the client, namespace flags, printing objects as kubectl does."""
from __future__ import annotations

import json
import time

import click

from podrun.client import Client
from podrun.paths import Roots

__all__ = ["client", "roots", "namespace_option", "print_object", "POD_WORDS", "now"]

POD_WORDS = ("pod", "pods", "po")


def roots(ctx: click.Context) -> Roots:
    return ctx.find_root().obj["roots"]


def client(ctx: click.Context) -> Client:
    obj = ctx.find_root().obj
    if "client" not in obj:
        obj["client"] = Client(obj["roots"])
    return obj["client"]


def namespace_option(f):
    return click.option("-n", "--namespace", default=None, help="The namespace (default: default).")(f)


def now() -> float:
    return time.time()


def print_object(obj: dict | list, output: str) -> None:
    """-o json / -o yaml: one object as is, several as a v1 List (kubectl)."""
    if isinstance(obj, list):
        obj = {"apiVersion": "v1", "items": obj, "kind": "List", "metadata": {"resourceVersion": ""}}
    if output == "json":
        click.echo(json.dumps(obj, indent=4, sort_keys=False))
    else:
        import yaml
        click.echo(yaml.safe_dump(obj, default_flow_style=False, sort_keys=True), nl=False)
