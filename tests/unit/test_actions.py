"""compute_pod_actions, row by row of K8S-SEMANTICS.md §1 (restart policy), §2 (phase) and §9
(init containers and sidecars) — kubelet kuberuntime_manager_test.go TestComputePodActions /
TestComputePodActionsWithRestartableInitContainers, in their table style."""
from __future__ import annotations

import pytest

from podrun.lifecycle.actions import ContainerObs, compute_pod_actions
from podrun.status.generate import pod_phase

NEW = ContainerObs()                                                    # never ran
RUNNING = ContainerObs(active=True, started=True, started_once=True)
STARTING = ContainerObs(active=True)                                    # pulling / postStart / startup probe
BACKING_OFF = ContainerObs(active=True, started_once=True, exit_code=1)  # a run under way after an exit


def exited(code: int, **kw) -> ContainerObs:
    return ContainerObs(exit_code=code, started_once=True, **kw)


def spec(policy="Always", mains=("c1",), inits=(), sidecars=()) -> dict:
    """Init containers in order: names in `sidecars` get restartPolicy Always."""
    return {"restartPolicy": policy,
            "initContainers": [{"name": n, **({"restartPolicy": "Always"} if n in sidecars else {})}
                               for n in inits],
            "containers": [{"name": n} for n in mains]}


def act(s: dict, terminating=False, **observed: ContainerObs):
    return compute_pod_actions(s, {k.replace("_", "-"): v for k, v in observed.items()}, terminating)


# (id, spec, observed, expected start, kill_pod, done)
ROWS = [
    # §1.3 restart policy of main containers
    ("new pod starts its mains", spec(mains=("a", "b")), {}, ["a", "b"], False, False),
    ("running main: nothing to do", spec(), {"c1": RUNNING}, [], False, False),
    ("Always restarts exit 0", spec("Always"), {"c1": exited(0)}, ["c1"], False, False),
    ("Always restarts exit 1", spec("Always"), {"c1": exited(1)}, ["c1"], False, False),
    ("OnFailure restarts exit 1", spec("OnFailure"), {"c1": exited(1)}, ["c1"], False, False),
    ("OnFailure keeps exit 0: pod done", spec("OnFailure"), {"c1": exited(0)}, [], True, True),
    ("Never keeps exit 1: pod done", spec("Never"), {"c1": exited(1)}, [], True, True),
    ("Never keeps exit 0: pod done", spec("Never"), {"c1": exited(0)}, [], True, True),
    ("a main killed to restart restarts under Never", spec("Never"), {"c1": exited(0, restart=True)},
     ["c1"], False, False),
    ("one main still running keeps the pod", spec("Never", mains=("a", "b")),
     {"a": exited(0), "b": RUNNING}, [], False, False),
    ("a run under way (back-off) keeps the pod", spec("Always"), {"c1": BACKING_OFF}, [], False, False),
    # §9.1 regular init containers, one at a time in order
    ("first init first", spec(inits=("i1", "i2")), {}, ["i1"], False, False),
    ("init running: wait", spec(inits=("i1", "i2")), {"i1": RUNNING}, [], False, False),
    ("next init after success", spec(inits=("i1", "i2")), {"i1": exited(0)}, ["i2"], False, False),
    ("mains after every init", spec(inits=("i1", "i2")), {"i1": exited(0), "i2": exited(0)},
     ["c1"], False, False),
    ("failed init under Never fails the pod", spec("Never", inits=("i1", "i2")), {"i1": exited(3)},
     [], True, True),
    ("failed init under Always is retried", spec("Always", inits=("i1", "i2")), {"i1": exited(1)},
     ["i1"], False, False),
    ("failed init under OnFailure is retried", spec("OnFailure", inits=("i1",)), {"i1": exited(1)},
     ["i1"], False, False),
    ("inits never rerun once a main ran", spec(inits=("i1",)), {"i1": exited(1), "c1": RUNNING},
     [], False, False),
    # §9.2 sidecars
    ("sidecar starts first", spec(inits=("s1", "i1"), sidecars=("s1",)), {}, ["s1"], False, False),
    ("next waits until the sidecar started", spec(inits=("s1", "i1"), sidecars=("s1",)),
     {"s1": STARTING}, [], False, False),
    ("next starts once the sidecar started", spec(inits=("s1", "i1"), sidecars=("s1",)),
     {"s1": RUNNING}, ["i1"], False, False),
    ("sidecar exited during init is restarted, init goes on", spec("Never", inits=("s1", "i1"), sidecars=("s1",)),
     {"s1": exited(1), "i1": RUNNING}, ["s1"], False, False),
    ("sidecar exited beside mains restarts under Never", spec("Never", inits=("s1",), sidecars=("s1",)),
     {"s1": exited(1), "c1": RUNNING}, ["s1"], False, False),
    ("sidecar exited 0 restarts under OnFailure", spec("OnFailure", inits=("s1",), sidecars=("s1",)),
     {"s1": exited(0), "c1": RUNNING}, ["s1"], False, False),
    ("mains done: sidecars are stopped, pod not done yet", spec("Never", inits=("s1",), sidecars=("s1",)),
     {"s1": RUNNING, "c1": exited(0)}, [], True, False),
    ("mains done and sidecar gone: pod done", spec("Never", inits=("s1",), sidecars=("s1",)),
     {"s1": exited(137), "c1": exited(0)}, [], True, True),
    ("mains restart under Always: sidecars keep going", spec("Always", inits=("s1",), sidecars=("s1",)),
     {"s1": RUNNING, "c1": exited(0)}, ["c1"], False, False),
    ("failed init after a sidecar fails the pod under Never", spec("Never", inits=("s1", "i1"), sidecars=("s1",)),
     {"s1": RUNNING, "i1": exited(1)}, [], True, False),
]


