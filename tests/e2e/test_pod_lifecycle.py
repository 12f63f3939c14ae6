"""Pods run for real through the CLI: init containers, shared volumes, restarts, logs, delete."""
from __future__ import annotations

import json
import os
import time

from helpers import as_yaml, cstatus, phase, pod, running, sh, state, table


def test_apply_prints_created_and_pod_reaches_running(podrun):
    out = podrun.apply_text(as_yaml(pod("simple", sh("main", "echo hello; sleep 3600"))))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "pod/simple created\n"
    p = podrun.wait_for("simple", running)
    assert cstatus(p, "main")["ready"] is True
    rows = table(podrun("get", "pods").stdout)
    assert rows[0]["NAME"] == "simple" and rows[0]["READY"] == "1/1" and rows[0]["STATUS"] == "Running"
    assert podrun("logs", "simple").stdout == "hello\n"


def test_two_containers_share_an_emptydir_but_not_their_roots(podrun):
    spec = pod("share",
               sh("a", "echo from-a > /shared/a; echo private > /root-a; sleep 3600",
                  volumeMounts=[{"name": "data", "mountPath": "/shared"}]),
               sh("b", "sleep 3600", volumeMounts=[{"name": "data", "mountPath": "/data"}]),
               volumes=[{"name": "data", "emptyDir": {}}])
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("share", running)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = podrun("exec", "share", "-c", "b", "--", "cat", "/data/a")
        if seen.returncode == 0:
            break
        time.sleep(0.2)
    assert seen.stdout == "from-a\n"
    assert podrun("exec", "share", "-c", "b", "--", "ls", "/root-a").returncode != 0
    assert podrun("exec", "share", "-c", "a", "--", "cat", "/root-a").stdout == "private\n"


def test_hostname_equals_the_pod_name_in_every_container(podrun):
    podrun.apply_text(as_yaml(pod("named-pod", sh("one", "hostname; sleep 3600"), sh("two", "hostname; sleep 3600"))))
    podrun.wait_for("named-pod", running)
    for c in ("one", "two"):
        deadline = time.monotonic() + 10
        while podrun("logs", "named-pod", "-c", c).stdout == "" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert podrun("logs", "named-pod", "-c", c).stdout == "named-pod\n"


def test_spec_hostname_overrides_the_pod_name(podrun):
    podrun.apply_text(as_yaml(pod("host-pod", sh("main", "hostname; sleep 3600"), hostname="custom-host")))
    podrun.wait_for("host-pod", running)
    deadline = time.monotonic() + 10
    while podrun("logs", "host-pod").stdout == "" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert podrun("logs", "host-pod").stdout == "custom-host\n"


def test_init_containers_run_strictly_in_order_before_the_main_container(podrun):
    inits = [sh(f"init-{i}", f"echo init-{i} >> /work/order; sleep 0.3",
                volumeMounts=[{"name": "w", "mountPath": "/work"}]) for i in (1, 2, 3)]
    spec = pod("ordered", sh("main", "echo main >> /work/order; cat /work/order; sleep 3600",
                             volumeMounts=[{"name": "w", "mountPath": "/work"}]),
               init=inits, volumes=[{"name": "w", "emptyDir": {}}])
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("ordered", running)
    for i in (1, 2, 3):
        t = cstatus(p, f"init-{i}")["state"]["terminated"]
        assert (t["exitCode"], t["reason"]) == (0, "Completed")
    deadline = time.monotonic() + 10
    while "main" not in podrun("logs", "ordered").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert podrun("logs", "ordered").stdout == "init-1\ninit-2\ninit-3\nmain\n"
    assert podrun("logs", "ordered", "-c", "init-2").stdout == ""
    assert podrun("get", "pods", "ordered").stdout.split("\n")[1].split()[2] == "Running"


