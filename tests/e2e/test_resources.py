"""Resource limits end to end: the pod's cgroups, the pids limit, top, exec in the cgroup.
OOMKilled and the CPU quota are tested on examples/resources.yaml (S15) in test_examples.py.

The cgroup tests run on whichever hierarchy this machine has (the session daemon detects it);
the v2 code path is also exercised on a private cgroup2 mount in tests/kernel.
"""
from __future__ import annotations

import json
import re
import time

from helpers import as_yaml, cstatus, phase, pod, running, sh, table


def _cgroup_of(podrun, name: str, container: str, controller: str) -> str:
    """The container's cgroup path for one controller, as the host sees it (inside, its own
    cgroup namespace shows "/"); checks that `exec` runs in that cgroup and namespace: the
    exec'd shell is listed in the cgroup.procs of the container's /sys/fs/cgroup view."""
    out = podrun("exec", name, "-c", container, "--", "sh", "-c",
                 "cat /proc/self/cgroup; echo pid=$$; cat /sys/fs/cgroup/memory/cgroup.procs "
                 "/sys/fs/cgroup/cgroup.procs 2>/dev/null; true", check=True).stdout
    lines = out.splitlines()
    assert {line.split(":", 2)[2] for line in lines if line.count(":") >= 2} == {"/"}, out
    pid = next(line[4:] for line in lines if line.startswith("pid="))
    assert pid in lines[lines.index("pid=" + pid) + 1:], out
    with open(podrun.roots.container_file(podrun.pod(name), container)) as f:
        host_pid = json.load(f)["pid"]
    with open(f"/proc/{host_pid}/cgroup") as f:
        paths = {ctrl: path for line in f.read().splitlines()
                 for ctrls, path in [line.split(":", 2)[1:]] for ctrl in ctrls.split(",")}
    return paths.get(controller) or paths[""]   # v1: per controller; v2: the one "0::" line


def test_top_reports_a_container_holding_50_mib(podrun):
    podrun.apply_text(as_yaml(pod("holder",
                                  sh("hold", "dd if=/dev/zero of=/dev/shm/x bs=1M count=50 2>/dev/null; "
                                             "echo held; sleep 3600"),
                                  sh("idle", "sleep 3600"))))
    podrun.wait_for("holder", running)
    deadline = time.monotonic() + 20
    while podrun("logs", "holder", "-c", "hold").stdout != "held\n" and time.monotonic() < deadline:
        time.sleep(0.2)
    rows = {r["NAME"]: r for r in table(podrun("top", "pod", "holder", "--containers", check=True).stdout)}
    held = int(rows["hold"]["MEMORY(bytes)"].rstrip("Mi"))
    assert 50 <= held <= 60, rows
    assert int(rows["idle"]["MEMORY(bytes)"].rstrip("Mi")) < 5
    assert int(rows["idle"]["CPU(cores)"].rstrip("m")) < 50


def test_fork_bomb_stops_at_the_pod_pids_limit_and_the_node_survives(podrun):
    bomb = "bomb() { bomb | bomb & }; bomb; sleep 3600"
    podrun.apply_text(as_yaml(pod("bomb", sh("bomb", bomb))))
    p = podrun.wait_for("bomb", lambda p: phase(p) in ("Running", "Failed", "Succeeded"))
    pod_cg = f"{podrun.env['PODRUN_CGROUP_PARENT']}/besteffort/pod{p['metadata']['uid']}"
    from podrun.kernel import cgroups
    layout = cgroups.detect()
    assert layout.has("pids")
    limit = int(open(f"{layout.mounts['pids']}/{pod_cg}/pids.max").read())
    assert limit == 1024
    time.sleep(3)
    assert int(open(f"{layout.mounts['pids']}/{pod_cg}/pids.current").read()) <= limit
    # the node still starts pods and answers
    podrun.apply_text(as_yaml(pod("after-bomb", sh("ok", "echo alive; sleep 3600"))))
    podrun.wait_for("after-bomb", running, timeout=60)
    assert podrun("delete", "pod", "bomb", "--grace-period=1", timeout=120).returncode == 0


def test_exec_runs_in_the_containers_cgroup_and_cgroups_go_with_the_pod(podrun):
    podrun.apply_text(as_yaml(pod("cgs", sh("a", "sleep 3600"), sh("b", "sleep 3600"))))
    p = podrun.wait_for("cgs", running)
    a, b = _cgroup_of(podrun, "cgs", "a", "memory"), _cgroup_of(podrun, "cgs", "b", "memory")
    base = f"/{podrun.env['PODRUN_CGROUP_PARENT']}/besteffort/pod{p['metadata']['uid']}/"
    assert a.startswith(base) and b.startswith(base) and a != b
    assert re.fullmatch(r"[0-9a-f]{64}", a[len(base):])
    from podrun.kernel import cgroups
    mount = cgroups.detect().mounts["memory"]
    import os
    assert os.path.isdir(mount + base)
    podrun("delete", "pod", "cgs", "--grace-period=1", check=True)
    assert not os.path.exists(mount + base)
