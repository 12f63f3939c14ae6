"""`podrun run NAME --image=IMG [-- CMD...]`: kubectl run's Pod generator, then a create.

The Pod is built as kubectl's `generate/versioned/run.go` BasicPod does (labels `run: NAME` when
--labels is not given, the container named NAME, trailing words as `args` or with --command as
`command`, `resources: {}`, `dnsPolicy: ClusterFirst`, `status: {}`). Dicts are built in the Go
structs' field order so `-o json` reads like kubectl's; `-o yaml` sorts keys as kubectl's printer.
"""
from __future__ import annotations

import sys

import click

from podrun.cli.common import client, namespace_option, print_object
from podrun.errors import PodrunError

__all__ = ["COMMANDS", "generate_pod", "parse_pairs"]

RESTART_POLICIES = ("Always", "OnFailure", "Never")


def parse_pairs(spec: str, what: str) -> dict[str, str]:
    """`k=v,k2=v2` (kubectl's ParseLabels for --labels; --annotations alike)."""
    out: dict[str, str] = {}
    if not spec:
        return out
    for part in spec.split(","):
        k, eq, v = part.partition("=")
        if not eq or not k:
            raise PodrunError(f"invalid {what} spec: {part}")
        out[k] = v
    return out


def generate_pod(name: str, image: str, *, restart: str = "Always", port: int | None = None,
                 labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
                 env: list[str] | tuple[str, ...] = (), args: list[str] | tuple[str, ...] = (),
                 command: bool = False, namespace: str | None = None, image_pull_policy: str = "",
                 stdin: bool = False, tty: bool = False, leave_stdin_open: bool = False,
                 service_account: str = "") -> dict:
    """The v1 Pod kubectl run would send (BasicPod.Generate)."""
    if restart not in RESTART_POLICIES:
        raise PodrunError(f"invalid restart policy: {restart}")
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["creationTimestamp"] = None
    meta["labels"] = dict(labels) if labels else {"run": name}
    if annotations:
        meta["annotations"] = dict(annotations)
    c: dict = {"name": name, "image": image}
    if args:
        c["command" if command else "args"] = list(args)
    if port is not None and port > 0:
        c["ports"] = [{"containerPort": port}]
    if env:
        envs = []
        for e in env:
            k, eq, v = e.partition("=")
            if not eq or not k:
                raise PodrunError(f"invalid env: {e}")
            envs.append({"name": k, "value": v})
        c["env"] = envs
    c["resources"] = {}
    if image_pull_policy:
        c["imagePullPolicy"] = image_pull_policy
    if stdin:
        c["stdin"] = True
        if not leave_stdin_open:
            c["stdinOnce"] = True
    if tty:
        c["tty"] = True
    spec: dict = {"containers": [c], "restartPolicy": restart, "dnsPolicy": "ClusterFirst"}
    if service_account:
        spec["serviceAccountName"] = service_account
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": {}}


