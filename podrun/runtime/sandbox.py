"""The pod sandbox: a pause process holding the pod's net, ipc and uts (and shared pid)
namespaces, plus the pod's /etc/hosts, /etc/hostname and /etc/resolv.conf files.

Started with the same fork/sync machinery as containers (runtime/launcher.py): the plan asks
the intermediate child to unshare the namespaces, set the hostname and bring lo up, and the
grandchild execs the pause binary (runtime/pause/). With shareProcessNamespace the pause is PID
1 of the pod's PID namespace and reaps its zombies. Writes sandbox.json (runtime/state.py).
With a PodNetwork the pause's netns gets its eth0 and IP (runtime/podnet.py) and the pod files
are rewritten with that IP. hostNetwork pods get no net and no uts namespace (the kubelet shares
the node's UTS with them too): the pod IP is the host's, /etc/hosts the node's.

The pause has a root of its own (issue 12): in a private mount namespace it pivots into an
empty read-only tmpfs, closes its fds and drops to 65535 with no capabilities (pause.c), so a
container sharing its PID namespace with SYS_PTRACE finds nothing of the host behind
/proc/1/root, /proc/1/cwd or /proc/1/fd. Start-up waits for the pause to say it is done.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
from typing import TYPE_CHECKING

from podrun.errors import ContainerCreateError
from podrun.kernel import namespaces, procs
from podrun.runtime import state, sync
from podrun.runtime.launcher import Launched, launch
from podrun.runtime.plan import LaunchPlan, Stdio
from podrun.runtime.state import SandboxInfo

if TYPE_CHECKING:
    from podrun.runtime.podcgroups import PodCgroups
    from podrun.runtime.podnet import PodNetwork

__all__ = ["SandboxInfo", "start_sandbox", "stop_sandbox", "pod_hostname", "pod_domain",
           "hosts_file_content", "node_hosts_file_content", "resolv_conf_content", "write_pod_files",
           "pause_plan"]

CLUSTER_DOMAIN = "cluster.local"
PAUSE_ISOLATION_TIMEOUT = 10.0


def pod_hostname(pod: dict) -> str:
    """kubelet `GeneratePodHostNameAndDomain` + `truncatePodHostnameIfNeeded`."""
    name = (pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"]
    if len(name) > 63:
        name = name[:63].rstrip("-.")
    return name


def pod_domain(pod: dict) -> str:
    sub = (pod.get("spec") or {}).get("subdomain")
    if not sub:
        return ""
    return f"{sub}.{pod['metadata'].get('namespace', 'default')}.svc.{CLUSTER_DOMAIN}"


def hosts_file_content(hostname: str, domain: str, pod_ips: list[str], host_aliases: list[dict]) -> str:
    """kubelet `kubelet_pods.go` managedHostsFileContent + hostsEntriesFromHostAliases."""
    out = ["# Kubernetes-managed hosts file.\n",
           "127.0.0.1\tlocalhost\n",
           "::1\tlocalhost ip6-localhost ip6-loopback\n",
           "fe00::0\tip6-localnet\n",
           "fe00::0\tip6-mcastprefix\n",
           "fe00::1\tip6-allnodes\n",
           "fe00::2\tip6-allrouters\n"]
    for ip in pod_ips:
        out.append(f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n")
    if host_aliases:
        out.append("\n# Entries added by HostAliases.\n")
        for alias in host_aliases:
            out.append(f"{alias['ip']}\t" + "\t".join(alias.get("hostnames") or []) + "\n")
    return "".join(out)


def resolv_conf_content(pod: dict, host_resolv: str = "/etc/resolv.conf") -> str:
    """The host's resolv.conf for now; dnsPolicy None uses only spec.dnsConfig, and a dnsConfig
    on another policy is merged in (kubelet `dns.go` GetPodDNS / appendDNSConfig)."""
    spec = pod.get("spec") or {}
    cfg = spec.get("dnsConfig") or {}
    if spec.get("dnsPolicy") != "None" and not cfg:
        try:
            with open(host_resolv) as f:
                return f.read()
        except FileNotFoundError:
            return ""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    if spec.get("dnsPolicy") != "None":
        try:
            with open(host_resolv) as f:
                for line in f:
                    words = line.split()
                    if not words or words[0].startswith(("#", ";")):
                        continue
                    if words[0] == "nameserver":
                        servers += words[1:2]
                    elif words[0] in ("search", "domain"):
                        searches += words[1:]
                    elif words[0] == "options":
                        options += words[1:]
        except FileNotFoundError:
            pass
    servers += [s for s in cfg.get("nameservers") or [] if s not in servers]
    searches += [s for s in cfg.get("searches") or [] if s not in searches]
    for opt in cfg.get("options") or []:
        options.append(f"{opt['name']}:{opt['value']}" if opt.get("value") else opt["name"])
    lines = [f"nameserver {s}" for s in servers]
    if searches:
        lines.append("search " + " ".join(searches))
    if options:
        lines.append("options " + " ".join(options))
    return "".join(line + "\n" for line in lines)


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def node_hosts_file_content(host_aliases: list[dict], host_hosts: str = "/etc/hosts") -> str:
    """kubelet `kubelet_pods.go` nodeHostsFileContent: the node's file plus the hostAliases."""
    try:
        with open(host_hosts) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if text and not text.endswith("\n"):
        text += "\n"
    if host_aliases:
        text += "\n# Entries added by HostAliases.\n"
        for alias in host_aliases:
            text += f"{alias['ip']}\t" + "\t".join(alias.get("hostnames") or []) + "\n"
    return text


