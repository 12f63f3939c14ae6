"""kubectl get's printers: HumanDuration, printPod's STATUS/READY/RESTARTS, the column layout,
and `kubectl get events` (pkg/printers/internalversion/printers.go, apimachinery duration.go)."""
from __future__ import annotations

import pytest

from podrun.clock import parse_rfc3339, rfc3339
from podrun.printers.duration import age, human_duration, short_human_duration
from podrun.printers.events import events_table
from podrun.printers.table import format_table, pod_names, pod_row, pods_table, tabwrite

NOW = parse_rfc3339("2026-11-23T19:00:00Z")


def ago(seconds: float) -> str:
    return rfc3339(NOW - seconds)


# -- builders ---------------------------------------------------------------------------------

def running(ready: bool = True, restarts: int = 0, last: dict | None = None, name: str = "app") -> dict:
    st = {"name": name, "ready": ready, "started": True, "restartCount": restarts,
          "state": {"running": {"startedAt": ago(60)}}}
    if last:
        st["lastState"] = {"terminated": last}
    return st


def waiting(reason: str, name: str = "app", restarts: int = 0, last: dict | None = None) -> dict:
    st = {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}
    if last:
        st["lastState"] = {"terminated": last}
    return st


def terminated(exit_code: int, reason: str = "", signal: int = 0, name: str = "app") -> dict:
    term = {"exitCode": exit_code, "startedAt": ago(100), "finishedAt": ago(50)}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


def pod(containers: list[dict], init: list[dict] | None = None, phase: str = "Running",
        conditions: dict[str, str] | None = None, init_specs: list[dict] | None = None,
        deleting: bool = False, name: str = "web", **status) -> dict:
    names = [c["name"] for c in containers] or ["app"]
    spec = {"containers": [{"name": n, "image": "busybox"} for n in names], "nodeName": "node1"}
    if init is not None or init_specs is not None:
        spec["initContainers"] = init_specs or [{"name": c["name"], "image": "busybox"} for c in init or []]
    st = {"phase": phase, "containerStatuses": sorted(containers, key=lambda c: c["name"]),
          "conditions": [{"type": t, "status": s} for t, s in (conditions or {}).items()], **status}
    if init is not None:
        st["initContainerStatuses"] = init
    meta = {"name": name, "namespace": "default", "creationTimestamp": ago(300)}
    if deleting:
        meta["deletionTimestamp"] = ago(-30)
    return {"metadata": meta, "spec": spec, "status": st}


INIT2 = [{"name": "init1", "image": "busybox"}, {"name": "init2", "image": "busybox"}]
DONE = terminated(0, "Completed", name="init1")
INITIALIZED = {"Initialized": "True", "Ready": "True"}

STATUS_CASES = [
    ("pending_without_statuses", pod([], phase="Pending"), "Pending"),
    ("container_creating", pod([waiting("ContainerCreating")], phase="Pending"), "ContainerCreating"),
    ("pod_initializing", pod([waiting("PodInitializing")], init=[DONE, terminated(0, "Completed", name="init2")],
                             init_specs=INIT2, phase="Pending", conditions={"Initialized": "True"}),
     "PodInitializing"),
    ("init_0_of_2", pod([waiting("PodInitializing")], init=[
        {"name": "init1", "restartCount": 0, "state": {"running": {"startedAt": ago(5)}}},
        waiting("PodInitializing", name="init2")], init_specs=INIT2, phase="Pending"), "Init:0/2"),
    ("init_1_of_2", pod([waiting("PodInitializing")], init=[
        DONE, {"name": "init2", "restartCount": 0, "state": {"running": {"startedAt": ago(5)}}}],
        init_specs=INIT2, phase="Pending"), "Init:1/2"),
    ("init_error", pod([waiting("PodInitializing")], init=[terminated(1, "Error", name="init1")],
                       init_specs=INIT2, phase="Failed"), "Init:Error"),
    ("init_crashloopbackoff", pod([waiting("PodInitializing")], init=[waiting("CrashLoopBackOff", name="init1")],
                                  init_specs=INIT2, phase="Pending"), "Init:CrashLoopBackOff"),
    ("init_errimagepull", pod([waiting("PodInitializing")], init=[waiting("ErrImagePull", name="init1")],
                              init_specs=INIT2, phase="Pending"), "Init:ErrImagePull"),
    ("init_signal", pod([waiting("PodInitializing")], init=[terminated(137, signal=9, name="init1")],
                        init_specs=INIT2, phase="Pending"), "Init:Signal:9"),
    ("init_exitcode", pod([waiting("PodInitializing")], init=[terminated(3, name="init1")],
                          init_specs=INIT2, phase="Pending"), "Init:ExitCode:3"),
    ("running", pod([running()], conditions={"Ready": "True"}), "Running"),
    ("running_unready_stays_running", pod([running(ready=False)]), "Running"),
    ("completed", pod([terminated(0, "Completed")], phase="Succeeded"), "Completed"),
    ("not_ready_when_completed_beside_running", pod([terminated(0, "Completed", name="a"), running(name="b")],
                                                     conditions={"Ready": "False"}), "NotReady"),
    ("running_when_completed_beside_running_and_ready", pod([terminated(0, "Completed", name="a"), running(name="b")],
                                                            conditions={"Ready": "True"}), "Running"),
    ("error", pod([terminated(1, "Error")], phase="Failed"), "Error"),
    ("crashloopbackoff", pod([waiting("CrashLoopBackOff", restarts=3)]), "CrashLoopBackOff"),
    ("oomkilled", pod([terminated(137, "OOMKilled")], phase="Failed"), "OOMKilled"),
    ("errimagepull", pod([waiting("ErrImagePull")], phase="Pending"), "ErrImagePull"),
    ("imagepullbackoff", pod([waiting("ImagePullBackOff")], phase="Pending"), "ImagePullBackOff"),
    ("createcontainerconfigerror", pod([waiting("CreateContainerConfigError")], phase="Pending"),
     "CreateContainerConfigError"),
    ("terminating", pod([running()], deleting=True), "Terminating"),
    ("succeeded_pod_being_deleted_is_not_terminating", pod([terminated(0, "Completed")], phase="Succeeded",
                                                           deleting=True), "Completed"),
    ("signal", pod([terminated(143, signal=15)], phase="Failed"), "Signal:15"),
    ("exitcode", pod([terminated(2)], phase="Failed"), "ExitCode:2"),
    ("succeeded_phase_fallback", pod([running(ready=False)], phase="Succeeded"), "Succeeded"),
    ("failed_phase_fallback", pod([], phase="Failed"), "Failed"),
    ("status_reason_overrides_phase", pod([], phase="Failed", reason="Evicted"), "Evicted"),
    ("alphabetically_first_reason_wins", pod([waiting("ErrImagePull", name="b"), waiting("CrashLoopBackOff", name="a")]),
     "CrashLoopBackOff"),
]


