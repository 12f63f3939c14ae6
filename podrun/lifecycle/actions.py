"""Decide, don't act: what the pod worker should do next, from the spec and what it observed.

A pure function of plain data (kubelet kuberuntime_manager.go computePodActions and
kuberuntime_container.go computeInitContainerActions), so every rule is table-tested:

    terminating              start nothing; stop every running container (termination order
                             is termination.kill_pod's); done once nothing runs
    kill requests            liveness/startup failure: kill, restart unless restartPolicy Never
                             (sidecars always); a changed definition: kill and restart
    init containers          in spec order; a regular one must exit 0 before the next starts;
                             a sidecar (restartPolicy Always) must be *started*, then the next
                             one starts while it keeps running; a sidecar that exits is started
                             again (back-off is the runner's); a failed regular init container
                             fails the pod under Never, else it is started again
    main containers          all at once after the init containers; an exited one starts again
                             per restartPolicy (helpers.go ShouldContainerBeRestarted); sidecars
                             are restarted for as long as a main container runs or will run
    pod done (KillPod)       no main container running nor to be started (or init failure under
                             Never): the sidecars are stopped, and once nothing runs the pod is done

The worker observes each container as a ContainerObs; `active` covers everything from the start
decision to the exit being recorded (pulling, back-off, creating, running, being killed).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from podrun.lifecycle.restart import should_restart

__all__ = ["ContainerObs", "KillAction", "PodActions", "compute_pod_actions", "is_sidecar"]


@dataclass(frozen=True)
class ContainerObs:
    active: bool = False            # a run is under way
    started: bool = False           # the current run counts as started (postStart done, startup probe ok)
    started_once: bool = False      # some run of it was started (a restarting sidecar does not block)
    exit_code: int | None = None    # the last run's exit code; None: it never exited
    restart: bool = False           # it was killed to be restarted: the next exit restarts it
    kill_request: str | None = None  # "liveness" | "startup" | "definition"
    probe: dict | None = None       # the failed probe (its terminationGracePeriodSeconds)


@dataclass(frozen=True)
class KillAction:
    name: str
    message: str
    restart: bool                   # the exit that follows restarts it whatever the policy
    probe_grace: int | None = None  # the probe's terminationGracePeriodSeconds, if any


@dataclass
class PodActions:
    start: list[str] = field(default_factory=list)
    kill: list[KillAction] = field(default_factory=list)
    kill_pod: bool = False          # stop every running container, start nothing
    done: bool = False              # kill_pod, and nothing runs any more

    def __str__(self) -> str:       # for assertion messages
        return (f"start={self.start} kill={[k.name for k in self.kill]} kill_pod={self.kill_pod} "
                f"done={self.done}")


def is_sidecar(container: dict) -> bool:
    """podutil.IsRestartableInitContainer."""
    return container.get("restartPolicy") == "Always"


def _kill(c: dict, o: ContainerObs, policy: str, init: bool) -> KillAction:
    name = c["name"]
    if o.kill_request == "definition":
        return KillAction(name, f"Container {name} definition changed, will be restarted", True)
    # computePodActions: a liveness/startup failure restarts unless the pod's policy is Never;
    # a sidecar is always restarted (computeInitContainerActions)
    restarts = policy != "Never" or (init and is_sidecar(c))
    message = f"Container {name} failed {o.kill_request} probe" + (", will be restarted" if restarts else "")
    grace = (o.probe or {}).get("terminationGracePeriodSeconds")
    return KillAction(name, message, restarts, grace)


def compute_pod_actions(spec: dict, observed: Mapping[str, ContainerObs], terminating: bool = False) -> PodActions:
    policy = spec.get("restartPolicy", "Always")
    inits, mains = spec.get("initContainers", []), spec.get("containers", [])

    def obs(c: dict) -> ContainerObs:
        return observed.get(c["name"]) or ContainerObs()

    acts = PodActions()
    nothing_runs = not any(o.active for o in observed.values())
    if terminating:
        acts.kill_pod, acts.done = True, nothing_runs
        return acts

    for c in inits:
        o = obs(c)
        if o.active and o.kill_request:
            acts.kill.append(_kill(c, o, policy, True))
    for c in mains:
        o = obs(c)
        if o.active and o.kill_request:
            acts.kill.append(_kill(c, o, policy, False))

    # kubelet: once a main container has run, the pod is initialized; inits never run again
    initialized = any(obs(c).active or obs(c).exit_code is not None for c in mains)
    if not initialized:
        for c in inits:
            o = obs(c)
            if is_sidecar(c):
                if not o.active:
                    acts.start.append(c["name"])        # first start, or again after any exit
                if not (o.active and o.started) and not o.started_once:
                    return acts                          # the next one waits until it started
                continue
            if o.active:
                return acts                              # running: wait for its exit
            if o.exit_code == 0:
                continue
            if o.exit_code is not None and policy == "Never":
                acts.kill_pod, acts.done = True, nothing_runs   # init failure fails the pod
                acts.start, acts.kill = [], []
                return acts
            acts.start.append(c["name"])                 # first run, or a retry of a failure
            return acts

    keep = False
    for c in mains:
        o = obs(c)
        if o.active:
            keep = True
        elif o.exit_code is None or o.restart or should_restart(policy, o.exit_code, False, False):
            acts.start.append(c["name"])
            keep = True
    if not keep:                                         # every main container is done for good
        acts.kill_pod, acts.done = True, nothing_runs
        acts.start, acts.kill = [], []
        return acts
    for c in inits:
        if is_sidecar(c) and not obs(c).active and c["name"] not in acts.start:
            acts.start.append(c["name"])                 # sidecars run beside the mains
    return acts
