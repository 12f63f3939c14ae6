"""`podrun top pod|node`: resource (CPU/memory) usage, as kubectl top prints it.

Ports kubectl/pkg/cmd/top/top.go (the group, `unknown command`), top_pod.go (flags, Validate,
RunTopPod, verifyEmptyMetrics, checkPodAge) and top_node.go; the tables are
podrun/printers/top.py. Pod usage comes from the daemon's metrics.k8s.io/v1beta1 API; node
usage is sampled here from /proc (this machine is the node), so `top node` needs no daemon.
"""
from __future__ import annotations

import socket
import time

import click

from podrun.cli.common import client, namespace_option, now
from podrun.cli.completion import complete_pod_names
from podrun.client import ApiError, Client
from podrun.errors import PodrunError

__all__ = ["COMMANDS", "top", "parse_cpu_times", "parse_meminfo", "node_metrics", "node_allocatable"]

# top_pod.go metricsCreationDelay: younger pods may simply not have been measured yet
METRICS_CREATION_DELAY = 120.0
NODE_SAMPLE_SECONDS = 0.5
_ALIASES = {"pods": "pod", "po": "pod", "nodes": "node", "no": "node"}


class TopGroup(click.Group):
    """`top pod` / `top node` with cobra's aliases, and kubectl's error for any other word."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, _ALIASES.get(name, name))

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        # top.go runs cmdutil.DefaultSubCommandRun: RequireNoArguments -> `unknown command "x"`
        word = args[0] if args else ""
        if not ctx.resilient_parsing and word and not word.startswith("-") and not self.get_command(ctx, word):
            raise PodrunError(f'unknown command "{" ".join(args)}"')
        return super().resolve_command(ctx, args)


@click.group("top", cls=TopGroup, invoke_without_command=True)
@click.pass_context
def top(ctx: click.Context) -> None:
    """Display resource (CPU/memory) usage of pods or of this node.

    \b
    Examples:
      sudo podrun top pod
      sudo podrun top node
    """
    if ctx.invoked_subcommand is None:  # cmdutil.DefaultSubCommandRun: the help, then exit 1
        click.echo(ctx.get_help(), err=True)
        ctx.exit(1)


def _validate(names: tuple[str, ...], selector: str, sort_by: str) -> None:
    """top_pod.go ToOptions + Validate, with kubectl's messages."""
    if len(names) > 1:
        raise PodrunError(f"unexpected arguments: [{' '.join(names[1:])}]")
    if sort_by and sort_by not in ("cpu", "memory"):
        raise PodrunError("--sort-by accepts only cpu or memory")
    if names and selector:
        raise PodrunError("only one of NAME or selector can be provided")


def _fetch(c: Client, ns: str | None, name: str | None, selector: str) -> list[dict]:
    """getMetricsFromMetricsAPI; a daemon without the API answers 404 with no NotFound Status."""
    try:
        return c.pod_metrics(ns, name, selector)
    except ApiError as exc:
        if exc.code == 404 and (not name or exc.reason != "NotFound"):
            raise PodrunError("Metrics API not available") from exc
        raise


def _why_empty(c: Client, ns: str | None, selector: str, at: float) -> PodrunError | None:
    """verifyEmptyMetrics: None when there are no pods at all, else why they have no metrics.

    kubectl lists the context namespace even with -A; podrun lists what -A asked for."""
    from podrun.printers.duration import timestamp
    from podrun.printers.top import go_duration
    pods = c.list_pods(ns, selector)
    if not pods:
        return None
    for pod in pods:
        meta = pod.get("metadata") or {}
        created = timestamp(meta.get("creationTimestamp"))
        age = at - created if created is not None else 0.0
        if age > METRICS_CREATION_DELAY:  # checkPodAge
            return PodrunError(f"Metrics not available for pod {meta.get('namespace')}/{meta.get('name')}, "
                               f"age: {go_duration(age)}")
    return PodrunError("metrics not available yet")


