"""`podrun version [--client] [-o json|yaml]`: kubectl's version command (kubectl 1.32
`pkg/cmd/version/version.go`), with podrun's version where Kubernetes' would be.

    Client Version: v0.1.0         (this CLI)
    Server Version: v0.1.0         (the daemon's GET /version; it is started as for any verb)

-o json / -o yaml print {clientVersion, serverVersion} as version.Info objects. --client never
contacts the daemon. kubectl's `Kustomize Version` line and kustomizeVersion field are left out:
podrun has no kustomize. When the daemon cannot be reached the client part is printed, then the
error (exit 1), as kubectl does.
"""
from __future__ import annotations

import json

import click

from podrun.buildinfo import version_info
from podrun.errors import PodrunError

__all__ = ["COMMANDS", "render"]


@click.command("version")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--client", "client_only", is_flag=True, help="If true, shows client version only (no server required).")
@click.option("-o", "--output", default="", help="One of 'yaml' or 'json'.")
@click.pass_context
def version(ctx: click.Context, args: tuple[str, ...], client_only: bool, output: str) -> None:
    """Print the client and server version information for the current context.

    \b
    Examples:
      # Print the client and server versions for the current context
      podrun version
    """
    if args:
        raise PodrunError(f"extra arguments: [{' '.join(args)}]")
    if output not in ("", "yaml", "json"):
        raise PodrunError("--output must be 'yaml' or 'json'")
    info: dict = {"clientVersion": version_info()}
    server_error: PodrunError | None = None
    if not client_only:
        from podrun.cli.common import client
        try:
            info["serverVersion"], _ = client(ctx).call("GET", "/version")
        except PodrunError as exc:
            server_error = exc
    click.echo(render(info, output), nl=False)
    if server_error is not None:
        raise server_error


def render(info: dict, output: str) -> str:
    """kubectl's three forms: plain lines, json.MarshalIndent + "\\n", sigs.k8s.io/yaml + "\\n"."""
    if output == "json":
        return json.dumps(info, indent=2) + "\n"
    if output == "yaml":
        return _go_yaml(info) + "\n"
    lines = [f"Client Version: {info['clientVersion']['gitVersion']}"]
    if "serverVersion" in info:
        lines.append(f"Server Version: {info['serverVersion'].get('gitVersion', '')}")
    return "\n".join(lines) + "\n"


def _go_yaml(obj: dict) -> str:
    """sigs.k8s.io/yaml (yaml.v2): keys sorted, strings that need quotes in double quotes."""
    import yaml

    class GoDumper(yaml.SafeDumper):
        def choose_scalar_style(self):
            style = super().choose_scalar_style()
            return '"' if style == "'" else style

    return yaml.dump(obj, Dumper=GoDumper, default_flow_style=False, sort_keys=True)


COMMANDS = [version]
