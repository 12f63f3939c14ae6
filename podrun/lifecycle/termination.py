"""The kill sequence (kubelet kuberuntime_container.go killContainer, killContainersWithSyncResult;
kuberuntime_termination_order.go terminationOrdering).

One container:
    resolve the grace period (deletion override first, then the probe's, then the pod's)
    -> event Killing
    -> preStop hook, bounded by the grace period; the time it took is subtracted
    -> a sidecar waits for its turn (below), bounded by what is left; the wait is subtracted
    -> clamp to the 2 s minimum (minimumGracePeriodInSeconds)
    -> SIGTERM (or the image's StopSignal) -> await the exit within the remaining grace -> SIGKILL
A forced kill (`delete --force --grace-period=0`) sends SIGKILL at once. The escalation is
cancelled the moment the process exits: nothing polls.

A whole pod: every running container is killed at once, so every preStop hook starts at once
(e2e "should call sidecar container PreStop hook simultaneously"); but a sidecar sends its stop
signal only after every main container and every later sidecar has exited, so main containers
stop first, then sidecars in reverse order of definition.

Everything here acts on a ContainerHandle and reads time from a Clock: the sequence is unit-tested
with a FakeClock and a fake handle.
"""
from __future__ import annotations

import asyncio
import signal
from typing import Awaitable, Callable, Mapping

from podrun.clock import Clock
from podrun.lifecycle import hooks
from podrun.lifecycle.handle import ContainerHandle

__all__ = ["kill_container", "kill_pod", "TerminationOrdering", "wait_for", "MIN_GRACE_PERIOD",
           "pod_grace_period", "stop_signal"]

MIN_GRACE_PERIOD = 2.0  # kubelet: kuberuntime_manager.go minimumGracePeriodInSeconds

PreStop = Callable[[ContainerHandle, float], Awaitable[None]]


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


async def kill_container(handle: ContainerHandle, grace: float, message: str, force: bool = False,
                         *, pre_stop: PreStop | None = hooks.run_pre_stop,
                         wait_turn: Callable[[float], Awaitable[None]] | None = None) -> None:
    """Stop one container: Killing, preStop, its turn, stop signal, SIGKILL at the deadline."""
    exited, clock = handle.exited, handle.clock
    if exited.done():
        return
    handle.report_event("Normal", "Killing", message)
    # Step 1: preStop, within the grace period; what it used is subtracted.
    if pre_stop is not None and grace > 0 and not force and (handle.spec.get("lifecycle") or {}).get("preStop"):
        started = clock.monotonic()
        await wait_for(pre_stop(handle, grace), grace, clock)
        grace -= clock.monotonic() - started
    # Step 2: a sidecar waits until the containers it outlives have exited.
    if wait_turn is not None and not force:
        started = clock.monotonic()
        await wait_for(wait_turn(grace), max(grace, 0.0), clock)
        grace -= clock.monotonic() - started
    if exited.done():
        return
    # Step 3: the stop signal with at least the minimum grace, then SIGKILL.
    if force:
        handle.signal(signal.SIGKILL)
    else:
        handle.signal(handle.stop_signal)
        if not await wait_for(asyncio.shield(exited), max(grace, MIN_GRACE_PERIOD), clock):
            handle.signal(signal.SIGKILL)
    await asyncio.shield(exited)


class TerminationOrdering:
    """Who waits for whom when a pod stops (kuberuntime_termination_order.go).

    A sidecar (init container with restartPolicy Always) waits for every main container and for
    the next sidecar after it in the spec; containers that are not running wait for nobody and
    are waited for by nobody.
    """

    def __init__(self, spec: dict, running: Mapping[str, ContainerHandle]):
        self._exited: dict[str, Awaitable] = {}
        self.prereqs: dict[str, list[str]] = {}
        mains = [c["name"] for c in spec.get("containers", []) if c["name"] in running]
        later_sidecar = None
        for c in reversed(spec.get("initContainers", [])):
            if c.get("restartPolicy") != "Always":
                continue
            self.prereqs[c["name"]] = mains + ([later_sidecar] if later_sidecar else [])
            if c["name"] in running:
                later_sidecar = c["name"]
        self._running = running

    async def wait_for_turn(self, name: str) -> None:
        for other in self.prereqs.get(name, []):
            await asyncio.shield(self._running[other].exited)


async def kill_pod(spec: dict, running: Mapping[str, ContainerHandle], grace: float,
                   message: Callable[[str], str], force: bool = False,
                   pre_stop: PreStop | None = hooks.run_pre_stop) -> None:
    """killContainersWithSyncResult: every container at once, sidecars in their order."""
    ordering = TerminationOrdering(spec, running)

    def turn(name: str):
        if not ordering.prereqs.get(name):
            return None
        return lambda _grace: ordering.wait_for_turn(name)

    await asyncio.gather(*(kill_container(h, grace, message(name), force, pre_stop=pre_stop,
                                          wait_turn=turn(name))
                           for name, h in running.items()), return_exceptions=True)
