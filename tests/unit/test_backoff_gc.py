"""The restart and image back-off entries of deleted pods do not pile up in a long-running daemon:
the registry's housekeeping (kubelet HandlePodCleanups → backOff.GC) drops every entry nobody
updated for 2 × MaxContainerBackOff, on the FakeClock."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from podrun.clock import FakeClock
from podrun.daemon.registry import PodRegistry
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.restart import backoff_key, remaining_backoff
from podrun.paths import Roots
from podrun.status.manager import StatusManager


def _registry(tmp_path) -> tuple[PodRegistry, FakeClock]:
    clock = FakeClock()
    roots = Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log"))
    ctx = NodeContext(roots=roots, status=StatusManager(roots, clock, "node", "127.0.0.1"), clock=clock,
                      images=SimpleNamespace(), pause_binary="/bin/false",
                      node_name="node", host_ip="127.0.0.1")
    return PodRegistry(ctx), clock


def _crash(ctx: NodeContext, uid: str, times: int) -> str:
    """A container of pod `uid` that exited `times` times, each time right away."""
    key = backoff_key(uid, {"name": "main", "image": "busybox"})
    for _ in range(times):
        remaining_backoff(ctx.backoff, key, ctx.clock.now() - 1000)   # an exit long ago: restart now
    ctx.image_backoff.next(f"{uid}/main/image", ctx.clock.now())
    return key


class _FinishedWorker:
    pod = {"metadata": {"namespace": "default", "name": "gone", "uid": "0f0f"}}

    async def wait(self) -> None:
        return None


def test_a_deleted_pods_backoff_is_collected_after_twice_the_max_backoff(tmp_path):
    registry, clock = _registry(tmp_path)
    ctx = registry.ctx
    gone, alive = _crash(ctx, "deleted-pod", 3), _crash(ctx, "live-pod", 1)
    assert ctx.backoff.get(gone) == 40 and ctx.backoff.get(alive) == 10

    async def delete_and_age():
        registry.workers[("default", "gone")] = worker = _FinishedWorker()
        await registry._finish_delete(("default", "gone"), worker)   # within 600 s: kept
        assert ctx.backoff.get(gone) == 40
        clock._now += 400
        _crash(ctx, "live-pod", 1)                                     # the live pod keeps crashing
        clock._now += 201
        await registry._finish_delete(("default", "other"), worker)   # any later cleanup collects
    asyncio.run(delete_and_age())

    assert ctx.backoff.get(gone) == 0
    assert ctx.image_backoff.get("deleted-pod/main/image") == 0
    assert ctx.backoff.get(alive) == 20                              # updated 201 s ago: kept
    assert ctx.image_backoff.get("live-pod/main/image") == 20


def test_housekeeping_keeps_the_backoff_table_bounded_under_churn(tmp_path):
    registry, clock = _registry(tmp_path)
    for i in range(100):                      # a pod every minute for 100 minutes, each crash-looping
        _crash(registry.ctx, f"pod-{i}", 2)
        clock._now += 60
        registry.housekeeping()
    assert len(registry.ctx.backoff._entries) <= 11   # only those of the last 600 s survive
