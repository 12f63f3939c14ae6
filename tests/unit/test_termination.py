"""The kill sequence (kubelet killContainer, terminationOrdering) on a FakeClock with fake handles:
preStop → stop signal → grace → SIGKILL, the 2 s minimum, force, and the sidecar order."""
from __future__ import annotations

import asyncio
import signal

from podrun.clock import FakeClock
from podrun.kernel.procs import ExitStatus, ProcessRef
from podrun.lifecycle.handle import ContainerHandle
from podrun.lifecycle.termination import TerminationOrdering, kill_container, kill_pod

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {}}
PRE_STOP = {"preStop": {"exec": {"command": ["true"]}}}


class FakeHandle(ContainerHandle):
    """A container whose process is a future: it exits `exit_after` seconds after a signal it
    honours (SIGKILL always), and writes every signal and exit into the shared `log`."""

    def __init__(self, clock: FakeClock, log: list, name: str = "app", honours=(signal.SIGTERM,),
                 exit_after: float = 0.0, lifecycle: dict | None = None, stop_signal=signal.SIGTERM):
        spec = {"name": name, **({"lifecycle": lifecycle} if lifecycle else {})}
        super().__init__(name, spec, POD, clock, ProcessRef(1, 1), asyncio.get_running_loop().create_future(),
                         stop_signal=stop_signal, events=lambda *e: self.events.append(e))
        self.log, self.honours, self.exit_after = log, honours, exit_after
        self.events: list[tuple] = []

    def signal(self, sig: int) -> bool:
        if self.done:
            return False
        self.log.append((round(self.clock.monotonic() - 1000, 1), self.name, signal.Signals(sig).name))
        if sig == signal.SIGKILL:
            self._exit(128 + sig)
        elif sig in self.honours:
            asyncio.ensure_future(self._exit_later(128 + sig))
        return True

    async def _exit_later(self, code: int) -> None:
        await self.clock.sleep(self.exit_after)
        self._exit(code)

    def _exit(self, code: int) -> None:
        if not self.done:
            self.log.append((round(self.clock.monotonic() - 1000, 1), self.name, "exited"))
            self.exited.set_result(ExitStatus(code, code - 128))


def recording_pre_stop(log: list, seconds: float):
    async def pre_stop(handle, grace):
        log.append((round(handle.clock.monotonic() - 1000, 1), handle.name, "preStop"))
        await handle.clock.sleep(seconds)
    return pre_stop


async def drive(clock: FakeClock, coro, seconds: float):
    task = asyncio.ensure_future(coro)
    for _ in range(10):                    # let it run up to its first wait on the clock
        await asyncio.sleep(0)
    await clock.advance(seconds)
    assert task.done(), "the kill did not finish"
    task.result()


def run(coro):
    asyncio.run(coro)


def test_sigterm_then_exit_no_sigkill():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log, exit_after=1.0)
        await drive(clock, kill_container(h, 30, "Stopping container app"), 5)
        assert log == [(0.0, "app", "SIGTERM"), (1.0, "app", "exited")]
        assert h.events == [("Normal", "Killing", "Stopping container app")]
    run(main())


def test_sigkill_when_the_grace_period_ends():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log, honours=())
        await drive(clock, kill_container(h, 10, "Stopping container app"), 12)
        assert log == [(0.0, "app", "SIGTERM"), (10.0, "app", "SIGKILL"), (10.0, "app", "exited")]
    run(main())


def test_pre_stop_time_is_taken_from_the_grace_period():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log, honours=(), lifecycle=PRE_STOP)
        await drive(clock, kill_container(h, 10, "m", pre_stop=recording_pre_stop(log, 3)), 12)
        assert log == [(0.0, "app", "preStop"), (3.0, "app", "SIGTERM"), (10.0, "app", "SIGKILL"),
                       (10.0, "app", "exited")]
    run(main())


def test_pre_stop_outliving_the_grace_is_cut_and_the_minimum_2s_still_given():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log, honours=(), lifecycle=PRE_STOP)
        await drive(clock, kill_container(h, 5, "m", pre_stop=recording_pre_stop(log, 60)), 8)
        assert log == [(0.0, "app", "preStop"), (5.0, "app", "SIGTERM"), (7.0, "app", "SIGKILL"),
                       (7.0, "app", "exited")]
    run(main())


