"""kubectl run's Pod generator (generate/versioned/run.go BasicPod) as podrun prints it."""
from __future__ import annotations

import pytest
import yaml

from podrun.cli.run import generate_pod, parse_pairs
from podrun.errors import PodrunError

SEED_002 = """\
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    app: web-server
    environment: production
  name: web-server-pod
spec:
  containers:
  - image: nginx
    name: web-server-pod
    ports:
    - containerPort: 80
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Never
status: {}
"""


def test_seed_002_manifest_is_kubectls_byte_for_byte():
    pod = generate_pod("web-server-pod", "nginx", restart="Never", port=80,
                       labels=parse_pairs("app=web-server,environment=production", "label"))
    assert yaml.safe_dump(pod, default_flow_style=False, sort_keys=True) == SEED_002


def test_defaults_label_run_name_and_restart_always():
    pod = generate_pod("web", "nginx")
    assert pod["metadata"]["labels"] == {"run": "web"}
    assert pod["spec"]["restartPolicy"] == "Always"
    assert "ports" not in pod["spec"]["containers"][0]
    assert list(pod) == ["kind", "apiVersion", "metadata", "spec", "status"]  # Go struct order for -o json


def test_trailing_words_are_args_or_with_command_the_command():
    assert generate_pod("a", "busybox", args=["sleep", "9"])["spec"]["containers"][0]["args"] == ["sleep", "9"]
    c = generate_pod("a", "busybox", args=["sleep", "9"], command=True)["spec"]["containers"][0]
    assert c["command"] == ["sleep", "9"] and "args" not in c


def test_env_annotations_stdin_tty():
    pod = generate_pod("a", "busybox", env=["A=1", "B=x=y"], annotations={"k": "v"}, stdin=True, tty=True)
    c = pod["spec"]["containers"][0]
    assert c["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "x=y"}]
    assert pod["metadata"]["annotations"] == {"k": "v"}
    assert (c["stdin"], c["stdinOnce"], c["tty"]) == (True, True, True)


def test_bad_values_are_refused():
    with pytest.raises(PodrunError, match="invalid restart policy: Sometimes"):
        generate_pod("a", "busybox", restart="Sometimes")
    with pytest.raises(PodrunError, match="invalid label spec"):
        parse_pairs("novalue", "label")
