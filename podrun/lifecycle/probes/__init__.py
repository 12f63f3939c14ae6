"""Liveness, readiness and startup probes (kubelet `pkg/kubelet/prober`, `pkg/probe`).

    manager.py   ProbeManager: the probes of one container run, results → the pod's update queue
    worker.py    ProbeWorker: one probe on a ticker; thresholds, startup gating, on hold
    results.py   Result, ResultsManager (publishes changes only), ProbeUpdate
    runners.py   Prober: dispatch on the handler to execprobe / httpprobe / tcpprobe / grpcprobe
    base.py      ProbeHost (the seam), ProbeError, Go's words; httpget.py the GET hooks share too
"""
from podrun.lifecycle.probes.manager import ProbeManager
from podrun.lifecycle.probes.results import LIVENESS, READINESS, STARTUP, Result, ResultsManager
from podrun.lifecycle.probes.base import ProbeError, ProbeHost, RunProbe
from podrun.lifecycle.probes.httpget import close_http_session
from podrun.lifecycle.probes.runners import Prober
from podrun.lifecycle.probes.worker import ProbeWorker

__all__ = ["ProbeManager", "ProbeWorker", "ProbeHost", "Prober", "RunProbe", "ProbeError", "Result",
           "ResultsManager", "LIVENESS", "READINESS", "STARTUP", "close_http_session"]
