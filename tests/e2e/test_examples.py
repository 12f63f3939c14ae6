"""The seed examples that need no probes, applied exactly as written in examples/."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from helpers import as_yaml, cstatus, phase, pod, running, sh, table

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")


def statuses(podrun) -> dict[str, str]:
    return {r["NAME"]: r["STATUS"] for r in table(podrun("get", "pods").stdout)}


def test_s11_every_status_word_is_reachable_from_the_statuses_example(podrun):
    out = podrun("apply", "-f", os.path.join(EXAMPLES, "statuses.yaml"))
    assert out.returncode == 0, out.stderr
    want = {"status-completed": {"Completed"}, "status-error": {"Error"},
            "status-crashloop": {"CrashLoopBackOff"}, "status-init-error": {"Init:Error"},
            "status-init-crashloop": {"Init:CrashLoopBackOff"},
            "status-imagepull": {"ImagePullBackOff"}, "status-running": {"Running"},
            "status-oomkilled": {"OOMKilled"}}
    seen: dict[str, set[str]] = {n: set() for n in want}
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and any(not (want[n] & seen[n]) for n in want):
        for name, st in statuses(podrun).items():
            seen[name].add(st)
        time.sleep(0.2)
    assert all(want[n] & seen[n] for n in want), seen
    assert "ErrImagePull" in seen["status-imagepull"] or "ImagePullBackOff" in seen["status-imagepull"]
    assert phase(podrun.pod("status-error")) == "Failed"
    assert phase(podrun.pod("status-completed")) == "Succeeded"
    assert phase(podrun.pod("status-crashloop")) == "Running"       # restarting, as the kubelet says
    assert phase(podrun.pod("status-init-crashloop")) == "Pending"
    d = podrun("describe", "pod", "status-crashloop").stdout
    assert "Reason:       CrashLoopBackOff" in d and "Last State:     Terminated" in d


def test_s13_termination_message_example(podrun):
    podrun("apply", "-f", os.path.join(EXAMPLES, "termination-message.yaml"), check=True)
    p = podrun.wait_for("termination-demo", lambda p: phase(p) == "Succeeded", timeout=20)
    t = cstatus(p, "termination-demo-container")["state"]["terminated"]
    assert (t["message"], t["exitCode"]) == ("Sleep expired\n", 0)
    assert "Sleep expired" in podrun("describe", "pod", "termination-demo").stdout


def test_logs_follow_streams_until_the_container_ends_and_since_filters(podrun):
    podrun.apply_text(as_yaml(pod("talker", sh("main", "for i in 1 2 3 4 5; do echo line-$i; sleep 0.5; done"),
                                  restart="Never")))
    podrun.wait_for("talker", running)
    follow = subprocess.run([sys.executable, "-m", "podrun", "logs", "-f", "talker"], env=podrun.env,
                            capture_output=True, text=True, timeout=30)
    assert follow.stdout == "".join(f"line-{i}\n" for i in range(1, 6)), follow.stdout
    podrun.wait_for("talker", lambda p: phase(p) == "Succeeded")
    assert podrun("logs", "talker", "--since", "1h").stdout.count("line-") == 5
    assert podrun("logs", "talker", "--tail", "2").stdout == "line-4\nline-5\n"


def test_delete_by_file_deletes_the_pods_it_names(podrun, tmp_path):
    f = tmp_path / "two.yaml"
    f.write_text(as_yaml(pod("by-file-a", sh("main", "sleep 3600")), pod("by-file-b", sh("main", "sleep 3600"))))
    podrun("apply", "-f", str(f), check=True)
    out = podrun("delete", "-f", str(f), "--grace-period=1")
    assert out.stdout == 'pod "by-file-a" deleted\npod "by-file-b" deleted\n', out.stderr
    assert podrun("get", "pods").stdout == ""


def test_s15_resources_example_memory_limit_oomkills_and_cpu_limit_throttles(podrun):
    podrun("apply", "-f", os.path.join(EXAMPLES, "resources.yaml"), check=True)
    spinner = podrun.wait_for("cpu-spinner", running)
    assert spinner["status"]["qosClass"] == "Guaranteed"
    hog = podrun.wait_for("memory-hog", lambda p: cstatus(p, "hog")["restartCount"] >= 1
                          and "terminated" in cstatus(p, "hog").get("lastState", {}), timeout=60)
    last = cstatus(hog, "hog")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    assert hog["status"]["qosClass"] == "Burstable"
    assert "Reason:       OOMKilled" in podrun("describe", "pod", "memory-hog").stdout
    cpu = table(podrun("top", "pod", "cpu-spinner", check=True).stdout)[0]["CPU(cores)"]
    assert 100 <= int(cpu.rstrip("m")) <= 300, cpu      # 200m, with room for a busy machine
