"""ProbeManager: the probes of one container run (kubelet `prober_manager.go`, per container).

    start(id, started_at)   one ProbeWorker task per probe present (liveness, readiness, startup)
    results → updates       a ProbeUpdate(container, id, started, ready) on every change of
                            started or ready, and ProbeUpdate(..., failed=kind, probe) when
                            liveness/startup reached failureThreshold; the pod worker drains
                            the queue and decides (kill, restart) — nothing calls back into
                            the container's runner
    stop_liveness_and_startup()   pod terminating: quiet Success, readiness keeps running
    stop()                  idempotent, final: nothing is published afterwards

`started`: no startup probe, or it succeeded. `ready`: started and (no readiness probe, or its
last published result is Success) — prober_manager.go UpdatePodStatus.
"""
from __future__ import annotations

import asyncio

from podrun.lifecycle.probes.results import (
    LIVENESS, READINESS, STARTUP, ProbeUpdate, Result, ResultsManager, UpdateQueue,
)
from podrun.lifecycle.probes.runners import ProbeHost, Prober, RunProbe
from podrun.lifecycle.probes.worker import ProbeWorker

__all__ = ["ProbeManager"]


class ProbeManager:
    def __init__(self, host: ProbeHost, updates: UpdateQueue, run_probe: RunProbe | None = None):
        self.host = host
        self.updates = updates
        self.run_probe: RunProbe = run_probe or Prober(host)
        self.results = ResultsManager(self._on_update)
        self.workers: dict[str, ProbeWorker] = {}
        self.container_id: str | None = None
        self._reported_started = False
        self._reported_ready = False
        self._starting = False
        self._stopped = False

    # ---- state ----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        if self._stopped or self.container_id is None:
            return False
        return STARTUP not in self.workers or self.results.get(STARTUP) is Result.SUCCESS

    @property
    def ready(self) -> bool:
        if not self.started:
            return False
        return READINESS not in self.workers or self.results.get(READINESS) is Result.SUCCESS

    # ---- control --------------------------------------------------------------------------

    def start(self, container_id: str, started_at_monotonic: float) -> None:
        """Start the workers of this container run; reports started/ready at once when no probe gates them."""
        if self.container_id is not None or self._stopped:
            raise RuntimeError("ProbeManager.start: one manager per container run")
        self.container_id = container_id
        self._starting = True
        for kind in (STARTUP, READINESS, LIVENESS):    # prober_manager.go AddPod's order
            probe = self.host.spec.get(f"{kind}Probe")
            if probe:
                self.workers[kind] = ProbeWorker(kind, probe, self.host, self.results, self.run_probe,
                                                 lambda: self.started, started_at_monotonic)
        for kind, worker in self.workers.items():
            self.results.set(kind, worker.initial_result)
        self._starting = False
        self._report()
        for worker in self.workers.values():
            if not self._stopped:             # a callback above may have stopped us
                worker.start()

    def stop_liveness_and_startup(self) -> None:
        """The pod is terminating: liveness/startup end with a quiet Success (worker.go)."""
        for kind in (LIVENESS, STARTUP):
            worker = self.workers.get(kind)
            if worker is not None and not self._stopped:
                worker.stop()
                self.results.set(kind, Result.SUCCESS)

    def stop(self) -> None:
        """Idempotent and final: no callback fires afterwards."""
        self._stopped = True
        for worker in self.workers.values():
            worker.stop()

    async def wait_stopped(self) -> None:
        await asyncio.gather(*(w.wait_stopped() for w in self.workers.values()))

    # ---- results → updates -----------------------------------------------------------------

    def _publish(self, failed: str | None = None, probe: dict | None = None) -> None:
        self.updates.put_nowait(ProbeUpdate(self.host.spec.get("name", ""), self.container_id or "",
                                            self.started, self.ready, failed, probe))

    def _on_update(self, kind: str, result: Result) -> None:
        if self._starting or self._stopped:
            return
        if kind in (LIVENESS, STARTUP) and result is Result.FAILURE:
            self._publish(kind, self.workers[kind].probe)
        if kind == STARTUP and result is Result.SUCCESS:
            readiness = self.workers.get(READINESS)
            if readiness is not None and self.results.get(READINESS) is not Result.SUCCESS:
                # prober_manager.go UpdatePodStatus: no readiness Success yet → probe right away,
                # so the container turns ready right after its startup probe succeeded.
                readiness.trigger()
        self._report()

    def _report(self) -> None:
        if self._stopped:
            return
        started, ready = self.started, self.ready
        if started != self._reported_started or ready != self._reported_ready:
            self._reported_started, self._reported_ready = started, ready
            self._publish()
