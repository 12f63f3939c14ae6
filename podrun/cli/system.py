"""`podrun system reset`: remove what the node keeps between pods (the bridge, stale leases,
the cgroup parent).

Refuses while pods exist: their sandboxes hold veths on the bridge and leases on disk. Acts
directly, without the daemon; pyroute2 is imported only inside the command (CLI start-up time).
"""
from __future__ import annotations

import asyncio
import os

import click

from podrun.cli.common import roots
from podrun.errors import PodrunError

__all__ = ["COMMANDS"]


@click.group("system")
def system() -> None:
    """Manage podrun's node-wide state."""


@system.command("reset")
@click.pass_context
def reset(ctx: click.Context) -> None:
    """Remove the pod bridge, every IP lease and podrun's cgroups; refused while pods exist.

    \b
    Example:
      sudo podrun delete pods --all && sudo podrun system reset
    """
    r = roots(ctx)
    pods = [e for e in os.listdir(r.pods_dir) if os.path.exists(os.path.join(r.pods_dir, e, "pod.json"))] \
        if os.path.isdir(r.pods_dir) else []
    if pods:
        raise PodrunError(f"{len(pods)} pods exist: delete them first" if len(pods) != 1 else "1 pod exists: delete it first")
    from podrun.runtime.podnet import PodNetwork
    network = PodNetwork(r.lib)
    leases = len(network.ipam.leases())
    removed = asyncio.run(network.reset())
    click.echo(f"bridge {network.bridge} {'deleted' if removed else 'not present'}")
    click.echo(f"{leases} stale lease{'s' if leases != 1 else ''} released")
    from podrun.runtime import podcgroups
    node = podcgroups.from_env()
    if node is not None:
        asyncio.run(node.remove_all())
        state = "removed" if node.remove_parent() else "still in use"
        click.echo(f"cgroup {node.parent} {state}")


COMMANDS = [system]