@pytest.mark.parametrize("case,p,expected", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
def test_status_column_matches_kubectl_printpod(case: str, p: dict, expected: str) -> None:
    assert pod_row(p, NOW)["STATUS"] == expected


def test_crashlooping_container_shows_crashloopbackoff() -> None:
    last = {"exitCode": 1, "reason": "Error", "startedAt": ago(80), "finishedAt": ago(75)}
    row = pod_row(pod([waiting("CrashLoopBackOff", restarts=4, last=last)]), NOW)
    assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("0/1", "CrashLoopBackOff", "4 (75s ago)")


def test_restarts_without_last_state_has_no_ago() -> None:
    assert pod_row(pod([running(restarts=2)]), NOW)["RESTARTS"] == "2"


def test_restarts_show_the_newest_finish_across_containers() -> None:
    old = {"exitCode": 1, "finishedAt": ago(3600)}
    new = {"exitCode": 1, "finishedAt": ago(130)}
    row = pod_row(pod([running(restarts=1, last=old, name="a"), running(restarts=2, last=new, name="b")]), NOW)
    assert row["RESTARTS"] == "3 (2m10s ago)"


def test_zero_restarts_ignore_a_last_state() -> None:
    assert pod_row(pod([running(last={"exitCode": 0, "finishedAt": ago(10)})]), NOW)["RESTARTS"] == "0"


def test_sidecar_counted_in_ready_and_restarts() -> None:
    init_specs = [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}]
    sidecar = running(restarts=1, name="proxy", last={"exitCode": 1, "finishedAt": ago(20)})
    row = pod_row(pod([running()], init=[sidecar], init_specs=init_specs, conditions=INITIALIZED), NOW)
    assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("2/2", "Running", "1 (20s ago)")


def test_unstarted_sidecar_keeps_pod_initializing() -> None:
    init_specs = [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}]
    sidecar = {"name": "proxy", "ready": False, "started": False, "restartCount": 0,
               "state": {"running": {"startedAt": ago(2)}}}
    row = pod_row(pod([waiting("PodInitializing")], init=[sidecar], init_specs=init_specs, phase="Pending"), NOW)
    assert (row["READY"], row["STATUS"]) == ("0/2", "Init:0/1")


def test_init_restarts_count_while_initializing() -> None:
    failing = waiting("CrashLoopBackOff", name="init1", restarts=3,
                      last={"exitCode": 1, "reason": "Error", "finishedAt": ago(40)})
    row = pod_row(pod([waiting("PodInitializing")], init=[failing], init_specs=INIT2, phase="Pending"), NOW)
    assert (row["STATUS"], row["RESTARTS"]) == ("Init:CrashLoopBackOff", "3 (40s ago)")


def test_wide_columns_show_none_without_ip() -> None:
    row = pod_row(pod([waiting("ContainerCreating")], phase="Pending"), NOW)
    assert (row["IP"], row["NODE"], row["NOMINATED NODE"], row["READINESS GATES"]) == \
        ("<none>", "node1", "<none>", "<none>")


