"""The kill sequence of one container (kubelet kuberuntime_container.go killContainer).

    resolve the grace period (deletion override first, then the probe's, then the pod's)
    -> event Killing
    -> preStop hook, bounded by the grace period; the time it took is subtracted
    -> clamp to the 2 s minimum (minimumGracePeriodInSeconds)
    -> SIGTERM (or the image's StopSignal) -> await the exit within the remaining grace -> SIGKILL
A forced kill (`delete --force --grace-period=0`) sends SIGKILL at once. The escalation is
cancelled the moment the process exits: nothing polls.
"""
from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Awaitable, Callable

from podrun.clock import Clock
from podrun.kernel.procs import send_signal

if TYPE_CHECKING:
    from podrun.lifecycle.container_runner import ContainerRunner

__all__ = ["kill_container", "wait_for", "MIN_GRACE_PERIOD", "pod_grace_period", "stop_signal"]

MIN_GRACE_PERIOD = 2.0  # kubelet: kuberuntime_manager.go minimumGracePeriodInSeconds


async def wait_for(fut: Awaitable, seconds: float, clock: Clock) -> bool:
    """Wait for `fut` at most `seconds` of `clock` time; True when it finished in time."""
    fut = asyncio.ensure_future(fut)
    if fut.done():
        return True
    timer = asyncio.ensure_future(clock.sleep(seconds))
    await asyncio.wait({fut, timer}, return_when=asyncio.FIRST_COMPLETED)
    timer.cancel()
    return fut.done()


def pod_grace_period(pod: dict, probe_grace: int | None = None) -> float:
    """kubelet setTerminationGracePeriod: deletion grace, else the probe's, else the pod's."""
    meta, spec = pod["metadata"], pod["spec"]
    if meta.get("deletionGracePeriodSeconds") is not None:
        return float(meta["deletionGracePeriodSeconds"])
    if probe_grace is not None:
        return float(probe_grace)
    return float(spec.get("terminationGracePeriodSeconds", 30))


def stop_signal(image_config: dict | None) -> int:
    """The image's StopSignal ("SIGQUIT", "QUIT" or "3"), else SIGTERM (containerd's
    StopContainer; an unknown name falls back to SIGTERM rather than failing the kill)."""
    value = str((image_config or {}).get("StopSignal") or "").strip().upper()
    if value.isdigit():
        return int(value)
    try:
        return int(signal.Signals[value if value.startswith("SIG") else "SIG" + value])
    except KeyError:
        return int(signal.SIGTERM)


async def kill_container(runner: "ContainerRunner", grace: float, message: str, force: bool = False,
                         pre_stop: Callable[[float], Awaitable[None]] | None = None) -> None:
    exited = runner.exited
    if runner.proc is None or exited is None or exited.done():
        return
    clock = runner.ctx.clock
    runner.report_event("Normal", "Killing", message)
    # Step 1: preStop, within the grace period; what it used is subtracted.
    if pre_stop is not None and grace > 0 and not force:
        started = clock.monotonic()
        await wait_for(pre_stop(grace), grace, clock)
        grace -= clock.monotonic() - started
    if exited.done():
        return
    # Step 2: the stop signal with at least the minimum grace, then SIGKILL.
    if force:
        send_signal(runner.proc, signal.SIGKILL)
    else:
        send_signal(runner.proc, getattr(runner, "stop_signal", signal.SIGTERM))
        if not await wait_for(asyncio.shield(exited), max(grace, MIN_GRACE_PERIOD), clock):
            send_signal(runner.proc, signal.SIGKILL)
    await asyncio.shield(exited)