def write_pod_files(pod: dict, pod_dir: str, pod_ip: str | None = None) -> dict[str, str]:
    """Write hosts, hostname and resolv.conf under pod_dir; rewrite when the pod IP is known.

    Replaced atomically; containers see the new content only on their next start (a bind
    mount pins the inode), as with the kubelet.
    """
    spec = pod.get("spec") or {}
    host_network = bool(spec.get("hostNetwork"))
    hostname = socket.gethostname() if host_network else pod_hostname(pod)
    files = {name: os.path.join(pod_dir, name) for name in ("hosts", "hostname", "resolv.conf")}
    os.makedirs(pod_dir, exist_ok=True)
    if host_network:
        _write(files["hosts"], node_hosts_file_content(spec.get("hostAliases") or []))
    else:
        _write(files["hosts"], hosts_file_content(hostname, pod_domain(pod), [pod_ip] if pod_ip else [],
                                                  spec.get("hostAliases") or []))
    _write(files["hostname"], hostname + "\n")
    _write(files["resolv.conf"], resolv_conf_content(pod))
    return files


async def start_sandbox(pod: dict, pod_dir: str, pause_binary: str,
                        network: "PodNetwork | None" = None,
                        cgroups: "PodCgroups | None" = None) -> SandboxInfo:
    """Start the pause process in fresh net/ipc/uts (+pid) namespaces and write sandbox.json.

    Step 1 the pod files and the pod cgroup (the pause in its own leaf), step 2 the pause
    process, step 3 its network (veth, IP) and the pod files again with the IP, step 4
    sandbox.json. A failed step undoes the ones before it.
    """
    files = write_pod_files(pod, pod_dir)
    pod_cg = cgroups.create_pod(pod) if cgroups is not None else None
    try:
        return await _start(pod, pod_dir, pause_binary, network, files, pod_cg, cgroups)
    except BaseException:
        if pod_cg is not None and cgroups is not None:
            await cgroups.remove_pod(pod_cg.path)
        raise


