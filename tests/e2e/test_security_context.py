"""securityContext through the daemon, as a user meets it: the refusal of a root image under
runAsNonRoot, and exec running as the container's user with its capabilities and cgroup.
The confinement itself (capabilities, masked paths, escapes) is tested in tests/kernel."""
from __future__ import annotations

from helpers import as_yaml, cstatus, pod, running, sh, table

DEFAULT_CAPS = 0x00000000a80425fb   # containerd's 14 default capabilities


def test_run_as_non_root_refuses_a_root_image_with_the_kubelets_error(podrun):
    podrun.apply_text(as_yaml(pod("nonroot", sh("main", "sleep 3600"),
                                  securityContext={"runAsNonRoot": True})))
    p = podrun.wait_for("nonroot", lambda p: cstatus(p, "main").get("state", {}).get("waiting", {})
                        .get("reason") == "CreateContainerConfigError")
    uid = p["metadata"]["uid"]
    msg = f'container has runAsNonRoot and image will run as root (pod: "nonroot_default({uid})", container: main)'
    assert cstatus(p, "main")["state"]["waiting"]["message"] == msg
    assert table(podrun("get", "pods").stdout)[0]["STATUS"] == "CreateContainerConfigError"
    events = podrun("get", "events").stdout
    assert f"Error: {msg}" in events
    # the same pod with a non-root user runs
    podrun.apply_text(as_yaml(pod("nonroot-ok", sh("main", "sleep 3600"),
                                  securityContext={"runAsNonRoot": True, "runAsUser": 1000})))
    podrun.wait_for("nonroot-ok", running)


def test_exec_runs_as_the_containers_user_with_its_capabilities(podrun):
    podrun.apply_text(as_yaml(
        pod("users", sh("app", "sleep 3600", securityContext={"runAsUser": 1000, "runAsGroup": 3000}),
            sh("root", "sleep 3600", securityContext={"capabilities": {"drop": ["CHOWN"], "add": ["NET_ADMIN"]}}),
            securityContext={"supplementalGroups": [4000], "fsGroup": 2000})))
    podrun.wait_for("users", running)
    ids = podrun("exec", "users", "-c", "app", "--", "id", check=True).stdout.split()
    assert ids[:2] == ["uid=1000", "gid=3000"] and "2000" in ids[2] and "4000" in ids[2]
    status = podrun("exec", "users", "-c", "root", "--", "cat", "/proc/self/status", check=True).stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    want = (DEFAULT_CAPS & ~(1 << 0)) | (1 << 12)     # - CAP_CHOWN + CAP_NET_ADMIN
    assert int(fields["CapEff"], 16) == want and int(fields["CapBnd"], 16) == want
    assert podrun("exec", "users", "-c", "root", "--", "chown", "1:1", "/tmp").returncode != 0
