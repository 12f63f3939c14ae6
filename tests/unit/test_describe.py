"""`kubectl describe pod`, section by section (kubectl/pkg/describe/describe.go describePod)."""
from __future__ import annotations

import datetime as dt

import pytest

from podrun.clock import parse_rfc3339, rfc3339
from podrun.printers.describe import describe_pod, describe_probe, pod_qos

NOW = parse_rfc3339("2026-11-23T19:00:00Z")
UTC = dt.timezone.utc


def ago(seconds: float) -> str:
    return rfc3339(NOW - seconds)


def web_pod() -> dict:
    return {
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(300),
                     "labels": {"tier": "front", "app": "web"}, "annotations": {"team": "core"}},
        "spec": {
            "nodeName": "node1", "priority": 0, "serviceAccountName": "default",
            "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
            "containers": [{
                "name": "app", "image": "busybox", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "args": ["serve"],
                "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5,
                                  "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1,
                                  "failureThreshold": 3},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                   "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                                   "failureThreshold": 3},
                "env": [{"name": "FOO", "value": "bar"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": True},
                                 {"name": "data", "mountPath": "/data"}],
            }],
            "volumes": [{"name": "data", "emptyDir": {}},
                        {"name": "host", "hostPath": {"path": "/srv", "type": "Directory"}}],
        },
        "status": {
            "phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.88.0.2", "podIPs": [{"ip": "10.88.0.2"}],
            "startTime": ago(300),
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                           {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "initContainerStatuses": [{
                "name": "init", "ready": True, "restartCount": 0, "image": "busybox", "imageID": "sha256:aa",
                "containerID": "podrun://i1",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ago(299),
                                         "finishedAt": ago(298)}}}],
            "containerStatuses": [{
                "name": "app", "ready": True, "started": True, "restartCount": 2, "image": "busybox",
                "imageID": "sha256:aa", "containerID": "podrun://c1",
                "state": {"running": {"startedAt": ago(120)}},
                "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "Error", "message": "killed",
                                             "startedAt": ago(180), "finishedAt": ago(150)}}}],
        },
    }


EVENTS = [
    {"metadata": {"name": "e2", "namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web"},
     "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container app", "count": 3,
     "firstTimestamp": ago(240), "lastTimestamp": ago(130), "source": {"component": "kubelet", "host": "node1"}},
    {"metadata": {"name": "e1", "namespace": "default"}, "involvedObject": {"kind": "Pod", "name": "web"},
     "type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web to node1", "count": 1,
     "firstTimestamp": ago(300), "lastTimestamp": ago(300), "source": {"component": "default-scheduler"}},
]


@pytest.fixture
def text() -> str:
    return describe_pod(web_pod(), EVENTS, NOW, tz=UTC)


def section(text: str, start: str, end: str | None) -> list[str]:
    lines = text.split("\n")
    i = lines.index(start)
    j = lines.index(end, i + 1) if end else len(lines)
    return lines[i:j]


def test_header_fields_align_in_one_block(text: str) -> None:
    assert section(text, "Name:             web", "IPs:") == [
        "Name:             web",
        "Namespace:        default",
        "Priority:         0",
        "Service Account:  default",
        "Node:             node1/10.0.0.1",
        "Start Time:       Mon, 23 Nov 2026 18:55:00 +0000",
        "Labels:           app=web",
        "                  tier=front",
        "Annotations:      team: core",
        "Status:           Running",
        "IP:               10.88.0.2",
    ]


def test_ips_block(text: str) -> None:
    assert section(text, "IPs:", "Init Containers:") == ["IPs:", "  IP:  10.88.0.2"]


def test_init_container_section(text: str) -> None:
    assert section(text, "Init Containers:", "Containers:") == [
        "Init Containers:",
        "  init:",
        "    Container ID:  podrun://i1",
        "    Image:         busybox",
        "    Image ID:      sha256:aa",
        "    Port:          <none>",
        "    Host Port:     <none>",
        "    Command:",
        "      sh",
        "      -c",
        "      true",
        "    State:          Terminated",
        "      Reason:       Completed",
        "      Exit Code:    0",
        "      Started:      Mon, 23 Nov 2026 18:55:01 +0000",
        "      Finished:     Mon, 23 Nov 2026 18:55:02 +0000",
        "    Ready:          True",
        "    Restart Count:  0",
        "    Environment:    <none>",
        "    Mounts:         <none>",
    ]


