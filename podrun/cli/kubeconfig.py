"""`podrun kubeconfig [--path | --merge]`: the admin kubeconfig of the HTTPS API, for kubectl
and the `kubernetes` Python client.

The daemon writes it (0600, <lib>/kubeconfig) at every start; this verb starts the daemon if
needed, then prints it, prints where it is (--path), or merges its cluster, user and context
`podrun` into the first file of $KUBECONFIG or ~/.kube/config (--merge) the way `kubectl config
set-*` would: other entries kept, same-named ones replaced, current-context set only when the
file has none (then `kubectl config use-context podrun`). Under sudo, ~ is root's unless HOME is
kept (`sudo HOME=$HOME podrun kubeconfig --merge`); a file merged into the invoking user's home
is given to that user (SUDO_UID/SUDO_GID), as kubeadm tells its admins to do.
"""
from __future__ import annotations

import os

import click
import yaml

from podrun.cli.common import client, roots
from podrun.errors import PodrunError

__all__ = ["kubeconfig_cmd", "user_kubeconfig_path"]


def user_kubeconfig_path() -> str:
    """kubectl's choice: the first file of $KUBECONFIG, else ~/.kube/config."""
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return env[0] if env else os.path.join(os.path.expanduser("~"), ".kube", "config")


def _give_to_sudo_user(target: str, new_dir: bool) -> None:
    """`sudo HOME=$HOME podrun kubeconfig --merge`: a file in the invoking user's home is theirs
    (kubeadm's `sudo chown $(id -u):$(id -g) $HOME/.kube/config`), or kubectl could not read it."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    home = os.path.expanduser("~")
    if os.geteuid() != 0 or not uid.isdigit() or not gid.isdigit():
        return
    if os.stat(home).st_uid != int(uid) or not os.path.abspath(target).startswith(home.rstrip("/") + "/"):
        return
    os.chown(target, int(uid), int(gid))
    if new_dir:
        os.chown(os.path.dirname(target), int(uid), int(gid))


@click.command("kubeconfig")
@click.option("--path", "show_path", is_flag=True, help="Print where the kubeconfig is.")
@click.option("--merge", is_flag=True, help="Add the podrun context to $KUBECONFIG or ~/.kube/config.")
@click.pass_context
def kubeconfig_cmd(ctx: click.Context, show_path: bool, merge: bool) -> None:
    """Print the kubeconfig that lets kubectl reach podrun's API over HTTPS.

    \b
    Examples:
      sudo podrun kubeconfig > ~/.kube/podrun.yaml
      kubectl --kubeconfig "$(sudo podrun kubeconfig --path)" get pods
      sudo podrun kubeconfig --merge && kubectl config use-context podrun
    """
    from podrun.daemon.kube import kubeconfig as kc
    r = roots(ctx)
    if show_path and merge:
        raise PodrunError("--path and --merge cannot be used together")
    if not os.path.exists(r.kubeconfig):
        client(ctx).ensure_daemon()        # the daemon writes it at start
    if not os.path.exists(r.kubeconfig):
        raise PodrunError(f"no kubeconfig at {r.kubeconfig}: is the HTTPS API off (PODRUN_API_PORT)?")
    if show_path:
        click.echo(r.kubeconfig)
        return
    with open(r.kubeconfig) as f:
        text = f.read()
    if not merge:
        click.echo(text, nl=False)
        return
    target = user_kubeconfig_path()
    try:
        with open(target) as f:
            existing = yaml.safe_load(f) or {}
    except FileNotFoundError:
        existing = {}
    except yaml.YAMLError as exc:
        raise PodrunError(f"error loading config file \"{target}\": {exc}") from exc
    merged, found = kc.merge(existing, yaml.safe_load(text))
    new_dir = not os.path.isdir(os.path.dirname(target) or ".")
    kc.write_private_text(target, kc.dump(merged))
    _give_to_sudo_user(target, new_dir)
    click.echo(f'Context "{kc.CONTEXT}" {"modified" if found else "created"} in {target}.')
    if merged.get("current-context") != kc.CONTEXT:
        click.echo(f"Current context is still \"{merged['current-context']}\": "
                   f"kubectl config use-context {kc.CONTEXT}")
