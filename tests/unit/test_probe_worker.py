"""ProbeWorker / ProbeManager against a FakeClock and a scripted runner (kubelet worker_test.go)."""
from __future__ import annotations

import asyncio

import pytest

from podrun.clock import FakeClock
from podrun.lifecycle.probes import LIVENESS, READINESS, STARTUP, ProbeError, ProbeManager, Result
from podrun.lifecycle.probes.results import ResultsManager
from podrun.lifecycle.probes.worker import ProbeWorker


def probe(**fields) -> dict:
    """A defaulted v1 Probe (SetDefaults_Probe) with an exec handler."""
    base = {"exec": {"command": ["true"]}, "timeoutSeconds": 1, "periodSeconds": 10,
            "successThreshold": 1, "failureThreshold": 3, "initialDelaySeconds": 0}
    return {**base, **fields}


class FakeHost:
    def __init__(self, **probes: dict):
        self.spec = {"name": "app", "image": "busybox", **{f"{k}Probe": v for k, v in probes.items()}}
        self.pod = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
                    "spec": {"containers": [self.spec]}}
        self.clock = FakeClock()
        self.deleting = False
        self.events: list[tuple[str, str, str]] = []
        self.exec_result: tuple[int, bytes] | BaseException = (0, b"")

    def pod_ip(self) -> str | None:
        return "127.0.0.1"

    def is_deleting(self) -> bool:
        return self.deleting

    async def exec_in_container(self, argv, timeout):
        if isinstance(self.exec_result, BaseException):
            raise self.exec_result
        return self.exec_result

    def report_event(self, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


class ScriptedRunner:
    """The fake prober: per kind a fixed outcome or a list consumed in order (last one repeats)."""

    def __init__(self, clock: FakeClock, **outcomes):
        self.clock = clock
        self.outcomes = {k: (v if isinstance(v, list) else [v]) for k, v in outcomes.items()}
        self.calls: dict[str, list[float]] = {LIVENESS: [], READINESS: [], STARTUP: []}

    def set(self, kind: str, outcome) -> None:
        self.outcomes[kind] = [outcome]

    async def __call__(self, kind: str, probe: dict):
        self.calls[kind].append(self.clock.monotonic())
        queue = self.outcomes.get(kind, [Result.SUCCESS])
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, Exception):
            raise outcome
        return (outcome, "") if isinstance(outcome, Result) else outcome


class Recorder:
    """The pod worker's end of the results queue: what the manager published, in order."""

    def __init__(self):
        self.ready: list[bool] = []
        self.started = 0
        self.failures: list[str] = []
        self._ready = False

    def put_nowait(self, update) -> None:
        if update.failed:
            self.failures.append(update.failed)
            return
        if update.started and not self.started:
            self.started += 1
        if update.ready != self._ready:
            self._ready = update.ready
            self.ready.append(update.ready)

    def manager(self, host: FakeHost, runner: ScriptedRunner) -> ProbeManager:
        return ProbeManager(host, self, run_probe=runner)


def run(coro):
    return asyncio.run(coro)


# ---- do_probe, table-driven like TestDoProbe -----------------------------------------------

def make_worker(kind: str, host: FakeHost, runner: ScriptedRunner, started: bool = True,
                **fields) -> tuple[ProbeWorker, ResultsManager]:
    results = ResultsManager(lambda k, r: None)
    worker = ProbeWorker(kind, probe(**fields), host, results, runner, lambda: started,
                         host.clock.monotonic())
    results.set(kind, worker.initial_result)
    return worker, results


