"""The CLI as kubectl users know it: apply's all-or-nothing, get's outputs, the daemon's rules."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import yaml

from helpers import as_yaml, cstatus, phase, pod, running, sh, table


def test_reapplying_the_same_manifest_says_unchanged(podrun):
    text = as_yaml(pod("same", sh("main", "sleep 3600")))
    assert podrun.apply_text(text).stdout == "pod/same created\n"
    assert podrun.apply_text(text).stdout == "pod/same unchanged\n"


def test_a_changed_spec_is_refused_like_kubernetes_and_force_recreates(podrun):
    podrun.apply_text(as_yaml(pod("immut", sh("main", "sleep 3600"))))
    podrun.wait_for("immut", running)
    uid = podrun.pod("immut")["metadata"]["uid"]
    changed = as_yaml(pod("immut", sh("main", "sleep 3601")))
    out = podrun.apply_text(changed)
    assert out.returncode == 1
    assert 'The Pod "immut" is invalid' in out.stderr and "Forbidden" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    out = podrun("apply", "-f", "-", "--force", input=changed)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "pod/immut configured\n"
    assert podrun.pod("immut")["metadata"]["uid"] != uid


def test_changing_only_the_image_restarts_the_container(podrun, busybox_image):
    podrun("image", "tag", "busybox", "busybox:other", check=True)
    try:
        podrun.apply_text(as_yaml(pod("img", sh("main", "sleep 3600"))))
        podrun.wait_for("img", running)
        out = podrun.apply_text(as_yaml(pod("img", sh("main", "sleep 3600", image="busybox:other"))))
        assert out.stdout == "pod/img configured\n", out.stderr
        p = podrun.wait_for("img", lambda p: cstatus(p, "main")["restartCount"] == 1 and running(p))
        assert cstatus(p, "main")["image"] == "busybox:other" or p["spec"]["containers"][0]["image"] == "busybox:other"
    finally:
        podrun("delete", "pod", "img", "--force", "--grace-period=0")
        podrun("image", "rm", "busybox:other")


def test_apply_takes_several_documents_a_directory_and_stdin(podrun, tmp_path):
    (tmp_path / "a.yaml").write_text(as_yaml(pod("dir-a", sh("main", "sleep 3600")),
                                             pod("dir-b", sh("main", "sleep 3600"))))
    (tmp_path / "c.yml").write_text(as_yaml(pod("dir-c", sh("main", "sleep 3600"))))
    out = podrun("apply", "-f", str(tmp_path))
    assert out.stdout == "pod/dir-a created\npod/dir-b created\npod/dir-c created\n", out.stderr
    out = podrun("apply", str(tmp_path / "c.yml"))
    assert out.stdout == "pod/dir-c unchanged\n"


def test_bad_input_names_file_document_and_field_and_starts_nothing(podrun, tmp_path):
    good = pod("would-start", sh("main", "sleep 3600"))
    bad = pod("bad-one", sh("main", "sleep 3600"))
    bad["spec"]["containers"][0]["livenessProbe"] = {"exec": {"command": ["true"]}, "periodSeconds": "ten"}
    f = tmp_path / "mixed.yaml"
    f.write_text(as_yaml(good, bad))
    out = podrun("apply", "-f", str(f))
    assert out.returncode == 1
    line = out.stderr.strip()
    assert str(f) in line and "document 2" in line
    assert "spec.containers[0].livenessProbe.periodSeconds" in line
    assert podrun("get", "pods").stdout == ""
    assert not os.listdir(podrun.roots.pods_dir) if os.path.isdir(podrun.roots.pods_dir) else True


def test_every_bad_input_rule_is_refused_through_the_cli(podrun, tmp_path):
    cases = {
        "malformed yaml": "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n",
        "unknown kind": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
        "unknown field": as_yaml(pod("x", {"name": "c", "image": "busybox", "imagee": "y"})),
        "wrong type": as_yaml(pod("x", {"name": "c", "image": "busybox", "command": "sleep"})),
        "missing image": as_yaml(pod("x", {"name": "c"})),
        "bad name": as_yaml(pod("Bad_Name", sh("c", "true"))),
        "duplicate containers": as_yaml(pod("x", sh("c", "true"), sh("c", "true"))),
        "mount without volume": as_yaml(pod("x", sh("c", "true", volumeMounts=[{"name": "v", "mountPath": "/v"}]))),
        "relative hostPath": as_yaml(pod("x", sh("c", "true"), volumes=[{"name": "v", "hostPath": {"path": "rel"}}])),
        "port out of range": as_yaml(pod("x", sh("c", "true", ports=[{"containerPort": 70000}]))),
    }
    for what, text in cases.items():
        out = podrun.apply_text(text)
        assert out.returncode == 1, what
        assert out.stderr.count("\n") >= 1 and "<stdin>" in out.stderr and "document 1" in out.stderr, (what, out.stderr)
        assert out.stdout == "", what
    assert podrun("get", "pods").stdout == ""


def test_get_outputs_json_yaml_name_and_wide(podrun):
    spec = pod("outputs", sh("main", "sleep 3600"))
    spec["metadata"]["labels"] = {"app": "web"}
    podrun.apply_text(as_yaml(spec, pod("other", sh("main", "sleep 3600"))))
    podrun.wait_for("outputs", running)
    p = json.loads(podrun("get", "pod", "outputs", "-o", "json").stdout)
    assert p["apiVersion"] == "v1" and p["kind"] == "Pod"
    assert p["spec"]["restartPolicy"] == "Always" and p["spec"]["terminationGracePeriodSeconds"] == 30
    assert p["spec"]["containers"][0]["terminationMessagePath"] == "/dev/termination-log"
    assert p["metadata"]["uid"] and p["metadata"]["creationTimestamp"].endswith("Z")
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                     "ContainersReady": "True", "PodScheduled": "True"} or \
        {k: v for k, v in conds.items() if k != "PodReadyToStartContainers"} == \
        {"Initialized": "True", "Ready": "True", "ContainersReady": "True", "PodScheduled": "True"}
    assert p["status"]["startTime"] and p["status"]["hostIP"]
    y = yaml.safe_load(podrun("get", "pod", "outputs", "-o", "yaml").stdout)
    assert y["metadata"]["name"] == "outputs"
    lst = json.loads(podrun("get", "pods", "-o", "json").stdout)
    assert lst["kind"] == "List" and len(lst["items"]) == 2
    assert podrun("get", "pods", "-o", "name").stdout == "pod/other\npod/outputs\n"
    assert podrun("get", "pods", "-l", "app=web", "-o", "name").stdout == "pod/outputs\n"
    wide = table(podrun("get", "pods", "-o", "wide").stdout)
    assert set(wide[0]) >= {"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                            "READINESS GATES"}
    everywhere = table(podrun("get", "pods", "-A").stdout)
    assert everywhere[0]["NAMESPACE"] == "default"


def test_get_of_a_missing_pod_is_kubectls_not_found(podrun):
    out = podrun("get", "pod", "nope")
    assert out.returncode == 1
    assert out.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_namespaces_keep_pods_apart(podrun):
    podrun("apply", "-f", "-", "-n", "team-a", input=as_yaml(pod("same-name", sh("main", "sleep 3600"))))
    podrun.apply_text(as_yaml(pod("same-name", sh("main", "sleep 3600"))))
    podrun.wait_for("same-name", running, namespace="team-a")
    assert podrun("get", "pods", "-n", "team-a", "-o", "name").stdout == "pod/same-name\n"
    rows = table(podrun("get", "pods", "-A").stdout)
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == {("default", "same-name"), ("team-a", "same-name")}
    assert podrun("delete", "pod", "same-name", "-n", "team-a").returncode == 0


def test_a_second_daemon_on_the_same_root_refuses_to_start(podrun):
    out = subprocess.run([sys.executable, "-m", "podrun", "daemon"], env=podrun.env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1
    assert "another podrun daemon is running" in out.stderr


def test_non_root_is_told_to_use_sudo(podrun):
    # Import as root (the interpreter lives under /root), then become nobody before the CLI runs.
    code = ("import os, sys, json; import podrun.cli.main as m, podrun.cli.get, podrun.client; os.setgroups([]); os.setgid(65534); os.setuid(65534); "
            "sys.argv = ['podrun', 'get', 'pods']; m.main()")
    out = subprocess.run([sys.executable, "-c", code], env=podrun.env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert out.stderr.strip() == "error: podrun needs root: run it with sudo"


def test_apply_wait_returns_once_the_pod_is_ready(podrun):
    out = podrun("apply", "-f", "-", "--wait", "--timeout", "60s", input=as_yaml(pod("waited", sh("main", "sleep 3600"))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "pod/waited created"
    assert running(podrun.pod("waited"))


def test_delete_wait_false_returns_before_the_pod_is_gone(podrun):
    podrun.apply_text(as_yaml(pod("nowait", sh("main", "sleep 3600"), terminationGracePeriodSeconds=3)))
    podrun.wait_for("nowait", running)
    t0 = time.monotonic()
    out = podrun("delete", "pod", "nowait", "--wait=false")
    assert out.returncode == 0 and out.stdout == 'pod "nowait" deleted\n', out.stderr
    assert time.monotonic() - t0 < 2.5
    row = table(podrun("get", "pods", "nowait").stdout)[0]
    assert row["STATUS"] == "Terminating"
    deadline = time.monotonic() + 15
    while podrun("get", "pod", "nowait").returncode == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert podrun("get", "pod", "nowait").returncode == 1
