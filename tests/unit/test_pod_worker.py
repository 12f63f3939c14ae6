"""The PodWorker's loop (observe → compute_pod_actions → act) on a FakeClock, with the runtime
faked at its seams: no sandbox, and container processes that are futures exiting on a script or
on a signal. What runs when, what is killed in which order, and the phase the pod ends in."""
from __future__ import annotations

import asyncio
import signal
from types import SimpleNamespace

import pytest

from podrun.clock import FakeClock, rfc3339
from podrun.kernel.procs import ExitStatus, ProcessRef
from podrun.lifecycle import container_runner, pod_worker
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.handle import ContainerHandle
from podrun.lifecycle.probes.results import ProbeUpdate
from podrun.paths import Roots
from podrun.status.manager import StatusManager

FOREVER = None


class FakeProcess(ContainerHandle):
    """Exits with `code` after `seconds` (FOREVER: only on a signal); SIGTERM → 143, SIGKILL → 137."""

    def __init__(self, world: "World", name: str, spec: dict, code: int, seconds: float | None):
        super().__init__(name, spec, world.pod, world.clock, ProcessRef(1, 1),
                         asyncio.get_running_loop().create_future(), container_id=f"{name}-{world.n}",
                         events=lambda *e: None)
        self.world = world
        if seconds is not FOREVER:
            asyncio.ensure_future(self._exit_after(code, seconds))

    async def _exit_after(self, code: int, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self._exit(code)

    def signal(self, sig: int) -> bool:
        if self.done:
            return False
        self.world.log.append((self.world.t(), self.name, signal.Signals(sig).name))
        self._exit(128 + sig)
        return True

    def _exit(self, code: int) -> None:
        if not self.done:
            self.world.log.append((self.world.t(), self.name, "exit"))
            self.exited.set_result(ExitStatus(code))


class World:
    """The fakes: per container a list of runs (exit code, seconds); the last one repeats."""

    def __init__(self, tmp_path, monkeypatch, pod: dict, runs: dict[str, list]):
        self.clock = FakeClock()
        self.log: list[tuple[float, str, str]] = []
        self.runs, self.n = runs, 0
        roots = Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log"))
        self.status = StatusManager(roots, self.clock, "node", "127.0.0.1")
        images = SimpleNamespace(resolve=lambda ref: SimpleNamespace(ref=ref, id="sha256:0", config={}))
        self.ctx = NodeContext(roots=roots, status=self.status, clock=self.clock, images=images,
                               pause_binary="", node_name="node", host_ip="127.0.0.1")
        pod.setdefault("metadata", {}).update(name="p", namespace="default", uid="u1")
        for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            c.setdefault("image", "busybox")
        self.pod = pod
        self.status.add_pod(pod)

        async def start_sandbox(*_a, **_k):
            return SimpleNamespace(pod_ip="10.0.0.2", extra={})

        async def stop_sandbox(*_a, **_k):
            return None

        async def create_instance(view, spec, image, count, events):
            self.n += 1
            script = self.runs[spec["name"]]
            code, seconds = script.pop(0) if len(script) > 1 else script[0]
            self.log.append((self.t(), spec["name"], "start"))
            proc = FakeProcess(self, spec["name"], spec, code, seconds)
            return container_runner.Instance(proc, count, "", "", rfc3339(self.clock.now()),
                                             SimpleNamespace(), None)

        async def finish_instance(view, spec, run):
            status = await run.handle.wait()
            return {"exitCode": status.exit_code, "reason": "Completed" if status.exit_code == 0 else "Error"}

        monkeypatch.setattr(pod_worker.sandbox_mod, "start_sandbox", start_sandbox)
        monkeypatch.setattr(pod_worker.sandbox_mod, "stop_sandbox", stop_sandbox)
        monkeypatch.setattr(pod_worker.volumes_mod, "prepare_volumes", lambda *a: {})
        monkeypatch.setattr(pod_worker.teardown, "teardown_pod", lambda *a, **k: None)
        monkeypatch.setattr(container_runner, "create_instance", create_instance)
        monkeypatch.setattr(container_runner, "finish_instance", finish_instance)
        self.worker = pod_worker.PodWorker(self.ctx, pod)

    def t(self) -> float:
        return round(self.clock.monotonic() - 1000, 1)

    def what(self, what: str) -> list[str]:
        return [who for _, who, w in self.log if w == what]

    def cstatus(self, name: str) -> dict:
        return self.status.container_status(("default", "p"), name)

    @property
    def phase(self) -> str:
        return self.status.status(("default", "p"))["phase"]


def spec(policy: str, mains: list[str], inits: list[str] = (), sidecars: tuple = (), grace: int = 30) -> dict:
    return {"spec": {"restartPolicy": policy, "terminationGracePeriodSeconds": grace,
                     "initContainers": [{"name": n, **({"restartPolicy": "Always"} if n in sidecars else {})}
                                        for n in inits],
                     "containers": [{"name": n} for n in mains]}}


def run(coro):
    asyncio.run(coro)


async def settle():
    for _ in range(20):
        await asyncio.sleep(0)


def test_inits_in_order_then_mains_then_sidecar_stopped_and_pod_succeeded(tmp_path, monkeypatch):
    async def main():
        w = World(tmp_path, monkeypatch, spec("Never", ["c1", "c2"], ["s1", "i1"], sidecars=("s1",)),
                  {"s1": [(0, FOREVER)], "i1": [(0, 1)], "c1": [(0, 3)], "c2": [(0, 5)]})
        w.worker.start()
        await settle()
        await w.clock.advance(8)
        assert w.what("start") == ["s1", "i1", "c1", "c2"]
        assert [(round(t), who) for t, who, what in w.log if what == "start"][2:] == [(1, "c1"), (1, "c2")]
        # c2 exits at 6; only then is the sidecar stopped (SIGTERM), and the pod is done
        assert w.what("exit") == ["i1", "c1", "c2", "s1"] and w.what("SIGTERM") == ["s1"]
        assert w.phase == "Succeeded"
        w.worker.stop()
        await w.worker.wait()
    run(main())


def test_a_sidecar_is_restarted_with_backoff_in_a_never_pod_while_the_main_runs(tmp_path, monkeypatch):
    async def main():
        w = World(tmp_path, monkeypatch, spec("Never", ["c1"], ["s1"], sidecars=("s1",)),
                  {"s1": [(1, 1)], "c1": [(0, 40)]})
        w.worker.start()
        await settle()
        await w.clock.advance(45)
        starts = [t for t, who, what in w.log if who == "s1" and what == "start"]
        gaps = [round(b - a) for a, b in zip(starts, starts[1:])]
        assert gaps[:3] == [1, 11, 21], starts        # run 1 s, then restart at once, after 10 s, 20 s
        assert w.cstatus("s1")["restartCount"] == len(starts) - 1
        assert w.phase == "Succeeded"                  # the main container decides the phase
        w.worker.stop()
        await w.worker.wait()
    run(main())


def test_delete_stops_mains_first_then_sidecars_in_reverse(tmp_path, monkeypatch):
    async def main():
        w = World(tmp_path, monkeypatch, spec("Always", ["c1", "c2"], ["s1", "s2", "s3"], sidecars=("s1", "s2", "s3")),
                  {n: [(0, FOREVER)] for n in ("s1", "s2", "s3", "c1", "c2")})
        w.worker.start()
        await settle()
        await w.clock.advance(1)
        assert w.what("start") == ["s1", "s2", "s3", "c1", "c2"]
        w.worker.stop()
        await w.clock.advance(1)
        await w.worker.wait()
        assert w.what("SIGTERM")[:2] in (["c1", "c2"], ["c2", "c1"])
        assert w.what("SIGTERM")[2:] == ["s3", "s2", "s1"]
        assert w.what("start") == ["s1", "s2", "s3", "c1", "c2"]     # nothing restarted while stopping
    run(main())


@pytest.mark.parametrize("policy,restarted,phase", [("Always", True, "Running"), ("Never", False, "Failed")])
def test_liveness_failure_kills_and_restarts_unless_never(tmp_path, monkeypatch, policy, restarted, phase):
    async def main():
        w = World(tmp_path, monkeypatch, spec(policy, ["c1"]), {"c1": [(0, FOREVER)]})
        w.worker.start()
        await settle()
        await w.clock.advance(1)
        cid = w.worker.runners["c1"].handle.container_id
        w.worker.view.probe_updates.put_nowait(ProbeUpdate("c1", cid, True, True, "liveness", {}))
        await w.clock.advance(2)
        assert w.what("SIGTERM") == ["c1"]
        assert w.what("start") == (["c1", "c1"] if restarted else ["c1"])
        assert w.phase == phase
        w.worker.stop()
        await w.worker.wait()
    run(main())


def test_a_failed_init_fails_a_never_pod_and_main_never_starts(tmp_path, monkeypatch):
    async def main():
        w = World(tmp_path, monkeypatch, spec("Never", ["c1"], ["i1", "i2"]), {"i1": [(3, 1)], "i2": [(0, 1)],
                                                                             "c1": [(0, 1)]})
        w.worker.start()
        await settle()
        await w.clock.advance(30)
        assert w.what("start") == ["i1"]
        assert w.phase == "Failed"
        w.worker.stop()
        await w.worker.wait()
    run(main())