@pytest.mark.parametrize("kind,started,deleting,delay,expect_keep_going,expect_probed,expect_result", [
    # probing normally
    (LIVENESS, True, False, 0, True, True, Result.FAILURE),
    (READINESS, True, False, 0, True, True, Result.FAILURE),
    (STARTUP, False, False, 0, True, True, Result.FAILURE),
    # startup gates liveness and readiness; a started container is not startup-probed
    (LIVENESS, False, False, 0, True, False, Result.SUCCESS),
    (READINESS, False, False, 0, True, False, Result.FAILURE),
    (STARTUP, True, False, 0, True, False, Result.UNKNOWN),
    # within initialDelaySeconds nothing runs
    (LIVENESS, True, False, 5, True, False, Result.SUCCESS),
    # a deleting pod: liveness/startup publish Success and stop, readiness keeps probing
    (LIVENESS, True, True, 0, False, False, Result.SUCCESS),
    (STARTUP, False, True, 0, False, False, Result.SUCCESS),
    (READINESS, True, True, 0, True, True, Result.FAILURE),
])
def test_do_probe(kind, started, deleting, delay, expect_keep_going, expect_probed, expect_result):
    async def main():
        host = FakeHost()
        host.deleting = deleting
        runner = ScriptedRunner(host.clock, **{kind: Result.FAILURE})
        worker, results = make_worker(kind, host, runner, started=started, failureThreshold=1,
                                      initialDelaySeconds=delay)
        assert await worker.do_probe() is expect_keep_going
        assert bool(runner.calls[kind]) is expect_probed
        assert results.get(kind) is expect_result
    run(main())


def test_initial_results_are_readiness_failure_liveness_success_startup_unknown():
    host = FakeHost()
    runner = ScriptedRunner(host.clock)
    assert make_worker(READINESS, host, runner)[0].initial_result is Result.FAILURE
    assert make_worker(LIVENESS, host, runner)[0].initial_result is Result.SUCCESS
    assert make_worker(STARTUP, host, runner)[0].initial_result is Result.UNKNOWN


def test_failure_threshold_counts_consecutive_failures():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, liveness=[Result.FAILURE, Result.FAILURE, Result.SUCCESS,
                                                      Result.FAILURE, Result.FAILURE, Result.FAILURE])
        worker, results = make_worker(LIVENESS, host, runner, failureThreshold=3)
        for _ in range(5):
            await worker.do_probe()
            assert results.get(LIVENESS) is Result.SUCCESS     # a success broke the run
        await worker.do_probe()
        assert results.get(LIVENESS) is Result.FAILURE
        assert worker.on_hold and worker.result_run == 0
    run(main())


def test_success_threshold_counts_consecutive_successes():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, readiness=Result.SUCCESS)
        worker, results = make_worker(READINESS, host, runner, successThreshold=3)
        for _ in range(2):
            await worker.do_probe()
            assert results.get(READINESS) is Result.FAILURE
        await worker.do_probe()
        assert results.get(READINESS) is Result.SUCCESS
    run(main())


def test_prober_error_is_retried_and_not_counted():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, liveness=ProbeError("couldn't find port"))
        worker, results = make_worker(LIVENESS, host, runner, failureThreshold=1)
        for _ in range(3):
            assert await worker.do_probe()
        assert len(runner.calls[LIVENESS]) == 9                # maxProbeRetries = 3 per probe
        assert results.get(LIVENESS) is Result.SUCCESS
        assert worker.result_run == 0 and not worker.on_hold
        assert host.events[-1] == ("Warning", "Unhealthy",
                                   "Liveness probe errored and resulted in unknown state: couldn't find port")
    run(main())


def test_failed_probe_records_unhealthy_event_with_output():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, readiness=(Result.FAILURE, "HTTP probe failed with statuscode: 500"))
        worker, _ = make_worker(READINESS, host, runner)
        await worker.do_probe()
        assert host.events == [("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500")]
    run(main())


def test_warning_counts_as_success_with_probe_warning_event():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, readiness=(Result.WARNING, "Probe terminated redirects, Response body: x"))
        worker, results = make_worker(READINESS, host, runner)
        await worker.do_probe()
        assert results.get(READINESS) is Result.SUCCESS
        assert host.events == [("Warning", "ProbeWarning",
                                "Readiness probe warning: Probe terminated redirects, Response body: x")]
    run(main())


