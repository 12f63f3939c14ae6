"""`podrun completion bash|zsh|fish`: the shell code that completes podrun's verbs, flags and
pod names. Ports kubectl/pkg/cmd/completion/completion.go (help, examples, errors); the scripts
are click's own (click.shell_completion), generated in-process, so TAB runs
`_PODRUN_COMPLETE=bash_complete podrun ...` and click answers from the live command tree.

complete_pod_names is the `shell_complete` callback for arguments that name pods: it asks
the daemon (never starting one) and answers nothing on any error, so a TAB never prints one.
"""
from __future__ import annotations

import json

import click

from podrun.errors import PodrunError

__all__ = ["COMMANDS", "completion", "completion_script", "complete_pod_names", "complete_pod_args", "SHELLS"]

SHELLS = ("bash", "zsh", "fish")   # kubectl also has powershell, which click cannot complete
PROG_NAME = "podrun"


def _go_quote(text: str) -> str:
    """Go's %q for the error message: a double-quoted, escaped string."""
    return json.dumps(text, ensure_ascii=False)


def completion_script(cli: click.Command, shell: str, prog_name: str = PROG_NAME) -> str:
    """click's completion source for `prog_name`, as `_PODRUN_COMPLETE=<shell>_source` prints it."""
    from click.shell_completion import get_completion_class
    cls = get_completion_class(shell)
    if cls is None:
        raise PodrunError(f"Unsupported shell type {_go_quote(shell)}.")
    complete_var = f"_{prog_name}_COMPLETE".replace("-", "_").upper()
    return cls(cli, {}, prog_name, complete_var).source()


def _complete_shells(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [s for s in SHELLS if s.startswith(incomplete)]


@click.command("completion")
@click.argument("shell", nargs=-1, metavar="SHELL", shell_complete=_complete_shells)
@click.pass_context
def completion(ctx: click.Context, shell: tuple[str, ...]) -> None:
    """Output shell completion code for the specified shell (bash, zsh or fish).

    The shell code must be evaluated to provide interactive completion of podrun commands
    and of pod names. This can be done by sourcing it from the .bashrc.

    \b
    Examples:
      # Load the podrun completion code for bash into the current shell
      source <(podrun completion bash)
      # Write it to a file and source it from .bashrc
      podrun completion bash > ~/.podrun-completion.bash
      echo 'source ~/.podrun-completion.bash' >> ~/.bashrc
      # Load the podrun completion code for zsh into the current shell
      source <(podrun completion zsh)
      # Load the podrun completion code for fish into the current shell
      podrun completion fish | source
    """
    # completion.go RunCompletion's checks and messages
    if not shell:
        raise PodrunError("Shell not specified.")
    if len(shell) > 1:
        raise PodrunError("Too many arguments. Expected only the shell type.")
    if shell[0] not in SHELLS:
        raise PodrunError(f"Unsupported shell type {_go_quote(shell[0])}.")
    click.echo(completion_script(ctx.find_root().command, shell[0]), nl=False)


def _pod_names(ctx: click.Context) -> list[str]:
    """The pods of the namespace typed so far (-n NS, -A), or [] when the daemon cannot say.

    During completion no command callback runs, so ctx.obj is empty: the roots come from the
    root command's own --root parameter (or the environment)."""
    from podrun.client import Client
    from podrun.paths import Roots
    try:
        roots = Roots.from_env(ctx.find_root().params.get("root"))
        ns = None if ctx.params.get("all_namespaces") else (ctx.params.get("namespace") or "default")
        return Client(roots, autostart=False).pod_names(ns)
    except Exception:  # a TAB must never print a traceback or start a daemon
        return []


def complete_pod_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """`shell_complete` for an argument naming pods: names not typed yet that start with
    `incomplete`; nothing when a RESOURCE argument before it names something else (events)."""
    from podrun.cli.common import POD_WORDS
    resource = ctx.params.get("resource")
    if resource is not None and resource.lower() not in POD_WORDS:
        return []
    typed = ctx.params.get(param.name or "") or ()
    typed = (typed,) if isinstance(typed, str) else tuple(typed)
    return [n for n in _pod_names(ctx) if n.startswith(incomplete) and n not in typed]


def complete_pod_args(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """`shell_complete` for `delete`'s ARGS (RESOURCE NAME...): "pod" first, then pod names."""
    from podrun.cli.common import POD_WORDS
    typed = tuple(ctx.params.get(param.name or "") or ())
    if not typed:
        return [w for w in POD_WORDS if w.startswith(incomplete)]
    if typed[0].lower() not in POD_WORDS:
        return []
    return [n for n in _pod_names(ctx) if n.startswith(incomplete) and n not in typed[1:]]


COMMANDS = [completion]
