"""seccompProfile through the daemon: the node's RuntimeDefault, Unconfined, a Localhost profile
in the node's seccomp directory (<lib>/seccomp), a missing one, and exec under the container's
filter. The filter's rules themselves are tested in tests/kernel/test_seccomp.py."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import as_yaml, cstatus, pod, running, sh

SHOW = "grep Seccomp: /proc/self/status; sleep 3600"


def _mode(podrun, name: str, container: str) -> str:
    out = podrun("exec", name, "-c", container, "--", "grep", "Seccomp:", "/proc/1/status", check=True).stdout
    return out.split()[1]


def test_default_is_runtime_default_and_the_container_wins_over_the_pod(podrun):
    podrun.apply_text(as_yaml(
        pod("scmp-default", sh("main", SHOW)),
        pod("scmp-mixed", sh("pods", SHOW),
            sh("own", SHOW, securityContext={"seccompProfile": {"type": "RuntimeDefault"}}),
            securityContext={"seccompProfile": {"type": "Unconfined"}})))
    podrun.wait_for("scmp-default", running)
    podrun.wait_for("scmp-mixed", running)
    assert _mode(podrun, "scmp-default", "main") == "2"
    assert _mode(podrun, "scmp-mixed", "pods") == "0"
    assert _mode(podrun, "scmp-mixed", "own") == "2"
    logs = podrun("logs", "scmp-default", check=True).stdout
    assert logs.split() == ["Seccomp:", "2"]


def test_exec_runs_under_the_containers_filter(podrun):
    unconfined = {"seccompProfile": {"type": "Unconfined"}}
    podrun.apply_text(as_yaml(pod("scmp-exec", sh("main", "sleep 3600"),
                                  sh("free", "sleep 3600", securityContext=unconfined))))
    podrun.wait_for("scmp-exec", running)
    out = podrun("exec", "scmp-exec", "-c", "main", "--", "grep", "Seccomp:", "/proc/self/status", check=True).stdout
    assert out.split() == ["Seccomp:", "2"]
    blocked = podrun("exec", "scmp-exec", "-c", "main", "--", "unshare", "-Urn", "true")
    assert blocked.returncode != 0 and "Operation not permitted" in blocked.stderr
    assert podrun("exec", "scmp-exec", "-c", "free", "--", "unshare", "-Urn", "true").returncode == 0


@pytest.fixture
def seccomp_dir(roots):
    path = os.path.join(roots.lib, "seccomp")
    os.makedirs(path, exist_ok=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_localhost_profile_from_the_nodes_seccomp_directory(podrun, seccomp_dir):
    os.makedirs(os.path.join(seccomp_dir, "profiles"))
    with open(os.path.join(seccomp_dir, "profiles", "no-mkdir.json"), "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]}, f)
    local = {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/no-mkdir.json"}}
    podrun.apply_text(as_yaml(pod("scmp-local", sh("main", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo ok",
                                                    securityContext=local), restart="Never")))
    podrun.wait_for("scmp-local", lambda p: cstatus(p, "main").get("state", {}).get("terminated"))
    logs = podrun("logs", "scmp-local", check=True).stdout
    assert "Read-only file system" in logs and "rc=1" in logs and "ok" in logs, logs


def test_a_missing_localhost_profile_fails_the_container_with_containerds_words(podrun, seccomp_dir):
    local = {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/missing.json"}}
    podrun.apply_text(as_yaml(pod("scmp-missing", sh("main", "sleep 3600"), securityContext=local)))
    p = podrun.wait_for("scmp-missing", lambda p: cstatus(p, "main").get("state", {}).get("waiting", {})
                        .get("reason") == "CreateContainerError")
    path = os.path.join(seccomp_dir, "profiles", "missing.json")
    msg = f'cannot load seccomp profile "{path}": open {path}: no such file or directory'
    assert cstatus(p, "main")["state"]["waiting"]["message"] == msg
    assert f"Error: {msg}" in podrun("get", "events").stdout


def test_bad_seccomp_profiles_are_refused_by_the_api_server(podrun):
    out = podrun.apply_text(as_yaml(pod("scmp-bad", sh("main", "true"),
                                        securityContext={"seccompProfile": {"type": "Localhost"}})))
    assert out.returncode != 0
    assert "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when " \
           "seccomp type is Localhost" in out.stderr
