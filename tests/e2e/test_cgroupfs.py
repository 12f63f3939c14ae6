"""A container's own cgroups at /sys/fs/cgroup through the daemon (issue 12): what a JVM or a
Go runtime reads to size itself, with `/` as its cgroup, read-only; `exec` agrees."""
from __future__ import annotations

from helpers import as_yaml, pod, sh
from podrun.kernel import cgroups

LIMIT_FILE = {1: "/sys/fs/cgroup/memory/memory.limit_in_bytes", 2: "/sys/fs/cgroup/memory.max"}


def test_a_container_reads_its_memory_limit_and_cannot_write_it(podrun):
    limit = LIMIT_FILE[cgroups.detect().version]
    script = (f"cat {limit}; cut -d: -f3 /proc/self/cgroup | sort -u; "
              f"(echo 1 > {limit}) 2>&1; sleep 3600")
    podrun.apply_text(as_yaml(pod("jvm", sh("main", script, resources={"limits": {"memory": "64Mi"}}))))
    podrun.wait_for("jvm", lambda p: podrun("logs", "jvm").stdout.count("\n") >= 3)
    out = podrun("logs", "jvm").stdout.splitlines()
    assert out[0] == "67108864" and out[1] == "/" and "Read-only file system" in out[2], out
    seen = podrun("exec", "jvm", "--", "cat", limit, "/proc/self/cgroup", check=True).stdout.splitlines()
    assert seen[0] == "67108864" and {line.split(":", 2)[2] for line in seen[1:]} == {"/"}, seen
    podrun("delete", "pod", "jvm", "--grace-period=0", "--force", check=True)