def test_no_pre_stop_without_a_handler_and_none_when_forced():
    async def main():
        clock, log = FakeClock(), []
        plain = FakeHandle(clock, log, name="plain", exit_after=0.5)
        await drive(clock, kill_container(plain, 10, "m", pre_stop=recording_pre_stop(log, 1)), 2)
        forced = FakeHandle(clock, log, name="forced", lifecycle=PRE_STOP)
        await drive(clock, kill_container(forced, 10, "m", force=True, pre_stop=recording_pre_stop(log, 1)), 1)
        assert [e[1:] for e in log] == [("plain", "SIGTERM"), ("plain", "exited"),
                                        ("forced", "SIGKILL"), ("forced", "exited")]
    run(main())


def test_the_image_stop_signal_is_sent_first():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log, honours=(signal.SIGQUIT,), stop_signal=signal.SIGQUIT)
        await drive(clock, kill_container(h, 10, "m"), 1)
        assert [e[2] for e in log] == ["SIGQUIT", "exited"]
    run(main())


def test_an_exited_container_is_not_killed():
    async def main():
        clock, log = FakeClock(), []
        h = FakeHandle(clock, log)
        h.exited.set_result(ExitStatus(0))
        await kill_container(h, 10, "m")
        assert log == [] and h.events == []
    run(main())


def test_ordering_sidecars_wait_for_mains_and_later_sidecars():
    async def main():
        clock, log = FakeClock(), []
        spec = {"initContainers": [{"name": "init"}, {"name": "s1", "restartPolicy": "Always"},
                                   {"name": "s2", "restartPolicy": "Always"},
                                   {"name": "s3", "restartPolicy": "Always"}],
                "containers": [{"name": "a"}, {"name": "b"}]}
        running = {n: FakeHandle(clock, log, n) for n in ("s1", "s3", "a", "b")}   # s2 is not running
        order = TerminationOrdering(spec, running)
        assert order.prereqs == {"s3": ["a", "b"], "s2": ["a", "b", "s3"], "s1": ["a", "b", "s3"]}
    run(main())


def test_kill_pod_mains_first_then_sidecars_in_reverse_and_every_pre_stop_at_once():
    async def main():
        clock, log = FakeClock(), []
        spec = {"initContainers": [{"name": f"s{i}", "restartPolicy": "Always"} for i in (1, 2, 3)],
                "containers": [{"name": "main"}]}
        running = {"main": FakeHandle(clock, log, "main", exit_after=1.0)}
        for i in (1, 2, 3):
            running[f"s{i}"] = FakeHandle(clock, log, f"s{i}", exit_after=1.0, lifecycle=PRE_STOP)
        await drive(clock, kill_pod(spec, running, 30, lambda n: f"Stopping container {n}",
                                    pre_stop=recording_pre_stop(log, 0.5)), 10)
        assert sorted(e for e in log if e[2] == "preStop") == [(0.0, f"s{i}", "preStop") for i in (1, 2, 3)]
        exits = [e[1] for e in log if e[2] == "exited"]
        assert exits == ["main", "s3", "s2", "s1"]
        # each sidecar's turn comes when the one after it exited (within a clock step)
        assert [(round(t), n) for t, n, what in log if what == "SIGTERM"] == [
            (0, "main"), (1, "s3"), (2, "s2"), (3, "s1")]
    run(main())


def test_a_sidecar_waiting_for_its_turn_uses_up_the_grace_then_is_killed():
    async def main():
        clock, log = FakeClock(), []
        spec = {"initContainers": [{"name": "side", "restartPolicy": "Always"}], "containers": [{"name": "main"}]}
        running = {"main": FakeHandle(clock, log, "main", honours=()),
                   "side": FakeHandle(clock, log, "side", honours=())}
        await drive(clock, kill_pod(spec, running, 10, lambda n: "m"), 14)
        # main: SIGTERM at 0, SIGKILL at 10; the sidecar's turn comes at 10 with no grace left:
        # SIGTERM then, SIGKILL after the 2 s minimum.
        assert log == [(0.0, "main", "SIGTERM"), (10.0, "main", "SIGKILL"), (10.0, "main", "exited"),
                       (10.0, "side", "SIGTERM"), (12.0, "side", "SIGKILL"), (12.0, "side", "exited")]
    run(main())