def test_container_with_probes_env_mounts_and_terminated_last_state(text: str) -> None:
    assert section(text, "Containers:", "Conditions:") == [
        "Containers:",
        "  app:",
        "    Container ID:  podrun://c1",
        "    Image:         busybox",
        "    Image ID:      sha256:aa",
        "    Port:          8080/TCP",
        "    Host Port:     0/TCP",
        "    Args:",
        "      serve",
        "    State:          Running",
        "      Started:      Mon, 23 Nov 2026 18:58:00 +0000",
        "    Last State:     Terminated",
        "      Reason:       Error",
        "      Message:      killed",
        "      Exit Code:    137",
        "      Signal:       9",
        "      Started:      Mon, 23 Nov 2026 18:57:00 +0000",
        "      Finished:     Mon, 23 Nov 2026 18:57:30 +0000",
        "    Ready:          True",
        "    Restart Count:  2",
        "    Liveness:       exec [cat /tmp/healthy] delay=5s timeout=1s period=5s #success=1 #failure=3",
        "    Readiness:      http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3",
        "    Environment:",
        "      FOO:  bar",
        "      POD:  web (v1:metadata.name)",
        "    Mounts:",
        "      /data from data (rw)",
        "      /host from host (ro)",
    ]


def test_conditions_keep_kubectls_trailing_space(text: str) -> None:
    assert section(text, "Conditions:", "Volumes:") == [
        "Conditions:",
        "  Type              Status",
        "  Initialized       True ",
        "  Ready             True ",
        "  ContainersReady   True ",
        "  PodScheduled      True ",
    ]


def test_volumes_emptydir_and_hostpath_blocks(text: str) -> None:
    assert section(text, "Volumes:", "QoS Class:         BestEffort") == [
        "Volumes:",
        "  data:",
        "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)",
        "    Medium:     ",
        "    SizeLimit:  <unset>",
        "  host:",
        "    Type:          HostPath (bare host directory volume)",
        "    Path:          /srv",
        "    HostPathType:  Directory",
    ]


def test_qos_selectors_tolerations_and_folded_events(text: str) -> None:
    assert section(text, "QoS Class:         BestEffort", None) == [
        "QoS Class:         BestEffort",
        "Node-Selectors:    <none>",
        "Tolerations:       <none>",
        "Events:",
        "  Type     Reason     Age                 From               Message",
        "  ----     ------     ----                ----               -------",
        "  Normal   Scheduled  5m                  default-scheduler  Successfully assigned default/web to node1",
        "  Warning  BackOff    2m10s (x3 over 4m)  kubelet            Back-off restarting failed container app",
        "",
    ]


def test_no_events_prints_none() -> None:
    assert describe_pod(web_pod(), [], NOW, tz=UTC).endswith("Events:            <none>\n")


def test_terminating_pod_shows_lasts_and_grace_period() -> None:
    p = web_pod()
    p["metadata"]["deletionTimestamp"] = ago(45)
    p["metadata"]["deletionGracePeriodSeconds"] = 30
    text = describe_pod(p, None, NOW, tz=UTC)
    assert "Status:                    Terminating (lasts 45s)\n" in text
    assert "Termination Grace Period:  30s\n" in text
    assert "Events:" not in text


def test_pod_without_node_or_ip() -> None:
    p = {"metadata": {"name": "p", "namespace": "default"},
         "spec": {"containers": [{"name": "c", "image": "busybox"}]}, "status": {"phase": "Pending"}}
    text = describe_pod(p, [], NOW, tz=UTC)
    assert "Node:         <none>\n" in text and "IP:           \n" in text and "IPs:          <none>\n" in text


@pytest.mark.parametrize("probe,expected", [
    ({"tcpSocket": {"port": 8080}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
      "failureThreshold": 3}, "tcp-socket :8080 delay=0s timeout=1s period=10s #success=1 #failure=3"),
    ({"httpGet": {"host": "::1", "port": "http", "path": "healthz", "scheme": "HTTPS"}, "initialDelaySeconds": 2,
      "timeoutSeconds": 3, "periodSeconds": 4, "successThreshold": 1, "failureThreshold": 6},
     "http-get https://[::1]:http/healthz delay=2s timeout=3s period=4s #success=1 #failure=6"),
])
def test_describe_probe_lines(probe: dict, expected: str) -> None:
    assert describe_probe(probe) == expected


@pytest.mark.parametrize("resources,expected", [
    ([{}], "BestEffort"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "64Mi"}}], "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "1000m", "memory": "64Mi"}}], "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "500m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "64Mi"}}, {}], "Burstable"),
])
def test_qos_class_rules(resources: list[dict], expected: str) -> None:
    p = {"spec": {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}}
    assert pod_qos(p) == expected


def test_limits_and_requests_sorted_by_resource_name() -> None:
    p = web_pod()
    p["spec"]["containers"][0]["resources"] = {"limits": {"memory": "64Mi", "cpu": "500m"},
                                               "requests": {"cpu": "250m"}}
    text = describe_pod(p, [], NOW, tz=UTC)
    # Requests' rows share a tabwriter block with the probe lines that follow, as in kubectl
    assert ("    Limits:\n      cpu:     500m\n      memory:  64Mi\n    Requests:\n      cpu:      250m\n"
            "    Liveness:   exec") in text
    assert "QoS Class:         Burstable\n" in text
