"""ProbeWorker: one probe of one container run, probed on a ticker (kubelet `prober/worker.go`).

    run():      do_probe() at once, then again on every periodSeconds tick or manual trigger,
                until do_probe() says stop or stop() is called
    do_probe(): on hold?  → skip                 (after liveness/startup failed: wait for a new run)
                pod deleting and liveness/startup → publish Success and stop (quiet shutdown)
                within initialDelaySeconds of the start → skip
                started? startup stops probing; not started? liveness/readiness wait (startup gates)
                probe (prober.go probe: retries on errors, events) → errors are thrown away
                count consecutive equal results; publish at success/failureThreshold
                liveness/startup Failure → on hold

The published result goes to the ResultsManager, which tells the ProbeManager about changes.
The container-ID bookkeeping of upstream is not needed: a worker lives for one container run.
"""
from __future__ import annotations

import asyncio
from typing import Callable

from podrun.lifecycle.probes.results import LIVENESS, READINESS, STARTUP, Result, ResultsManager
from podrun.lifecycle.probes.runners import ProbeError, ProbeHost, RunProbe

__all__ = ["ProbeWorker", "INITIAL_RESULT", "MAX_PROBE_RETRIES"]

# worker.go newWorker: the value published before the first probe.
INITIAL_RESULT = {READINESS: Result.FAILURE, LIVENESS: Result.SUCCESS, STARTUP: Result.UNKNOWN}
MAX_PROBE_RETRIES = 3           # prober.go maxProbeRetries (retried only on prober errors)


class ProbeWorker:
    def __init__(self, kind: str, probe: dict, host: ProbeHost, results: ResultsManager,
                 run_probe: RunProbe, started: Callable[[], bool], started_at: float):
        self.kind = kind
        self.probe = probe
        self.host = host
        self.results = results
        self.run_probe = run_probe
        self._started = started               # the container counts as started (startup gate)
        self.started_at = started_at          # Clock.monotonic() when the container started
        self.last_result: Result | None = None
        self.result_run = 0                   # how many times in a row last_result came back
        self.on_hold = False
        self._trigger = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def initial_result(self) -> Result:
        return INITIAL_RESULT[self.kind]

    def start(self) -> asyncio.Task:
        if self._task is None:
            self._task = asyncio.ensure_future(self.run())
        return self._task

    def stop(self) -> None:
        """Idempotent; a probe in flight is cancelled."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def trigger(self) -> None:
        """Probe now (prober_manager manualTriggerCh, buffer 1: triggers coalesce)."""
        self._trigger.set()

    async def wait_stopped(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        period = float(self.probe.get("periodSeconds") or 10)
        next_tick = self.host.clock.monotonic() + period
        while await self.do_probe():
            next_tick = await self._wait_tick(next_tick, period)

    async def _wait_tick(self, next_tick: float, period: float) -> float:
        """Wait for the ticker or a manual trigger; the next tick time.

        Like Go's time.Ticker the ticks keep their phase and at most one missed tick is pending.
        """
        clock = self.host.clock
        now = clock.monotonic()
        if next_tick <= now:                  # a tick came while probing: it is pending
            while next_tick <= now:
                next_tick += period
            return next_tick
        sleeper = asyncio.ensure_future(clock.sleep(next_tick - now))
        trigger = asyncio.ensure_future(self._trigger.wait())
        try:
            await asyncio.wait({sleeper, trigger}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            trigger.cancel()
        if sleeper.done() and not sleeper.cancelled():
            return next_tick + period         # a pending trigger stays set for the next round
        self._trigger.clear()
        return next_tick

    async def do_probe(self) -> bool:
        """Probe once and record the result; whether to keep going (worker.go doProbe)."""
        if self.on_hold:                      # until a new container run (a new worker here)
            return True
        # Graceful shutdown of the pod: a last Success keeps liveness/startup quiet.
        if self.host.is_deleting() and self.kind in (LIVENESS, STARTUP):
            self.results.set(self.kind, Result.SUCCESS)
            return False
        delay = int(self.probe.get("initialDelaySeconds") or 0)
        if int(self.host.clock.monotonic() - self.started_at) < delay:
            return True
        if self._started():
            if self.kind == STARTUP:          # startup probing ends once the container started
                return True
        elif self.kind != STARTUP:            # liveness and readiness wait for startup
            return True

        result = await self._probe()
        if result is None:                    # prober error: throw the result away
            return True
        if result is self.last_result:
            self.result_run += 1
        else:
            self.last_result, self.result_run = result, 1
        if ((result is Result.FAILURE and self.result_run < int(self.probe.get("failureThreshold") or 3))
                or (result is Result.SUCCESS and self.result_run < int(self.probe.get("successThreshold") or 1))):
            return True                       # below the threshold: the published value stays
        self.results.set(self.kind, result)
        if self.kind in (LIVENESS, STARTUP) and result is Result.FAILURE:
            # The container will be killed; stop probing it (worker.go: onHold until a new ID).
            self.on_hold, self.result_run = True, 0
        return True

    async def _probe(self) -> Result | None:
        """prober.go probe: run with retries on errors; events; Warning counts as Success."""
        name = self.kind.capitalize()
        error: ProbeError | None = None
        for _ in range(MAX_PROBE_RETRIES):
            try:
                result, output = await self.run_probe(self.kind, self.probe)
                break
            except ProbeError as exc:
                error = exc
        else:
            assert error is not None
            self.host.report_event("Warning", "Unhealthy",
                                   f"{name} probe errored and resulted in {error.result} state: {error}")
            return None
        if result is Result.SUCCESS:
            return Result.SUCCESS
        if result is Result.WARNING:
            self.host.report_event("Warning", "ProbeWarning", f"{name} probe warning: {output}")
            return Result.SUCCESS
        if result is Result.FAILURE:
            self.host.report_event("Warning", "Unhealthy", f"{name} probe failed: {output}")
        return Result.FAILURE                 # Failure, and Unknown without an event
