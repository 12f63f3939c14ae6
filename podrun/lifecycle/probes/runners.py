"""Probe runners: run one probe once, exactly as the kubelet's `runProbe` does (`prober.go`).

    exec       execprobe.py   host.exec_in_container(command, timeoutSeconds)   pkg/probe/exec
    httpGet    httpprobe.py   GET from the daemon to the pod IP (httpget.py)     pkg/probe/http
    tcpSocket  tcpprobe.py    connect from the daemon to the pod IP              pkg/probe/tcp
    grpc       grpcprobe.py   grpc.health.v1.Health/Check on the pod IP          pkg/probe/grpc

What they share (the ProbeHost seam, ProbeError, RunProbe, Go's words) is in base.py.
"""
from __future__ import annotations

from podrun.lifecycle.probes.base import ProbeError, ProbeHost, RunProbe, format_pod
from podrun.lifecycle.probes.execprobe import exec_probe
from podrun.lifecycle.probes.grpcprobe import grpc_probe
from podrun.lifecycle.probes.httpprobe import http_probe
from podrun.lifecycle.probes.results import Result
from podrun.lifecycle.probes.tcpprobe import tcp_probe

__all__ = ["Prober", "ProbeHost", "ProbeError", "RunProbe"]


class Prober:
    """The real RunProbe for one container: dispatch on the probe's handler (prober.go runProbe)."""

    def __init__(self, host: ProbeHost):
        self.host = host

    async def __call__(self, kind: str, probe: dict) -> tuple[Result, str]:
        if probe.get("exec") is not None:
            return await exec_probe(self.host, probe)
        if probe.get("httpGet") is not None:
            return await http_probe(self.host, probe)
        if probe.get("tcpSocket") is not None:
            return await tcp_probe(self.host, probe)
        if probe.get("grpc") is not None:
            return await grpc_probe(self.host, probe)
        raise ProbeError(f"missing probe handler for {format_pod(self.host.pod)}:{self.host.spec.get('name', '')}")
