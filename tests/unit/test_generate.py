"""Pod phase and conditions (kubelet_pods.go getPhase, status/generate.go), container defaults."""
import pytest

from podrun.status.generate import (
    initial_container_status, pod_conditions, pod_phase, terminated_reason)

T0, T1 = "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"


# ---- status builders --------------------------------------------------------------------

def running(name, started=True, ready=True, restarts=0, last=None):
    st = {"name": name, "state": {"running": {"startedAt": T0}}, "ready": ready, "started": started,
          "restartCount": restarts, "lastState": {}}
    if last is not None:
        st["lastState"] = {"terminated": {"exitCode": last}}
    return st


def terminated(name, code, restarts=0):
    return {"name": name, "state": {"terminated": {"exitCode": code}}, "ready": False,
            "started": False, "restartCount": restarts, "lastState": {}}


def waiting(name, reason="ContainerCreating", last=None, restarts=0):
    st = {"name": name, "state": {"waiting": {"reason": reason}}, "ready": False, "started": False,
          "restartCount": restarts, "lastState": {}}
    if last is not None:
        st["lastState"] = {"terminated": {"exitCode": last}}
    return st


def spec(policy="Always", containers=("c1",), inits=(), sidecars=(), gates=()):
    init_containers = [{"name": n} for n in inits] + \
        [{"name": n, "restartPolicy": "Always"} for n in sidecars]
    s = {"restartPolicy": policy, "containers": [{"name": n} for n in containers],
         "initContainers": init_containers}
    if gates:
        s["readinessGates"] = [{"conditionType": g} for g in gates]
    return s


def conds(spec_, phase, inits, mains, previous=(), sandbox=True, now=T1):
    out = pod_conditions(spec_, phase, list(inits), list(mains), list(previous), now,
                         sandbox_ready=sandbox)
    return {c["type"]: c for c in out}


# ---- phase: e2e runtime.go "should run with the expected status" -------------------------

# The container exits 1 on its first run, 0 on its second, then loops forever.
@pytest.mark.parametrize("policy,status,phase", [
    ("Always", running("c1", restarts=2, last=0), "Running"),
    ("OnFailure", terminated("c1", 0, restarts=1), "Succeeded"),
    ("Never", terminated("c1", 1), "Failed"),
])
def test_runtime_e2e_expected_status(policy, status, phase):
    assert pod_phase(spec(policy), [], [status]) == phase


PHASE_CASES = [
    # name, spec, init statuses, statuses, pod_is_terminal, phase
    ("container_creating_is_pending", spec(), [], [waiting("c1")], False, "Pending"),
    ("running_is_running", spec(), [], [running("c1", ready=False)], False, "Running"),
    ("crash_loop_under_always_is_running", spec(),
     [], [waiting("c1", "CrashLoopBackOff", last=1, restarts=3)], False, "Running"),
    ("all_exited_under_always_is_running", spec(), [], [terminated("c1", 0)], False, "Running"),
    ("all_exited_under_always_terminal_pod_succeeds", spec(), [], [terminated("c1", 0)], True, "Succeeded"),
    ("terminal_pod_with_failure_fails", spec(), [], [terminated("c1", 137)], True, "Failed"),
    ("on_failure_failure_will_restart", spec("OnFailure"), [], [terminated("c1", 1)], False, "Running"),
    ("on_failure_all_succeeded", spec("OnFailure", ("a", "b")), [],
     [terminated("a", 0), terminated("b", 0)], False, "Succeeded"),
    ("never_one_failed_of_two", spec("Never", ("a", "b")), [],
     [terminated("a", 0), terminated("b", 1)], False, "Failed"),
    ("one_running_one_done_is_running", spec("Never", ("a", "b")), [],
     [terminated("a", 0), running("b")], False, "Running"),
    ("one_waiting_keeps_pending", spec("Never", ("a", "b")), [],
     [waiting("a"), running("b")], False, "Pending"),
    ("missing_status_is_pending", spec("Never", ("a", "b")), [], [running("a")], False, "Pending"),
    # init containers
    ("init_running_is_pending", spec(inits=("i1",)), [running("i1")],
     [waiting("c1", "PodInitializing")], False, "Pending"),
    ("init_done_main_creating_is_pending", spec(inits=("i1",)), [terminated("i1", 0)],
     [waiting("c1")], False, "Pending"),
    ("init_done_main_running", spec(inits=("i1",)), [terminated("i1", 0)],
     [running("c1")], False, "Running"),
    ("failed_init_under_always_stays_pending", spec(inits=("init1", "init2")),
     [waiting("init1", "CrashLoopBackOff", last=1, restarts=3), waiting("init2", "PodInitializing")],
     [waiting("c1", "PodInitializing")], False, "Pending"),
    ("failed_init_under_on_failure_stays_pending", spec("OnFailure", inits=("i1",)),
     [terminated("i1", 1)], [waiting("c1", "PodInitializing")], False, "Pending"),
    # sidecars
    ("sidecar_running_not_started_is_pending", spec(sidecars=("s1",)),
     [running("s1", started=False, ready=False)], [waiting("c1", "PodInitializing")], False, "Pending"),
    ("sidecar_and_main_running", spec(sidecars=("s1",)), [running("s1")], [running("c1")], False, "Running"),
    ("sidecar_restarting_after_main_started_stays_running", spec(sidecars=("s1",)),
     [running("s1", started=False, ready=False, restarts=1, last=1)], [running("c1")], False, "Running"),
    ("sidecar_crash_loop_after_main_started_stays_running", spec(sidecars=("s1",)),
     [waiting("s1", "CrashLoopBackOff", last=1, restarts=2)], [running("c1")], False, "Running"),
    ("sidecar_terminated_does_not_block_success", spec("Never", sidecars=("s1",)),
     [terminated("s1", 143)], [terminated("c1", 0)], False, "Succeeded"),
    ("sidecar_not_started_yet_is_pending", spec(sidecars=("s1",)),
     [waiting("s1", "PodInitializing")], [waiting("c1", "PodInitializing")], False, "Pending"),
]


