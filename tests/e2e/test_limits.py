"""The apiserver's and the kubelet's limits, held by podrun: every valid name runs, oversized
requests and annotations get Kubernetes' messages, bad input never crashes the CLI or daemon."""
from __future__ import annotations

import json
import os

from helpers import as_yaml, cstatus, phase, pod, sh

# a valid DNS-1123 subdomain of 253 characters (labels of at most 63)
LONG_NAME = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


def test_a_253_character_pod_name_runs_to_completion(podrun):
    assert len(LONG_NAME) == 253
    out = podrun.apply_text(as_yaml(pod(LONG_NAME, sh("main", "echo long-name-ok"), restart="Never")))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"pod/{LONG_NAME} created\n"
    p = podrun.wait_for(LONG_NAME, lambda p: phase(p) == "Succeeded", timeout=60)
    assert cstatus(p, "main")["state"]["terminated"]["exitCode"] == 0
    assert podrun("logs", LONG_NAME).stdout == "long-name-ok\n"
    described = podrun("describe", "pod", LONG_NAME)
    assert described.returncode == 0 and f"Name:         {LONG_NAME}" in described.stdout, described.stdout
    # directories are named by the uid; every component stays within 255 bytes
    uid = p["metadata"]["uid"]
    assert os.path.isfile(podrun.roots.pod_file(p)) and uid in podrun.roots.pod_dir(p)
    log_dir = podrun.roots.pod_log_dir("default", LONG_NAME, uid)
    assert os.path.isdir(log_dir) and len(os.path.basename(log_dir)) <= 255
    out = podrun("delete", "pod", LONG_NAME)
    assert out.returncode == 0 and out.stdout == f'pod "{LONG_NAME}" deleted\n', out.stderr
    assert not os.path.exists(podrun.roots.pod_dir(p)) and not os.path.exists(log_dir)
