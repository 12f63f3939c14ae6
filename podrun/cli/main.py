"""`podrun`: kubectl's verbs for pods on this machine. One module per verb; this is the group.

Every command needs root; every error is one line on stderr and exit status 1 (exec: the
command's own status). The CLI never imports aiohttp, pyroute2 or psutil: start-up time.
"""
from __future__ import annotations

import os
import sys

import click

from podrun import __version__
from podrun.errors import PodrunError
from podrun.paths import Roots

__all__ = ["main", "cli"]

CONTEXT = {"help_option_names": ["-h", "--help"]}


class PodrunGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PodrunError as exc:
            click.echo(_one_line(exc), err=True)
            sys.exit(1)


def _one_line(exc: PodrunError) -> str:
    text = str(exc)
    from podrun.client import ApiError
    if isinstance(exc, ApiError) or text.startswith(("error:", "Error from server")):
        return text
    return f"error: {text}"


@click.group(cls=PodrunGroup, context_settings=CONTEXT)
@click.option("--root", envvar="PODRUN_ROOT", metavar="DIR",
              help="Keep state, images and logs under DIR/{run,lib,log} instead of the system paths.")
@click.version_option(__version__, "--version", prog_name="podrun")
@click.pass_context
def cli(ctx: click.Context, root: str | None) -> None:
    """podrun runs Kubernetes Pods on this machine, without a cluster.

    \b
    Example:
      sudo podrun apply -f examples/init-emptydir.yaml
      sudo podrun get pods
    """
    if os.geteuid() != 0 and ctx.invoked_subcommand not in (None, "version"):
        click.echo("error: podrun needs root: run it with sudo", err=True)
        sys.exit(1)
    ctx.obj = {"roots": Roots.from_env(root)}


def _register() -> None:
    from podrun.cli import apply, daemon, delete, describe, exec, get, logs, port_forward, system, version
    for mod in (apply, daemon, delete, describe, exec, get, logs, port_forward, system, version):
        for cmd in mod.COMMANDS:
            cli.add_command(cmd)
    from podrun.cli import images
    cli.add_command(images.images_cmd, "images")
    cli.add_command(images.image_group, "image")


_register()


def main() -> None:
    cli(prog_name="podrun")