@click.command("run", context_settings={"ignore_unknown_options": False})
@click.argument("name", required=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--image", default="", help="The container image.")
@click.option("--restart", default="Always", show_default=True, help="Always, OnFailure or Never.")
@click.option("--port", type=int, default=None, help="The port the container exposes.")
@click.option("-l", "--labels", default="", help="Comma separated labels, e.g. app=web,tier=front.")
@click.option("--annotations", "annotations", multiple=True, help="key=value annotations.")
@click.option("--env", "env", multiple=True, help="KEY=VALUE environment variables.")
@click.option("--command", "use_command", is_flag=True,
              help="The words after -- are the command, not the image's arguments.")
@click.option("--image-pull-policy", default="", help="Always, IfNotPresent or Never.")
@click.option("--serviceaccount", "service_account", default="")
@click.option("--dry-run", "dry_run", default="none", flag_value="client", is_flag=False,
              help="none, client or server: client prints the Pod without creating it.")
@click.option("-o", "--output", type=click.Choice(["json", "yaml", "name"]), default=None)
@click.option("-i", "--stdin", "stdin", is_flag=True, help="Keep stdin open on the container.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a TTY for the container.")
@click.option("--rm", "rm", is_flag=True, help="Delete the pod after it exits (attached runs only).")
@namespace_option
@click.pass_context
def run(ctx: click.Context, name: str | None, args: tuple[str, ...], image: str, restart: str,
        port: int | None, labels: str, annotations: tuple[str, ...], env: tuple[str, ...],
        use_command: bool, image_pull_policy: str, service_account: str, dry_run: str,
        output: str | None, stdin: bool, tty: bool, rm: bool, namespace: str | None) -> None:
    """Create and run a particular image in a pod.

    \b
    Examples:
      sudo podrun run web --image=nginx --port=80
      sudo podrun run web --image=nginx --restart=Never --dry-run=client -o yaml
      sudo podrun run sleeper --image=busybox --command -- sleep 3600
      sudo podrun run -it --rm shell --image=busybox --restart=Never -- sh
    """
    if not name:
        raise PodrunError("NAME is required for run")
    if not image:
        raise PodrunError('required flag(s) "image" not set')
    if dry_run not in ("none", "client", "server"):
        raise PodrunError(f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".')
    if rm and not (stdin or tty):
        raise PodrunError("--rm should only be used for attached containers")
    argv = list(args)
    if argv and argv[0] == "--":
        argv = argv[1:]
    ann: dict[str, str] = {}
    for a in annotations:
        ann.update(parse_pairs(a, "annotation"))
    pod = generate_pod(name, image, restart=restart, port=port, labels=parse_pairs(labels, "label"),
                       annotations=ann, env=env, args=argv, command=use_command,
                       image_pull_policy=image_pull_policy, stdin=stdin, tty=tty,
                       service_account=service_account)
    if dry_run == "client":
        if output in ("json", "yaml"):
            print_object(pod, output)
        elif output == "name":
            click.echo(f"pod/{name}")
        else:
            click.echo(f"pod/{name} created (dry run)")
        return
    from podrun.api import defaults
    body = defaults.apply_defaults({k: v for k, v in pod.items() if k != "status"})
    body["metadata"].pop("creationTimestamp", None)
    ns = namespace or "default"
    body["metadata"]["namespace"] = ns
    c = client(ctx)
    path = f"/api/v1/namespaces/{ns}/pods"
    if dry_run == "server":
        click.echo(f"pod/{name} created (server dry run)")
        return
    existing = None
    try:
        existing = c.get_pod(ns, name)
    except PodrunError:
        pass
    if existing is not None:
        raise PodrunError(f'Error from server (AlreadyExists): pods "{name}" already exists')
    created, _ = c.call("POST", path, body)
    if stdin or tty:
        sys.exit(_run_attached(ctx, ns, name, stdin, tty, rm))
    if output in ("json", "yaml"):
        obj = created if isinstance(created, dict) and created.get("kind") == "Pod" else c.get_pod(ns, name)
        print_object(obj, output)
    elif output == "name":
        click.echo(f"pod/{name}")
    else:
        click.echo(f"pod/{name} created")
    sys.stdout.flush()


def _run_attached(ctx: click.Context, ns: str, name: str, stdin: bool, tty: bool, rm: bool) -> int:
    """kubectl run -i/-t: wait for the container to run, attach (a pod already finished shows
    its logs instead), delete it with --rm, and end with the container's exit code."""
    import time

    from podrun.cli.attach import PROMPT_HINT, attach_session
    c = client(ctx)
    deadline = time.monotonic() + 120
    while True:
        pod = c.get_pod(ns, name)
        st = (pod.get("status") or {}).get("containerStatuses") or [{}]
        state = st[0].get("state", {})
        if "running" in state or pod["status"].get("phase") in ("Succeeded", "Failed"):
            break
        if time.monotonic() > deadline:
            raise PodrunError("timed out waiting for the condition")
        time.sleep(0.05)
    code: int | None = None
    if "running" in state:
        if tty and stdin:
            click.echo(PROMPT_HINT, err=True)
        code = attach_session(ctx, ns, name, name, stdin, tty)
    if code is None:  # finished before we could attach: kubectl shows the logs
        from podrun.cli.logs import logs
        ctx.invoke(logs, pod=name, container=name, namespace=ns)
    cs = (c.get_pod(ns, name)["status"].get("containerStatuses") or [{}])[0]
    term = (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
    if code is None:
        code = int(term.get("exitCode", 0))
    if rm:
        c.call("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}")
        click.echo(f'pod "{name}" deleted')
    if code:
        click.echo(f"pod {ns}/{name} terminated ({term.get('reason') or 'Error'})", err=True)
    return code


COMMANDS = [run]