def test_failing_init_container_with_restart_never_fails_the_pod(podrun):
    spec = pod("init-fail", sh("main", "sleep 3600"), restart="Never", init=[sh("init", "echo no; exit 3")])
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("init-fail", lambda p: phase(p) == "Failed")
    assert cstatus(p, "init")["state"]["terminated"]["exitCode"] == 3
    assert state(p, "main") == "waiting"
    assert table(podrun("get", "pods", "init-fail").stdout)[0]["STATUS"] == "Init:Error"
    conds = {c["type"]: c for c in p["status"]["conditions"]}
    assert conds["Initialized"]["status"] == "False"
    assert conds["Initialized"]["message"] == "containers with incomplete status: [init]"


def test_failing_init_container_with_restart_always_crashloops(podrun):
    spec = pod("init-loop", sh("main", "sleep 3600"), init=[sh("init", "exit 1")])
    podrun.apply_text(as_yaml(spec))
    p = podrun.wait_for("init-loop", lambda p: cstatus(p, "init")["restartCount"] >= 1
                        and state(p, "init") == "waiting")
    assert phase(p) == "Pending"
    assert table(podrun("get", "pods", "init-loop").stdout)[0]["STATUS"] == "Init:CrashLoopBackOff"


def test_crashing_container_restarts_at_once_then_after_10s_then_after_20s(podrun):
    # Each run prints its start time into its own log file (run N -> N.log): the gaps between
    # runs are read from there, not from polling, which cannot see a restart that takes 5 ms.
    from podrun.runtime.logfile import read_entries
    podrun.apply_text(as_yaml(pod("crasher", sh("main", "read up _ < /proc/uptime; echo $up; exit 1"))))
    p = podrun.wait_for("crasher", lambda p: cstatus(p, "main")["restartCount"] >= 3
                        and state(p, "main") != "running", timeout=70)
    meta = p["metadata"]
    t = []
    for run in range(4):
        path = podrun.roots.log_file("default", "crasher", meta["uid"], "main", run)
        t.append(float(read_entries(path)[0].content))
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert gaps[0] < 3, gaps                  # first exit: restart at once
    assert 9.5 <= gaps[1] <= 14, gaps         # then 10 s
    assert 19.5 <= gaps[2] <= 25, gaps        # then 20 s
    assert cstatus(p, "main")["restartCount"] >= 3


def test_crashloop_shows_kubelet_reason_and_message(podrun):
    podrun.apply_text(as_yaml(pod("looper", sh("main", "exit 2"))))
    p = podrun.wait_for("looper", lambda p: cstatus(p, "main").get("state", {}).get("waiting", {}).get("reason")
                        == "CrashLoopBackOff")
    cs = cstatus(p, "main")
    uid = p["metadata"]["uid"]
    assert cs["state"]["waiting"]["message"] == \
        f"back-off 10s restarting failed container=main pod=looper_default({uid})"
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    row = table(podrun("get", "pods", "looper").stdout)[0]
    assert row["STATUS"] == "CrashLoopBackOff"
    assert row["RESTARTS"].startswith("1 (") and row["RESTARTS"].endswith(" ago)")
    assert phase(p) == "Running"


def test_restart_policies_follow_the_kubelet(podrun):
    # e2e runtime.go "should run with the expected status": fail on run 1, succeed on run 2, then loop.
    script = ("if [ -f /state/ran ]; then if [ -f /state/ok ]; then while true; do sleep 1; done; fi; "
              "touch /state/ok; exit 0; fi; touch /state/ran; exit 1")
    pods = [pod(f"policy-{r.lower()}", sh("main", script, volumeMounts=[{"name": "s", "mountPath": "/state"}]),
                restart=r, volumes=[{"name": "s", "emptyDir": {}}]) for r in ("Always", "OnFailure", "Never")]
    podrun.apply_text(as_yaml(*pods))
    p = podrun.wait_for("policy-never", lambda p: phase(p) == "Failed")
    assert cstatus(p, "main")["restartCount"] == 0
    p = podrun.wait_for("policy-onfailure", lambda p: phase(p) == "Succeeded", timeout=40)
    assert cstatus(p, "main")["restartCount"] == 1
    assert cstatus(p, "main")["state"]["terminated"]["reason"] == "Completed"
    p = podrun.wait_for("policy-always", lambda p: cstatus(p, "main")["restartCount"] == 2
                        and state(p, "main") == "running", timeout=40)
    assert phase(p) == "Running" and cstatus(p, "main")["ready"] is True


