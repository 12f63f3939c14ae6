"""Liveness, readiness and startup probes (kubelet `pkg/kubelet/prober`, `pkg/probe`).

    manager.py   ProbeManager: the probes of one container run, results → the pod's update queue
    worker.py    ProbeWorker: one probe on a ticker; thresholds, startup gating, on hold
    results.py   Result, ResultsManager (publishes changes only), ProbeUpdate
    runners.py   exec / httpGet / tcpSocket runners, ProbeHost (the seam), ProbeError
"""
from podrun.lifecycle.probes.manager import ProbeManager
from podrun.lifecycle.probes.results import LIVENESS, READINESS, STARTUP, Result, ResultsManager
from podrun.lifecycle.probes.runners import ProbeError, ProbeHost, Prober, RunProbe, close_http_session
from podrun.lifecycle.probes.worker import ProbeWorker

__all__ = ["ProbeManager", "ProbeWorker", "ProbeHost", "Prober", "RunProbe", "ProbeError", "Result",
           "ResultsManager", "LIVENESS", "READINESS", "STARTUP", "close_http_session"]