@pytest.mark.parametrize("name,spec_,inits,mains,terminal,phase", PHASE_CASES,
                         ids=[c[0] for c in PHASE_CASES])
def test_pod_phase(name, spec_, inits, mains, terminal, phase):
    assert pod_phase(spec_, inits, mains, pod_is_terminal=terminal) == phase


def test_failed_init_container_with_restart_never_fails_pod():
    s = spec("Never", inits=("init1", "init2"))
    inits = [terminated("init1", 0), terminated("init2", 1)]
    mains = [waiting("c1", "PodInitializing")]
    assert pod_phase(s, inits, mains) == "Failed"
    c = conds(s, "Failed", inits, mains)
    # e2e init_container.go: RestartNever, init2 fails.
    assert c["Initialized"]["status"] == "False"
    assert c["Initialized"]["reason"] == "ContainersNotInitialized"
    assert c["Initialized"]["message"] == "containers with incomplete status: [init2]"


def test_failing_init_container_with_restart_always_lists_all_incomplete():
    s = spec("Always", inits=("init1", "init2"))
    inits = [waiting("init1", "CrashLoopBackOff", last=1, restarts=3), waiting("init2", "PodInitializing")]
    mains = [waiting("c1", "PodInitializing")]
    c = conds(s, pod_phase(s, inits, mains), inits, mains)
    assert c["Initialized"]["message"] == "containers with incomplete status: [init1 init2]"
    assert c["Ready"]["message"] == "containers with unready status: [c1]"


# ---- conditions -------------------------------------------------------------------------

def test_conditions_come_in_upstream_order():
    out = pod_conditions(spec(), "Running", [], [running("c1")], [], T1, sandbox_ready=True)
    assert [c["type"] for c in out] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["lastProbeTime"] is None and c["lastTransitionTime"] == T1 for c in out)


def test_all_ready_pod_is_ready():
    c = conds(spec(containers=("a", "b")), "Running", [], [running("a"), running("b")])
    assert {t: v["status"] for t, v in c.items()} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
        "ContainersReady": "True", "PodScheduled": "True"}
    assert "reason" not in c["Ready"]


def test_unready_containers_are_named_in_spec_order():
    c = conds(spec(containers=("b", "a", "c")), "Running", [],
              [running("a", ready=False), running("b", ready=False), running("c")])
    for t in ("Ready", "ContainersReady"):
        assert c[t]["status"] == "False"
        assert c[t]["reason"] == "ContainersNotReady"
        assert c[t]["message"] == "containers with unready status: [b a]"


