"""`podrun daemon`: run the node daemon in the foreground (for a systemd unit, or to watch it)."""
import click

from podrun.cli.common import roots


@click.command("daemon")
@click.pass_context
def daemon(ctx: click.Context) -> None:
    """Run the podrun daemon in the foreground. The CLI starts one on demand otherwise.

    \b
    Example:
      sudo podrun daemon
    """
    from podrun.daemon.main import run_daemon
    run_daemon(roots(ctx))


COMMANDS = [daemon]