def _complete_one_pod(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """NAME takes extra words only to refuse them like kubectl; complete the first one only."""
    return [] if ctx.params.get("names") else complete_pod_names(ctx, param, incomplete)


@top.command("pod")
@click.argument("names", nargs=-1, metavar="[NAME | -l label]", shell_complete=_complete_one_pod)
@namespace_option
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option("-l", "--selector", default="", help="Label selector, e.g. app=web,tier=front.")
@click.option("--containers", is_flag=True, help="Print the usage of each container within a pod.")
@click.option("--sort-by", default="", metavar="cpu|memory", help="Sort pods by cpu or memory usage.")
@click.option("--no-headers", is_flag=True, help="Print output without headers.")
@click.option("--sum", "show_sum", is_flag=True, help="Print the sum of the resource usage.")
@click.pass_context
def top_pod(ctx: click.Context, names: tuple[str, ...], namespace: str | None, all_namespaces: bool,
            selector: str, containers: bool, sort_by: str, no_headers: bool, show_sum: bool) -> None:
    """Display resource (CPU/memory) usage of pods.

    A pod that has only just started may have no metrics yet.

    \b
    Examples:
      sudo podrun top pod
      sudo podrun top pod web --containers
      sudo podrun top pod -A --sort-by=memory --sum
      sudo podrun top pod -l app=web
    """
    from podrun.printers.top import pod_metrics_table
    _validate(names, selector, sort_by)
    c = client(ctx)
    ns = None if all_namespaces else (namespace or "default")
    name = names[0] if names else None
    items = _fetch(c, ns, name, selector)
    if not items:
        reason = _why_empty(c, ns, selector, now())
        if reason:
            raise reason
        click.echo(f"No resources found in {ns} namespace." if ns else "No resources found", err=True)
        return
    text = pod_metrics_table(items, containers=containers, all_namespaces=all_namespaces,
                             no_headers=no_headers, sort_by=sort_by, show_sum=show_sum)
    click.echo(text, nl=False)


# -- top node: this machine, sampled from /proc ---------------------------------------------

def parse_cpu_times(stat: str) -> tuple[int, int, int]:
    """/proc/stat -> (busy jiffies, total jiffies, online cpus); iowait counts as idle."""
    busy = total = cpus = 0
    for line in stat.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("cpu"):
            continue
        if fields[0] != "cpu":
            cpus += 1
            continue
        # user nice system idle iowait irq softirq steal (guest time is inside user already)
        ticks = [int(x) for x in fields[1:9]]
        total = sum(ticks)
        busy = total - ticks[3] - ticks[4]
    return busy, total, cpus


def parse_meminfo(meminfo: str) -> dict[str, int]:
    """/proc/meminfo -> {"MemTotal": kib, ...}."""
    out = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        value = rest.split()
        if value and value[0].isdigit():
            out[key.strip()] = int(value[0])
    return out


def node_metrics(name: str, stat0: str, stat1: str, meminfo: str) -> dict:
    """A metrics.k8s.io NodeMetrics from two /proc/stat samples and /proc/meminfo. Memory is
    MemTotal - MemAvailable, close to the kubelet's node working set."""
    busy0, total0, _ = parse_cpu_times(stat0)
    busy1, total1, cpus = parse_cpu_times(stat1)
    elapsed = total1 - total0
    nanocores = (busy1 - busy0) * cpus * 10**9 // elapsed if elapsed > 0 else 0
    mem = parse_meminfo(meminfo)
    used_kib = mem.get("MemTotal", 0) - mem.get("MemAvailable", mem.get("MemFree", 0))
    return {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {"name": name},
            "usage": {"cpu": f"{max(nanocores, 0)}n", "memory": f"{max(used_kib, 0)}Ki"}}


def node_allocatable(stat: str, meminfo: str) -> dict[str, str]:
    """The node's status.allocatable as podrun reserves nothing: every cpu, all memory."""
    return {"cpu": str(parse_cpu_times(stat)[2]), "memory": f"{parse_meminfo(meminfo).get('MemTotal', 0)}Ki"}


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


@top.command("node")
@click.argument("names", nargs=-1, metavar="[NAME]")
@click.option("--sort-by", default="", metavar="cpu|memory", help="Sort nodes by cpu or memory usage.")
@click.option("--no-headers", is_flag=True, help="Print output without headers.")
def top_node(names: tuple[str, ...], sort_by: str, no_headers: bool) -> None:
    """Display resource (CPU/memory) usage of this node, measured over half a second.

    \b
    Example:
      sudo podrun top node
    """
    from podrun.printers.top import node_metrics_table
    _validate(names, "", sort_by)
    node = socket.gethostname()  # the daemon's node name
    if names and names[0] != node:
        raise ApiError(404, "NotFound", f'nodemetrics.metrics.k8s.io "{names[0]}" not found')
    stat0 = _read("/proc/stat")
    time.sleep(NODE_SAMPLE_SECONDS)
    stat1, meminfo = _read("/proc/stat"), _read("/proc/meminfo")
    metrics = node_metrics(node, stat0, stat1, meminfo)
    text = node_metrics_table([metrics], {node: node_allocatable(stat1, meminfo)},
                              no_headers=no_headers, sort_by=sort_by)
    click.echo(text, nl=False)


COMMANDS = [top]