def test_unknown_counts_as_failure_without_event():
    async def main():
        host = FakeHost()
        runner = ScriptedRunner(host.clock, readiness=Result.UNKNOWN)
        worker, results = make_worker(READINESS, host, runner, successThreshold=1)
        runner.set(READINESS, Result.SUCCESS)
        await worker.do_probe()
        runner.set(READINESS, Result.UNKNOWN)
        await worker.do_probe()
        assert results.get(READINESS) is Result.SUCCESS     # one failure, threshold 3
        assert host.events == []
    run(main())


def test_exec_timeout_is_a_failure_with_the_kubelet_message():
    async def main():
        host = FakeHost(liveness=probe(exec={"command": ["sh", "-c", "sleep 5"]}, failureThreshold=1))
        host.exec_result = asyncio.TimeoutError()
        updates: asyncio.Queue = asyncio.Queue()
        manager = ProbeManager(host, updates)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(0.5)
        assert host.events == [("Warning", "Unhealthy", 'Liveness probe failed: command "sh -c sleep 5" timed out')]
        published = [updates.get_nowait() for _ in range(updates.qsize())]
        assert [(u.container, u.container_id, u.failed, u.probe) for u in published if u.failed] == [
            ("app", "c1", LIVENESS, host.spec["livenessProbe"])]
        manager.stop()
        await manager.wait_stopped()
    run(main())


# ---- timing on the FakeClock ------------------------------------------------------------------

def test_first_probe_at_once_then_every_period():
    async def main():
        host = FakeHost(readiness=probe(periodSeconds=10))
        runner = ScriptedRunner(host.clock, readiness=Result.SUCCESS)
        manager = Recorder().manager(host, runner)
        t0 = host.clock.monotonic()
        manager.start("c1", t0)
        await host.clock.advance(35)
        assert [round(t - t0) for t in runner.calls[READINESS]] == [0, 10, 20, 30]
        manager.stop()
    run(main())


def test_initial_delay_counts_from_the_container_start():
    async def main():
        host = FakeHost(liveness=probe(periodSeconds=2, initialDelaySeconds=5))
        runner = ScriptedRunner(host.clock)
        manager = Recorder().manager(host, runner)
        t0 = host.clock.monotonic()
        manager.start("c1", t0 - 1)          # the container started a second before the manager
        await host.clock.advance(3.5)
        assert runner.calls[LIVENESS] == []
        await host.clock.advance(3)
        assert [round(t - t0) for t in runner.calls[LIVENESS]] == [4, 6]
        manager.stop()
    run(main())


def test_no_probes_means_started_and_ready_at_once():
    async def main():
        host = FakeHost()
        rec = Recorder()
        manager = rec.manager(host, ScriptedRunner(host.clock))
        assert not manager.started and not manager.ready
        manager.start("c1", host.clock.monotonic())
        assert manager.started and manager.ready
        assert rec.started == 1 and rec.ready == [True]
        manager.stop()
    run(main())


def test_readiness_drives_ready_and_never_calls_on_failure():
    async def main():
        host = FakeHost(readiness=probe(periodSeconds=1, failureThreshold=1))
        runner = ScriptedRunner(host.clock, readiness=Result.SUCCESS)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        assert rec.started == 1 and rec.ready == [] and not manager.ready
        await host.clock.advance(0.5)
        assert rec.ready == [True]
        runner.set(READINESS, Result.FAILURE)
        await host.clock.advance(10)
        assert rec.ready == [True, False] and rec.failures == []
        assert len(runner.calls[READINESS]) == 11                # readiness keeps probing
        manager.stop()
    run(main())


def test_liveness_failure_calls_on_failure_once_then_holds():
    async def main():
        host = FakeHost(liveness=probe(periodSeconds=1, failureThreshold=3))
        runner = ScriptedRunner(host.clock, liveness=Result.FAILURE)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(30)
        assert rec.failures == [LIVENESS]
        assert len(runner.calls[LIVENESS]) == 3                  # on hold after the third failure
        assert [e[2] for e in host.events] == ["Liveness probe failed: "] * 3
        assert manager.ready                                     # liveness does not gate readiness
        manager.stop()
    run(main())


