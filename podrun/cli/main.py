"""`podrun`: kubectl's verbs for pods on this machine. One module per verb; this is the group.

Every command needs root; every error is one line on stderr and exit status 1 (exec: the
command's own status). The CLI never imports aiohttp, pyroute2 or psutil: start-up time.
"""
from __future__ import annotations

import importlib
import os
import sys

import click

from podrun import __version__
from podrun.errors import PodrunError
from podrun.paths import Roots

__all__ = ["main", "cli"]

CONTEXT = {"help_option_names": ["-h", "--help"]}


# verb -> (module, attribute): a verb's module is imported only when that verb runs, so
# `podrun get` does not pay for exec, port-forward or the image store (CLI start-up time).
COMMANDS = {
    "apply": ("podrun.cli.apply", "apply"),
    "get": ("podrun.cli.get", "get"),
    "describe": ("podrun.cli.describe", "describe"),
    "logs": ("podrun.cli.logs", "logs"),
    "exec": ("podrun.cli.exec", "exec_"),
    "attach": ("podrun.cli.attach", "attach"),
    "run": ("podrun.cli.run", "run"),
    "delete": ("podrun.cli.delete", "delete"),
    "port-forward": ("podrun.cli.port_forward", "port_forward"),
    "top": ("podrun.cli.top", "top"),
    "images": ("podrun.cli.images", "images_cmd"),
    "image": ("podrun.cli.images", "image_group"),
    "system": ("podrun.cli.system", "system"),
    "daemon": ("podrun.cli.daemon", "daemon"),
    "version": ("podrun.cli.version", "version"),
    "completion": ("podrun.cli.completion", "completion"),
    "kubeconfig": ("podrun.cli.kubeconfig", "kubeconfig_cmd"),
}


class PodrunGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

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
    if os.geteuid() != 0 and ctx.invoked_subcommand not in (None, "version", "completion"):
        click.echo("error: podrun needs root: run it with sudo", err=True)
        sys.exit(1)
    ctx.obj = {"roots": Roots.from_env(root)}


def main() -> None:
    cli(prog_name="podrun")