async def _start(pod: dict, pod_dir: str, pause_binary: str, network: "PodNetwork | None",
                 files: dict[str, str], pod_cg, cgroups: "PodCgroups | None") -> SandboxInfo:
    spec = pod.get("spec") or {}
    shares_pid = bool(spec.get("shareProcessNamespace"))
    host_network = bool(spec.get("hostNetwork"))
    uid = (pod.get("metadata") or {}).get("uid", "")
    hostname = socket.gethostname() if host_network else pod_hostname(pod)
    pause_procs = cgroups.child(pod_cg.path, "pause", devices=False).procs_files() if cgroups is not None else []
    kinds = (["ipc"] if host_network else ["net", "ipc", "uts"]) + (["pid"] if shares_pid else [])
    plan = pause_plan(pause_binary, kinds, None if host_network else hostname, pause_procs)
    launched = await launch(plan)
    await _until_isolated(launched)
    info = SandboxInfo(
        pause_pid=launched.pid, pause_start_time=launched.start_time,
        ns_paths={k: namespaces.ns_path(launched.pid, k) for k in kinds},
        hostname=hostname, shares_pid=shares_pid, files=files, pod_uid=uid, host_network=host_network,
        host_ip=network.host_ip if network else None)
    if pod_cg is not None:
        info.extra["cgroup"] = pod_cg.path
    if host_network:
        info.pod_ip = info.host_ip
    elif network is not None:
        try:
            info.pod_ip = await network.setup(uid, launched.pid)
        except BaseException:
            await _kill_pause(info)
            raise
        from podrun.runtime.podnet import veth_name  # pyroute2 stays out of the CLI's imports
        info.extra["veth"] = veth_name(uid)
        info.extra["bridge"] = network.bridge
        write_pod_files(pod, pod_dir, info.pod_ip)
    state.save_sandbox(os.path.join(pod_dir, "sandbox.json"), info)
    return info


def pause_plan(pause_binary: str, kinds: list[str], hostname: str | None,
               cgroup_procs: list[str]) -> LaunchPlan:
    """The pause in the pod's namespaces and a mount namespace of its own, where it mounts an
    empty read-only root over its own directory and pivots into it (pause.c `--root`): its
    root, cwd and fds lead nowhere on the host. Containers never join that mount namespace."""
    return LaunchPlan(argv=[pause_binary, "--root", os.path.dirname(pause_binary)], env=[], cwd="/",
                      new_ns=list(kinds) + ["mnt"], hostname=hostname, loopback_up=hostname is not None,
                      stdio=Stdio("null", "pipe", "null"), name="podrun:sandbox",
                      cgroup_procs=list(cgroup_procs))


async def _until_isolated(launched: Launched) -> None:
    """The pause closes its stdout once it has its own root and no privileges; anything it
    wrote first is why it could not. A pause that could not is killed and reaped."""
    fd = launched.stdout_fd
    assert fd is not None
    try:
        said = (await asyncio.wait_for(sync.read_all(fd), PAUSE_ISOLATION_TIMEOUT)).decode(errors="replace")
    except asyncio.TimeoutError:
        said = f"pause: not isolated after {PAUSE_ISOLATION_TIMEOUT:g}s"
    finally:
        os.close(fd)
    if not said and procs.alive(launched.ref):
        return
    if procs.read_start_time(launched.pid) == launched.start_time:
        procs.send_signal(launched.ref, signal.SIGKILL)
    await procs.wait_exit(launched.pid)
    raise ContainerCreateError("sandbox", "isolate", "pause", 0, said.strip() or "pause exited")


async def _kill_pause(info: SandboxInfo) -> None:
    ref = info.pause
    if procs.read_start_time(ref.pid) == ref.start_time:
        procs.send_signal(ref, signal.SIGKILL)
        await procs.wait_exit(ref.pid)


async def stop_sandbox(info: SandboxInfo, network: "PodNetwork | None" = None,
                       cgroups: "PodCgroups | None" = None) -> None:
    """Tear down the pod network, SIGKILL the pause if it is still the one we started, reap it,
    remove the pod files.

    Idempotent: a gone (or reused) pid is left alone and the files are removed anyway. With a
    shared PID namespace killing its PID 1 kills every process in it. The veth is deleted
    before the pause dies: the kernel would remove it with the namespace, but only later, from
    a work queue. The pause is killed even when the network teardown fails.
    """
    try:
        if network is not None and info.pod_uid and not info.host_network:
            await network.teardown(info.pod_uid)
    finally:
        await _kill_pause(info)
        if cgroups is not None and info.extra.get("cgroup"):
            await cgroups.remove_pod(info.extra["cgroup"])  # and whatever a container left in it
        for path in info.files.values():
            state.remove(path)
        if info.files.get("hosts"):  # the files live in the pod dir, beside sandbox.json
            state.remove(os.path.join(os.path.dirname(info.files["hosts"]), "sandbox.json"))