def test_readiness_gates_count_true_conditions() -> None:
    p = pod([running()], conditions={"example.com/gate": "True"}, podIPs=[{"ip": "10.88.0.7"}])
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/gate"}, {"conditionType": "other"}]
    row = pod_row(p, NOW)
    assert (row["IP"], row["READINESS GATES"]) == ("10.88.0.7", "1/2")


def test_age_is_human_duration_of_creation() -> None:
    assert pod_row(pod([running()]), NOW)["AGE"] == "5m"
    assert age(None, NOW) == "<unknown>"


# -- HumanDuration: every branch ---------------------------------------------------------------

@pytest.mark.parametrize("seconds,expected", [
    (-2, "<invalid>"), (-1.5, "0s"), (-1, "0s"), (0, "0s"), (0.9, "0s"), (1, "1s"), (119, "119s"),
    (120, "2m"), (121, "2m1s"), (599, "9m59s"), (600, "10m"), (10799, "179m"),
    (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600 - 1, "7h59m"), (8 * 3600, "8h"),
    (48 * 3600 - 1, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400 - 1, "7d23h"),
    (8 * 86400, "8d"), (730 * 86400 - 1, "729d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"),
    (8 * 365 * 86400 - 1, "7y364d"), (8 * 365 * 86400, "8y"), (20 * 365 * 86400, "20y"),
])
def test_human_duration_matches_apimachinery(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize("seconds,expected", [
    (-2, "<invalid>"), (-1, "0s"), (59, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"),
    (86399, "23h"), (86400, "1d"), (365 * 86400, "1y"),
])
def test_short_human_duration_matches_apimachinery(seconds: float, expected: str) -> None:
    assert short_human_duration(seconds) == expected


# -- layout ---------------------------------------------------------------------------------------

def test_columns_pad_to_widest_cell_plus_three_without_trailing_spaces() -> None:
    out = format_table([["web", "1/1"], ["a-much-longer-name", "0/1"]], ["NAME", "READY"])
    assert out == ("NAME                 READY\n"
                   "web                  1/1\n"
                   "a-much-longer-name   0/1\n")


def test_narrow_columns_get_kubectl_minimum_width_of_six() -> None:
    assert format_table([["a", "b"]], ["X", "Y"]) == "X     Y\na     b\n"


def test_pods_table_all_namespaces_prepends_namespace() -> None:
    out = pods_table([pod([running()], conditions={"Ready": "True"})], NOW, all_namespaces=True)
    assert out.splitlines() == [
        "NAMESPACE   NAME   READY   STATUS    RESTARTS   AGE",
        "default     web    1/1     Running   0          5m",
    ]


def test_pods_table_wide_and_no_headers() -> None:
    p = pod([running()], conditions={"Ready": "True"}, podIPs=[{"ip": "10.88.0.2"}])
    assert pods_table([p], NOW, wide=True, no_headers=True) == \
        "web   1/1   Running   0     5m    10.88.0.2   node1   <none>   <none>\n"


def test_pods_table_wide_headers() -> None:
    header = pods_table([pod([running()])], NOW, wide=True).splitlines()[0]
    assert header == ("NAME   READY   STATUS    RESTARTS   AGE   IP       NODE    "
                      "NOMINATED NODE   READINESS GATES")


def test_pod_names_for_output_name() -> None:
    assert pod_names([pod([running()], name="a"), pod([running()], name="b")]) == "pod/a\npod/b\n"


def test_tabwriter_aligns_each_block_separately() -> None:
    # a line without tabs ends the column block, as in Go's text/tabwriter
    text = "a:\t1\nlonger:\t2\nbreak\nx:\t3\n"
    assert tabwrite(text, 0, 8, 2) == "a:       1\nlonger:  2\nbreak\nx:  3\n"


# -- events -----------------------------------------------------------------------------------

def event(name: str, reason: str, last: float, count: int = 1, type_: str = "Normal", msg: str = "m") -> dict:
    return {"metadata": {"name": name, "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": reason, "message": msg + "\n", "type": type_, "count": count,
            "firstTimestamp": ago(last + 60 * (count - 1)), "lastTimestamp": ago(last),
            "source": {"component": "kubelet", "host": "node1"}}


def test_events_table_sorted_by_last_timestamp() -> None:
    evs = [event("b", "BackOff", 10, count=5, type_="Warning", msg="Back-off restarting failed container app"),
           event("a", "Scheduled", 300, msg="Successfully assigned default/web to node1")]
    assert events_table(evs, NOW).splitlines() == [
        "LAST SEEN   TYPE      REASON      OBJECT    MESSAGE",
        "5m          Normal    Scheduled   pod/web   Successfully assigned default/web to node1",
        "10s         Warning   BackOff     pod/web   Back-off restarting failed container app",
    ]


def test_events_table_all_namespaces() -> None:
    assert events_table([event("a", "Started", 5)], NOW, all_namespaces=True).splitlines()[1] == \
        "default     5s          Normal   Started   pod/web   m"
