"""`podrun images` and `podrun image tag|rm|inspect|ls`: the local image store, shown as Docker does.

These read and write the store directly (podrun/runtime/images.py); the daemon is only told,
best effort, that images changed so that pods waiting in ImagePullBackOff retry at once.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from typing import Callable

import click

from podrun.fsutil import read_json
from podrun.paths import Roots
from podrun.runtime.images import Image, ImageStore, familiar, parse_reference, split_tag

__all__ = ["images_cmd", "image_group", "human_duration", "human_size", "image_rows"]


def _roots(ctx: click.Context) -> Roots:
    return ctx.find_root().obj["roots"]


def _store(ctx: click.Context) -> ImageStore:
    _roots(ctx).make_private()  # `image load` may come before any daemon: never a 0755 lib root
    return ImageStore(_roots(ctx).images_dir)


def human_duration(seconds: float) -> str:
    """Docker's go-units HumanDuration ("About a minute", "2 minutes", "3 weeks")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_size(size: float) -> str:
    """Docker's go-units HumanSizeWithPrecision(size, 3): decimal units, "4.86MB", "800kB"."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.3g}{units[i]}"


def _age(created: str, now: float) -> str:
    try:
        ts = dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "<unknown>"
    return human_duration(max(0.0, now - ts)) + " ago"


def image_rows(images: list[Image], now: float, no_trunc: bool = False,
               match: Callable[[str], bool] | None = None) -> list[list[str]]:
    """One row per tag (an untagged image: one <none> row), newest image first, like docker."""
    rows: list[tuple[str, list[str]]] = []
    for img in images:
        shown_id = img.id if no_trunc else img.short_id
        tail = [shown_id, _age(img.created, now), human_size(img.size)]
        tags = [t for t in img.tags if match is None or match(t)]
        if match is None and not tags:
            tags = [""]
        for tag in tags:
            repo, name = split_tag(tag) if tag else ("<none>", "<none>")
            rows.append((img.created, [familiar(repo), name, *tail]))
    rows.sort(key=lambda r: (r[1][0], r[1][1]))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r for _, r in rows]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "   " + r[-1] for r in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def _matcher(reference: str | None) -> Callable[[str], bool] | None:
    """`busybox` matches every tag of the repository, `busybox:1.35` that tag only (docker)."""
    if not reference:
        return None
    ref = parse_reference(reference)
    if ":" in reference.rpartition("/")[2]:
        return lambda tag: tag == str(ref)
    return lambda tag: split_tag(tag)[0] == ref.name


def _list(ctx: click.Context, reference: str | None, quiet: bool, no_trunc: bool) -> None:
    match = _matcher(reference)
    rows = image_rows(_store(ctx).list(), dt.datetime.now().timestamp(), no_trunc, match)
    if quiet:
        for shown_id in dict.fromkeys(r[2] for r in rows):
            click.echo(shown_id)
        return
    header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    click.echo(_table(header, rows))


_list_options = [
    click.argument("reference", required=False, metavar="[REPOSITORY[:TAG]]"),
    click.option("-q", "--quiet", is_flag=True, help="Only show image IDs."),
    click.option("--no-trunc", is_flag=True, help="Show the full image ID."),
]


def _with_list_options(f):
    for opt in reversed(_list_options):
        f = opt(f)
    return f


@click.command("images")
@_with_list_options
@click.pass_context
def images_cmd(ctx: click.Context, reference: str | None, quiet: bool, no_trunc: bool) -> None:
    """List the images in the local store."""
    _list(ctx, reference, quiet, no_trunc)


@click.group("image")
def image_group() -> None:
    """Manage the local image store."""


@image_group.command("ls")
@_with_list_options
@click.pass_context
def image_ls(ctx: click.Context, reference: str | None, quiet: bool, no_trunc: bool) -> None:
    """List the images in the local store."""
    _list(ctx, reference, quiet, no_trunc)


@image_group.command("tag")
@click.argument("src", metavar="SOURCE_IMAGE[:TAG]")
@click.argument("dst", metavar="TARGET_IMAGE[:TAG]")
@click.pass_context
def image_tag(ctx: click.Context, src: str, dst: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    _store(ctx).tag(src, dst)
    _tell_daemon(_roots(ctx))


@image_group.command("rm")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-f", "--force", is_flag=True, help="Remove even when a running container uses the image.")
@click.pass_context
def image_rm(ctx: click.Context, refs: tuple[str, ...], force: bool) -> None:
    """Remove tags; an image goes with its last tag (refused while a running container uses it)."""
    store, roots = _store(ctx), _roots(ctx)
    in_use = None if force else (lambda image_id: _used_by_running_container(roots, image_id))
    for ref in refs:
        for line in store.remove(ref, in_use=in_use):
            click.echo(line)


@image_group.command("load")
@click.option("-i", "--input", "path", required=True, metavar="FILE",
              help="Read from a tar archive file (docker save or OCI image layout).")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_context
def image_load(ctx: click.Context, path: str, quiet: bool) -> None:
    """Load an image from a docker save or OCI layout tar archive (digests verified)."""
    from podrun.image_load import load_archive
    for result in load_archive(_store(ctx), path):
        if not quiet:
            for line in result.lines():
                click.echo(line)
    _tell_daemon(_roots(ctx))


@image_group.command("inspect")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@click.pass_context
def image_inspect(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Show an image's details as JSON (a list, like docker image inspect)."""
    store = _store(ctx)
    click.echo(json.dumps([store.inspect(r) for r in refs], indent=4))


def _used_by_running_container(roots: Roots, image_id: str) -> bool:
    """True when a pod's status shows a running container of this image (imageID ends @<id>)."""
    try:
        pods = os.listdir(roots.pods_dir)
    except FileNotFoundError:
        return False
    for name in pods:
        doc = read_json(os.path.join(roots.pods_dir, name, "status.json"), {}) or {}
        status = doc.get("status", doc) if isinstance(doc, dict) else {}
        for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
            for cs in status.get(key) or []:
                if "running" in (cs.get("state") or {}) and str(cs.get("imageID", "")).endswith(image_id):
                    return True
    return False


def _tell_daemon(roots: Roots) -> None:
    """A running daemon ends its image back-offs early; without one there is nothing to tell."""
    if not os.path.exists(roots.socket):
        return
    from podrun.client import Client
    from podrun.errors import PodrunError
    try:
        Client(roots, autostart=False).call("POST", "/podrun/v1/images/changed", timeout=2)
    except (PodrunError, OSError, ValueError):
        pass