def test_logs_previous_shows_the_run_before_the_restart(podrun):
    spec = pod("prev", sh("main", "if [ -f /s/x ]; then echo second; sleep 3600; fi; touch /s/x; echo first; exit 1",
                          volumeMounts=[{"name": "s", "mountPath": "/s"}]),
               volumes=[{"name": "s", "emptyDir": {}}])
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("prev", lambda p: cstatus(p, "main")["restartCount"] == 1 and state(p, "main") == "running")
    deadline = time.monotonic() + 10
    while podrun("logs", "prev").stdout != "second\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert podrun("logs", "prev").stdout == "second\n"
    assert podrun("logs", "prev", "-p").stdout == "first\n"
    ts = podrun("logs", "prev", "--timestamps").stdout
    assert ts.endswith(" second\n") and ts[:4].isdigit() and "T" in ts.split()[0]


def test_logs_previous_without_a_previous_run_is_kubectls_error(podrun):
    podrun.apply_text(as_yaml(pod("noprev", sh("main", "sleep 3600"))))
    podrun.wait_for("noprev", running)
    out = podrun("logs", "noprev", "-p")
    assert out.returncode == 1
    assert out.stderr.strip() == ('Error from server (BadRequest): previous terminated container "main" '
                                  'in pod "noprev" not found')