def test_sidecar_readiness_counts_for_pod_readiness():
    c = conds(spec(sidecars=("s1",)), "Running", [running("s1", ready=False)], [running("c1")])
    assert c["ContainersReady"]["message"] == "containers with unready status: [s1]"
    assert c["Initialized"]["status"] == "True"


def test_missing_statuses_are_unknown():
    c = conds(spec(containers=("a", "b"), inits=("i1",)), "Pending", [], [running("a", ready=False)])
    assert c["Initialized"]["status"] == "True"      # a main container has started
    assert c["ContainersReady"]["message"] == \
        "containers with unknown status: [b], containers with unready status: [a]"


def test_succeeded_pod_conditions_say_pod_completed():
    s = spec("OnFailure", inits=("i1",))
    c = conds(s, "Succeeded", [terminated("i1", 0)], [terminated("c1", 0)])
    assert (c["Initialized"]["status"], c["Initialized"]["reason"]) == ("True", "PodCompleted")
    assert (c["ContainersReady"]["status"], c["ContainersReady"]["reason"]) == ("False", "PodCompleted")
    assert (c["Ready"]["status"], c["Ready"]["reason"]) == ("False", "PodCompleted")
    assert "message" not in c["Ready"]


def test_failed_pod_is_not_ready_with_reason_pod_failed():
    c = conds(spec("Never"), "Failed", [], [terminated("c1", 1)])
    assert (c["Ready"]["status"], c["Ready"]["reason"]) == ("False", "PodFailed")
    assert c["ContainersReady"]["reason"] == "PodFailed"


def test_sandbox_not_ready_yet():
    c = conds(spec(), "Pending", [], [waiting("c1")], sandbox=False)
    assert c["PodReadyToStartContainers"]["status"] == "False"


def test_transition_time_is_kept_while_status_does_not_change():
    s = spec()
    first = pod_conditions(s, "Pending", [], [waiting("c1")], [], T0, sandbox_ready=True)
    second = {c["type"]: c for c in
              pod_conditions(s, "Running", [], [running("c1")], first, T1, sandbox_ready=True)}
    assert second["PodScheduled"]["lastTransitionTime"] == T0
    assert second["Initialized"]["lastTransitionTime"] == T0
    assert second["Ready"]["lastTransitionTime"] == T1          # False -> True
    assert second["ContainersReady"]["lastTransitionTime"] == T1


def test_readiness_gates_and_foreign_conditions():
    s = spec(gates=("example.com/lb", "example.com/dns"))
    previous = [{"type": "example.com/lb", "status": "False", "lastTransitionTime": T0}]
    out = pod_conditions(s, "Running", [], [running("c1")], previous, T1, sandbox_ready=True)
    assert out[0]["type"] == "example.com/lb"                 # carried over, first
    ready = {c["type"]: c for c in out}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady"
    assert ready["message"] == (
        'the status of pod readiness gate "example.com/lb" is not "True", but False, '
        'corresponding condition of pod readiness gate "example.com/dns" does not exist.')
    previous = [{"type": "example.com/lb", "status": "True"}, {"type": "example.com/dns", "status": "True"}]
    out = pod_conditions(s, "Running", [], [running("c1")], previous, T1, sandbox_ready=True)
    assert {c["type"]: c for c in out}["Ready"]["status"] == "True"


# ---- container statuses -----------------------------------------------------------------

@pytest.mark.parametrize("has_init,is_init,reason", [
    (False, False, "ContainerCreating"), (True, False, "PodInitializing"), (True, True, "PodInitializing")])
def test_initial_container_status(has_init, is_init, reason):
    assert initial_container_status({"name": "c1", "image": "x"}, has_init, is_init, "busybox:1.36") == {
        "name": "c1", "state": {"waiting": {"reason": reason}}, "lastState": {}, "ready": False,
        "started": False, "restartCount": 0, "image": "busybox:1.36", "imageID": ""}


@pytest.mark.parametrize("exit_code,signal,oom,reason", [
    (0, None, False, "Completed"), (1, None, False, "Error"), (137, 9, False, "Error"),
    (137, 9, True, "OOMKilled")])
def test_terminated_reason(exit_code, signal, oom, reason):
    assert terminated_reason(exit_code, signal, oom) == reason
