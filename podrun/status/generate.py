"""Pod phase, pod conditions and default container statuses: pure functions of v1 dicts.

Ported from the kubelet:
- `pod_phase`: pkg/kubelet/kubelet_pods.go getPhase (with sidecars, ≥1.29);
- `pod_conditions`: pkg/kubelet/status/generate.go Generate*Condition, in the order
  generateAPIPodStatus appends them (PodReadyToStartContainers, Initialized, Ready,
  ContainersReady, PodScheduled), after the conditions the kubelet does not own;
- `initial_container_status`: convertToAPIContainerStatuses' default waiting state;
- `terminated_reason`: the reason containerd/CRI-O give an exited container.
The pod's QoS class is api/qos.py's.

Statuses are plain dicts as in `kubectl get pod -o json`; a container with no status dict is
"unknown" in upstream's sense.
"""
from __future__ import annotations

from typing import Iterable

__all__ = [
    "PENDING", "RUNNING", "SUCCEEDED", "FAILED",
    "pod_phase", "pod_conditions", "initial_container_status", "terminated_reason",
    "is_sidecar", "go_string_list",
]

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"

# status/generate.go reasons
UNKNOWN_CONTAINER_STATUSES = "UnknownContainerStatuses"
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"

# kubetypes.PodConditionByKubelet: the kubelet regenerates these; others are carried over.
_KUBELET_CONDITIONS = ("PodScheduled", "Ready", "Initialized", "ContainersReady",
                       "PodReadyToStartContainers")


def is_sidecar(container: dict) -> bool:
    """podutil.IsRestartableInitContainer: an init container with restartPolicy Always."""
    return container.get("restartPolicy") == "Always"


def go_string_list(names: Iterable[str]) -> str:
    """Go's `%s` of a []string: `[a b c]`."""
    return "[" + " ".join(names) + "]"


def _by_name(statuses: Iterable[dict] | None) -> dict[str, dict]:
    return {s["name"]: s for s in statuses or ()}


def _state(status: dict) -> dict:
    return status.get("state") or {}


def _last_terminated(status: dict) -> dict | None:
    return (status.get("lastState") or {}).get("terminated")


def _has_any_regular_container_started(spec: dict, statuses: dict[str, dict]) -> bool:
    """kubecontainer.HasAnyRegularContainerStarted: a main container is running or terminated."""
    for c in spec.get("containers", []):
        st = statuses.get(c["name"])
        if st and ("running" in _state(st) or "terminated" in _state(st)):
            return True
    return False


# ---- phase ------------------------------------------------------------------------------

def pod_phase(spec: dict, init_statuses: list[dict], statuses: list[dict],
              pod_is_terminal: bool = False) -> str:
    """kubelet_pods.go getPhase.

    `pod_is_terminal`: the pod worker is finishing the pod (deleted, or every container done for
    good), so containers will not be restarted whatever the restart policy says.
    """
    info = _by_name(list(init_statuses or []) + list(statuses or []))
    restart_policy = spec.get("restartPolicy", "Always")
    pending_initialization = failed_initialization = 0

    # regular init containers
    for c in spec.get("initContainers", []):
        if is_sidecar(c):
            continue
        st = info.get(c["name"])
        if st is None:
            pending_initialization += 1
            continue
        state = _state(st)
        if "running" in state:
            pending_initialization += 1
        elif "terminated" in state:
            if state["terminated"].get("exitCode", 0) != 0:
                failed_initialization += 1
        elif "waiting" in state:
            last = _last_terminated(st)
            if last is not None:
                if last.get("exitCode", 0) != 0:
                    failed_initialization += 1
            else:
                pending_initialization += 1
        else:
            pending_initialization += 1

    unknown = running = waiting = stopped = succeeded = 0

    # restartable init containers (sidecars)
    for c in spec.get("initContainers", []):
        if not is_sidecar(c):
            continue
        st = info.get(c["name"])
        if st is None:
            unknown += 1
            continue
        state = _state(st)
        if "running" in state:
            if not st.get("started"):
                pending_initialization += 1
            running += 1
        elif "terminated" in state:
            pass                # terminated sidecars do not count for the phase
        elif "waiting" in state:
            if _last_terminated(st) is None:
                pending_initialization += 1
                waiting += 1
        else:
            pending_initialization += 1
            unknown += 1

    for c in spec.get("containers", []):
        st = info.get(c["name"])
        if st is None:
            unknown += 1
            continue
        state = _state(st)
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode", 0) == 0:
                succeeded += 1
        elif "waiting" in state:
            if _last_terminated(st) is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1

    if failed_initialization > 0 and restart_policy == "Never":
        return FAILED
    # A pod whose main containers have run is not sent back to Pending by a restarting sidecar.
    if (pending_initialization > 0 and not _has_any_regular_container_started(spec, info)) \
            or waiting > 0:
        return PENDING
    if running > 0 and unknown == 0:
        return RUNNING
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if restart_policy == "Always":
            return RUNNING      # all containers are in the process of restarting
        if stopped == succeeded:
            return SUCCEEDED
        if restart_policy == "Never":
            return FAILED
        return RUNNING          # OnFailure with a failure: it will restart
    return PENDING


# ---- conditions -------------------------------------------------------------------------