def test_logs_default_container_rule_says_which_it_chose(podrun):
    spec = pod("multi", sh("first", "echo one; sleep 3600"), sh("second", "echo two; sleep 3600"))
    spec["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "second"}
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("multi", running)
    deadline = time.monotonic() + 10
    while podrun("logs", "multi").stdout != "two\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    out = podrun("logs", "multi")
    assert out.stdout == "two\n"
    assert out.stderr == ""   # the annotation's choice is silent (kubectl logsforobject.go)
    assert podrun("logs", "multi", "--tail", "0").stdout == ""
    del spec["metadata"]["annotations"]
    spec["metadata"]["name"] = "multi2"
    podrun.apply_text(as_yaml(spec))
    podrun.wait_for("multi2", running)
    assert podrun("logs", "multi2").stderr == 'Defaulted container "first" out of: first, second\n'


def test_termination_message_from_the_file_and_fallback_to_logs(podrun):
    a = pod("msg-file", sh("main", "echo -n 'Sleep expired' > /dev/termination-log"), restart="Never")
    b = pod("msg-fallback", sh("main", "echo -n DONE; false", terminationMessagePolicy="FallbackToLogsOnError"),
            restart="Never")
    c = pod("msg-custom", sh("main", "echo OK > /tmp/msg; echo DONE", terminationMessagePath="/tmp/msg",
                             terminationMessagePolicy="FallbackToLogsOnError"), restart="Never")
    podrun.apply_text(as_yaml(a, b, c))
    p = podrun.wait_for("msg-file", lambda p: phase(p) == "Succeeded")
    t = cstatus(p, "main")["state"]["terminated"]
    assert (t["message"], t["exitCode"], t["reason"]) == ("Sleep expired", 0, "Completed")
    p = podrun.wait_for("msg-fallback", lambda p: phase(p) == "Failed")
    assert cstatus(p, "main")["state"]["terminated"]["message"] == "DONE"
    p = podrun.wait_for("msg-custom", lambda p: phase(p) == "Succeeded")
    assert cstatus(p, "main")["state"]["terminated"]["message"] == "OK\n"


def test_container_killed_by_a_signal_reports_it(podrun):
    # A PID-namespace init ignores signals sent from inside, so the kill comes from the host.
    podrun.apply_text(as_yaml(pod("sig", sh("main", "sleep 3600"), restart="Never")))
    started = podrun.wait_for("sig", running)
    with open(podrun.roots.container_file(started, "main")) as f:
        os.kill(json.load(f)["pid"], 9)
    p = podrun.wait_for("sig", lambda p: phase(p) == "Failed")
    t = cstatus(p, "main")["state"]["terminated"]
    assert (t["exitCode"], t["reason"], t.get("signal")) == (137, "Error", 9)
    assert table(podrun("get", "pods", "sig").stdout)[0]["STATUS"] == "Error"


def test_delete_waits_for_the_grace_period_then_kills(podrun):
    # sleep as PID 1 ignores SIGTERM (no handler): the kill comes at the end of the grace period.
    podrun.apply_text(as_yaml(pod("slow-stop", sh("main", "sleep 3600"), terminationGracePeriodSeconds=3)))
    podrun.wait_for("slow-stop", running)
    t0 = time.monotonic()
    out = podrun("delete", "pod", "slow-stop")
    took = time.monotonic() - t0
    assert out.stdout == 'pod "slow-stop" deleted\n'
    assert 2.5 <= took <= 10, took
    assert podrun("get", "pod", "slow-stop").returncode == 1


def test_delete_of_a_sigterm_handling_container_is_quick(podrun):
    podrun.apply_text(as_yaml(pod("quick-stop", sh("main", "trap 'exit 0' TERM; while true; do sleep 0.1; done"))))
    podrun.wait_for("quick-stop", running)
    t0 = time.monotonic()
    assert podrun("delete", "pod", "quick-stop").returncode == 0
    assert time.monotonic() - t0 < 3


def test_force_delete_with_zero_grace_kills_at_once(podrun):
    podrun.apply_text(as_yaml(pod("forced", sh("main", "sleep 3600"))))
    podrun.wait_for("forced", running)
    t0 = time.monotonic()
    out = podrun("delete", "pod", "forced", "--force", "--grace-period=0")
    assert time.monotonic() - t0 < 3
    assert out.stdout == 'pod "forced" force deleted\n'
    assert "Immediate deletion does not wait" in out.stderr


def test_delete_of_a_missing_pod_is_kubectls_not_found(podrun):
    out = podrun("delete", "pod", "ghost")
    assert out.returncode == 1
    assert out.stderr.strip() == 'Error from server (NotFound): pods "ghost" not found'


def test_missing_image_waits_with_errimagepull_then_starts_once_tagged(podrun, busybox_image):
    podrun.apply_text(as_yaml(pod("pull", {"name": "main", "image": "habor-repo.com/library/busybox:v1",
                                           "command": ["sleep", "3600"]})))
    p = podrun.wait_for("pull", lambda p: cstatus(p, "main").get("state", {}).get("waiting", {}).get("reason")
                        in ("ErrImagePull", "ImagePullBackOff"))
    msg = cstatus(p, "main")["state"]["waiting"]["message"]
    assert "habor-repo.com/library/busybox:v1" in msg
    podrun.wait_for("pull", lambda p: state(p, "main") == "waiting" and
                    cstatus(p, "main")["state"]["waiting"]["reason"] == "ImagePullBackOff")
    assert table(podrun("get", "pods", "pull").stdout)[0]["STATUS"] == "ImagePullBackOff"
    events = podrun("get", "events").stdout
    assert 'Failed to pull image "habor-repo.com/library/busybox:v1"' in events
    assert podrun("image", "tag", "busybox", "habor-repo.com/library/busybox:v1").returncode == 0
    try:
        podrun.wait_for("pull", running, timeout=30)
    finally:
        podrun("image", "rm", "habor-repo.com/library/busybox:v1")


def test_share_process_namespace_makes_pause_pid_1(podrun):
    podrun.apply_text(as_yaml(pod("shared-pid", sh("main", "sleep 3600"), shareProcessNamespace=True)))
    podrun.wait_for("shared-pid", running)
    out = podrun("exec", "shared-pid", "--", "cat", "/proc/1/cmdline")
    assert out.returncode == 0, out.stderr
    assert "pause" in out.stdout