def test_startup_gates_liveness_and_readiness_until_it_succeeds():
    async def main():
        host = FakeHost(startup=probe(periodSeconds=1, failureThreshold=30),
                        liveness=probe(periodSeconds=1), readiness=probe(periodSeconds=1))
        runner = ScriptedRunner(host.clock, startup=[Result.FAILURE] * 3 + [Result.SUCCESS])
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(2.5)
        assert not manager.started and runner.calls[LIVENESS] == [] and runner.calls[READINESS] == []
        await host.clock.advance(1)
        assert manager.started and rec.started == 1
        assert len(runner.calls[STARTUP]) == 4
        await host.clock.advance(5)
        assert len(runner.calls[STARTUP]) == 4                   # startup probing ended
        assert runner.calls[LIVENESS] and runner.calls[READINESS]
        manager.stop()
    run(main())


def test_startup_failure_calls_on_failure():
    async def main():
        host = FakeHost(startup=probe(periodSeconds=1, failureThreshold=2), liveness=probe(periodSeconds=1))
        runner = ScriptedRunner(host.clock, startup=Result.FAILURE)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(10)
        assert rec.failures == [STARTUP] and len(runner.calls[STARTUP]) == 2
        assert runner.calls[LIVENESS] == [] and not manager.started
        manager.stop()
    run(main())


def test_ready_immediately_after_startup_succeeds():
    async def main():
        host = FakeHost(startup=probe(periodSeconds=1), readiness=probe(periodSeconds=30))
        runner = ScriptedRunner(host.clock, startup=[Result.FAILURE, Result.FAILURE, Result.SUCCESS])
        rec = Recorder()
        manager = rec.manager(host, runner)
        t0 = host.clock.monotonic()
        manager.start("c1", t0)
        await host.clock.advance(2.5)
        assert rec.ready == [True]
        (ready_at,) = runner.calls[READINESS]
        assert ready_at - runner.calls[STARTUP][-1] < 0.5        # right away, not 30 s later
        manager.stop()
    run(main())


def test_deleting_pod_stops_liveness_and_keeps_readiness():
    async def main():
        host = FakeHost(liveness=probe(periodSeconds=1, failureThreshold=1), readiness=probe(periodSeconds=1))
        runner = ScriptedRunner(host.clock)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(1.5)
        host.deleting = True
        runner.set(LIVENESS, Result.FAILURE)
        runner.set(READINESS, Result.FAILURE)
        before = len(runner.calls[LIVENESS])
        await host.clock.advance(5)
        assert len(runner.calls[LIVENESS]) == before and rec.failures == []
        assert rec.ready == [True, False]                         # readiness still probing
        manager.stop()
    run(main())


def test_stop_liveness_and_startup_keeps_readiness_running():
    async def main():
        host = FakeHost(liveness=probe(periodSeconds=1, failureThreshold=1), readiness=probe(periodSeconds=1))
        runner = ScriptedRunner(host.clock, liveness=Result.FAILURE)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        manager.stop_liveness_and_startup()
        await host.clock.advance(3.5)
        assert runner.calls[LIVENESS] == [] and rec.failures == []
        assert len(runner.calls[READINESS]) == 4
        manager.stop()
    run(main())


def test_stop_is_idempotent_and_final():
    async def main():
        host = FakeHost(readiness=probe(periodSeconds=1))
        runner = ScriptedRunner(host.clock)
        rec = Recorder()
        manager = rec.manager(host, runner)
        manager.start("c1", host.clock.monotonic())
        await host.clock.advance(1.5)
        manager.stop()
        manager.stop()
        await manager.wait_stopped()
        calls = len(runner.calls[READINESS])
        await host.clock.advance(5)
        assert len(runner.calls[READINESS]) == calls
        assert rec.ready == [True] and not manager.ready
    run(main())
