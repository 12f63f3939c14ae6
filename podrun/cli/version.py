"""`podrun version`."""
import click

from podrun import KUBE_VERSION, __version__


@click.command("version")
def version() -> None:
    """Print the podrun version and the Kubernetes version whose behaviour it follows."""
    click.echo(f"podrun version: {__version__}")
    click.echo(f"Kubernetes semantics: v{KUBE_VERSION[0]}.{KUBE_VERSION[1]}")


COMMANDS = [version]