@pytest.mark.parametrize("name,s,observed,start,kill_pod,done", ROWS, ids=[r[0] for r in ROWS])
def test_compute_pod_actions(name, s, observed, start, kill_pod, done):
    acts = compute_pod_actions(s, observed)
    assert (acts.start, acts.kill_pod, acts.done) == (start, kill_pod, done), str(acts)


def test_terminating_starts_nothing_and_is_done_when_nothing_runs():
    s = spec(inits=("s1",), sidecars=("s1",))
    acts = compute_pod_actions(s, {"s1": RUNNING, "c1": NEW}, terminating=True)
    assert (acts.start, acts.kill_pod, acts.done) == ([], True, False)
    acts = compute_pod_actions(s, {"s1": exited(137), "c1": exited(143)}, terminating=True)
    assert (acts.start, acts.kill_pod, acts.done) == ([], True, True)


@pytest.mark.parametrize("policy,restarts", [("Always", True), ("OnFailure", True), ("Never", False)])
def test_liveness_failure_kills_and_restarts_unless_never(policy, restarts):
    probe = {"exec": {"command": ["false"]}, "terminationGracePeriodSeconds": 5}
    acts = compute_pod_actions(spec(policy), {"c1": ContainerObs(active=True, started=True, started_once=True,
                                                                  kill_request="liveness", probe=probe)})
    [kill] = acts.kill
    assert kill.name == "c1" and kill.restart is restarts and kill.probe_grace == 5
    assert kill.message == "Container c1 failed liveness probe" + (", will be restarted" if restarts else "")


def test_startup_failure_of_a_sidecar_restarts_it_even_under_never():
    acts = compute_pod_actions(spec("Never", inits=("s1",), sidecars=("s1",)),
                               {"s1": ContainerObs(active=True, kill_request="startup")})
    [kill] = acts.kill
    assert kill.restart and kill.message == "Container s1 failed startup probe, will be restarted"


def test_a_changed_definition_kills_to_restart():
    acts = compute_pod_actions(spec("Never"), {"c1": ContainerObs(active=True, started=True,
                                                                  kill_request="definition")})
    assert [(k.name, k.message, k.restart) for k in acts.kill] == [
        ("c1", "Container c1 definition changed, will be restarted", True)]


def test_a_kill_request_of_a_container_that_is_gone_is_dropped():
    assert compute_pod_actions(spec(), {"c1": exited(1, kill_request="liveness")}).kill == []


# §2: the phase that follows the decisions (getPhase on the statuses the actions lead to)

def _term(name, code):
    return {"name": name, "state": {"terminated": {"exitCode": code}}}


def _run(name, started=True):
    return {"name": name, "started": started, "state": {"running": {}}}


@pytest.mark.parametrize("policy,code,phase", [("Never", 0, "Succeeded"), ("Never", 1, "Failed"),
                                               ("OnFailure", 0, "Succeeded")])
def test_a_done_pod_is_terminal_with_the_phase_of_its_mains(policy, code, phase):
    s = spec(policy, inits=("s1",), sidecars=("s1",))
    acts = compute_pod_actions(s, {"s1": exited(143), "c1": exited(code)})
    assert acts.done
    assert pod_phase(s, [_term("s1", 143)], [_term("c1", code)], pod_is_terminal=True) == phase


def test_sidecar_restarting_beside_a_running_main_keeps_the_pod_running():
    s = spec("Never", inits=("s1",), sidecars=("s1",))
    acts = compute_pod_actions(s, {"s1": exited(1), "c1": RUNNING})
    assert acts.start == ["s1"] and not acts.done
    waiting = {"name": "s1", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1}}}
    assert pod_phase(s, [waiting], [_run("c1")]) == "Running"


def test_failed_init_under_never_is_failed_and_under_always_pending():
    never, always = spec("Never", inits=("i1",)), spec("Always", inits=("i1",))
    waiting_main = {"name": "c1", "state": {"waiting": {"reason": "PodInitializing"}}}
    assert compute_pod_actions(never, {"i1": exited(1)}).done
    assert pod_phase(never, [_term("i1", 1)], [waiting_main]) == "Failed"
    assert compute_pod_actions(always, {"i1": exited(1)}).start == ["i1"]
    assert pod_phase(always, [_term("i1", 1)], [waiting_main]) == "Pending"
