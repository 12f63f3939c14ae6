"""`podrun images` and `podrun image tag|rm|inspect|ls`: the local image store, shown as Docker does.

These read and write the store directly (podrun/images/); the daemon is only told, best effort,
that images changed so that pods waiting in ImagePullBackOff retry at once. The table is
printers/images.py's.
"""
from __future__ import annotations

import json
import os
import time

import click

from podrun.images.load import load_archive
from podrun.images.reference import tag_matcher
from podrun.images.store import ImageStore
from podrun.paths import Roots
from podrun.printers.images import image_ids, image_rows, images_table
from podrun.status.files import image_in_use

__all__ = ["images_cmd", "image_group", "tell_daemon_images_changed"]


def _roots(ctx: click.Context) -> Roots:
    return ctx.find_root().obj["roots"]


def _store(ctx: click.Context) -> ImageStore:
    _roots(ctx).make_private()  # `image load` may come before any daemon: never a 0755 lib root
    return ImageStore(_roots(ctx).images_dir)


def _list(ctx: click.Context, reference: str | None, quiet: bool, no_trunc: bool) -> None:
    match = tag_matcher(reference) if reference else None
    rows = image_rows(_store(ctx).list(), time.time(), no_trunc, match)
    for line in image_ids(rows) if quiet else [images_table(rows)]:
        click.echo(line)


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
    tell_daemon_images_changed(_roots(ctx))


@image_group.command("rm")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-f", "--force", is_flag=True, help="Remove even when a running container uses the image.")
@click.pass_context
def image_rm(ctx: click.Context, refs: tuple[str, ...], force: bool) -> None:
    """Remove tags; an image goes with its last tag (refused while a running container uses it)."""
    store, roots = _store(ctx), _roots(ctx)
    in_use = None if force else (lambda image_id: image_in_use(roots, image_id))
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
    for result in load_archive(_store(ctx), path):
        if not quiet:
            for line in result.lines():
                click.echo(line)
    tell_daemon_images_changed(_roots(ctx))


@image_group.command("inspect")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@click.pass_context
def image_inspect(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Show an image's details as JSON (a list, like docker image inspect)."""
    store = _store(ctx)
    click.echo(json.dumps([store.inspect(r) for r in refs], indent=4))


def tell_daemon_images_changed(roots: Roots) -> None:
    """A running daemon ends its image back-offs early; without one there is nothing to tell."""
    if not os.path.exists(roots.socket):
        return
    from podrun.client import Client
    from podrun.errors import PodrunError
    try:
        Client(roots, autostart=False).call("POST", "/podrun/v1/images/changed", timeout=2)
    except (PodrunError, OSError, ValueError):
        pass
