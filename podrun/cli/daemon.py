"""`podrun daemon [--api-port PORT|off]`: run the node daemon in the foreground (for a systemd
unit, or to watch it)."""
import click

from podrun.cli.common import roots


@click.command("daemon")
@click.option("--api-port", default=None, metavar="PORT",
              help="The HTTPS API's port on 127.0.0.1 (default 6443, env PODRUN_API_PORT); 'off' disables it.")
@click.pass_context
def daemon(ctx: click.Context, api_port: str | None) -> None:
    """Run the podrun daemon in the foreground. The CLI starts one on demand otherwise.

    \b
    Example:
      sudo podrun daemon
    """
    import os
    from podrun.daemon.main import run_daemon
    if api_port is not None:
        os.environ["PODRUN_API_PORT"] = api_port
    run_daemon(roots(ctx))


COMMANDS = [daemon]