def _condition(ctype: str, ok: bool, reason: str = "", message: str = "") -> dict:
    cond: dict = {"type": ctype, "status": "True" if ok else "False"}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _initialized_condition(spec: dict, statuses: dict[str, dict], phase: str) -> dict:
    """generate.go GeneratePodInitializedCondition."""
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in spec.get("initContainers", []):
        st = statuses.get(c["name"])
        if st is None:
            unknown.append(c["name"])
            continue
        if is_sidecar(c):
            done = bool(st.get("started"))
        else:
            # prober_manager.go UpdatePodStatus: an init container is ready once it exited 0.
            term = _state(st).get("terminated")
            done = term is not None and term.get("exitCode", 0) == 0
        if not done:
            incomplete.append(c["name"])
    if phase == SUCCEEDED and not unknown:
        return _condition("Initialized", True, POD_COMPLETED)
    # Main containers have run: initialised before, even if a sidecar is restarting now.
    if _has_any_regular_container_started(spec, statuses):
        return _condition("Initialized", True)
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_string_list(unknown)}")
    if incomplete:
        messages.append(f"containers with incomplete status: {go_string_list(incomplete)}")
    if messages:
        return _condition("Initialized", False, CONTAINERS_NOT_INITIALIZED, ", ".join(messages))
    return _condition("Initialized", True)


def _containers_ready_condition(spec: dict, statuses: dict[str, dict], phase: str) -> dict:
    """generate.go GenerateContainersReadyCondition: sidecars and main containers must be ready."""
    unknown: list[str] = []
    unready: list[str] = []
    watched = [c for c in spec.get("initContainers", []) if is_sidecar(c)] + spec.get("containers", [])
    for c in watched:
        st = statuses.get(c["name"])
        if st is None:
            unknown.append(c["name"])
        elif not st.get("ready"):
            unready.append(c["name"])
    if phase == SUCCEEDED and not unknown:
        return _condition("ContainersReady", False, POD_COMPLETED)
    if phase == FAILED:     # containers may still be terminating: never ready
        return _condition("ContainersReady", False, POD_FAILED)
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_string_list(unknown)}")
    if unready:
        messages.append(f"containers with unready status: {go_string_list(unready)}")
    if messages:
        return _condition("ContainersReady", False, CONTAINERS_NOT_READY, ", ".join(messages))
    return _condition("ContainersReady", True)


def _ready_condition(spec: dict, conditions: list[dict], containers_ready: dict) -> dict:
    """generate.go GeneratePodReadyCondition: ContainersReady, then the readiness gates."""
    if containers_ready["status"] != "True":
        return _condition("Ready", False, containers_ready.get("reason", ""),
                          containers_ready.get("message", ""))
    by_type = {c.get("type"): c for c in conditions}
    messages = []
    for gate in spec.get("readinessGates", []):
        ctype = gate.get("conditionType", "")
        cond = by_type.get(ctype)
        if cond is None:
            messages.append(f'corresponding condition of pod readiness gate "{ctype}" does not exist.')
        elif cond.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{ctype}" is not "True", '
                            f'but {cond.get("status")}')
    if messages:
        return _condition("Ready", False, READINESS_GATES_NOT_READY, ", ".join(messages))
    return _condition("Ready", True)


def pod_conditions(spec: dict, phase: str, init_statuses: list[dict], statuses: list[dict],
                   previous: list[dict], now_str: str, sandbox_ready: bool = False) -> list[dict]:
    """The pod's conditions as generateAPIPodStatus builds them.

    Conditions not owned by the kubelet are carried over from `previous` first; then
    PodReadyToStartContainers (True once the sandbox exists), Initialized, Ready,
    ContainersReady, PodScheduled. Each gets `lastProbeTime: None` and a `lastTransitionTime`
    kept from `previous` when its status did not change, else `now_str`.
    """
    previous = previous or []
    info = _by_name(list(init_statuses or []) + list(statuses or []))
    carried = [dict(c) for c in previous if c.get("type") not in _KUBELET_CONDITIONS]

    containers_ready = _containers_ready_condition(spec, info, phase)
    generated = [
        _condition("PodReadyToStartContainers", sandbox_ready),
        _initialized_condition(spec, info, phase),
        _ready_condition(spec, carried, containers_ready),
        containers_ready,
        _condition("PodScheduled", True),
    ]
    old = {c.get("type"): c for c in previous}
    for cond in generated:
        before = old.get(cond["type"])
        cond["lastProbeTime"] = None
        if before is not None and before.get("status") == cond["status"] \
                and before.get("lastTransitionTime"):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = now_str
    return carried + generated


# ---- container statuses -----------------------------------------------------------------

def initial_container_status(container: dict, has_init: bool, is_init: bool, image: str) -> dict:
    """A container with no instance yet (convertToAPIContainerStatuses' default state).

    Waiting ContainerCreating, or PodInitializing when the pod has init containers — for the
    main containers and for the init containers that have not run yet alike.
    """
    reason = "PodInitializing" if has_init else "ContainerCreating"
    return {
        "name": container["name"],
        "state": {"waiting": {"reason": reason}},
        "lastState": {},
        "ready": False,
        "started": False,
        "restartCount": 0,
        "image": image,
        "imageID": "",
    }


def terminated_reason(exit_code: int, signal: int | None, oom_killed: bool) -> str:
    """terminated.reason as containerd/CRI-O report it: OOMKilled, Completed (0) or Error."""
    if oom_killed:
        return "OOMKilled"
    if exit_code == 0 and not signal:
        return "Completed"
    return "Error"
