"""Stock kubectl and the `kubernetes` Python client against the session daemon's HTTPS API
(issue 16): client certificates, discovery, Tables, selectors, create, delete with its wait for
DELETED, watch. The daemon listens on this session's own port (conftest SESSION_API_PORT), and
kubectl's discovery cache lives in a temporary HOME."""
from __future__ import annotations

import json
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import time

import pytest
import yaml

from helpers import as_yaml, pod, running, sh

KUBECTL = "/usr/bin/kubectl"
SESSION_API_PORT = int(os.environ["PODRUN_API_PORT"])     # tests/conftest.py picked it


@pytest.fixture
def kubectl(podrun, roots, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}

    def run(*args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([KUBECTL, "--kubeconfig", roots.kubeconfig, *args], env=env, input=input,
                              capture_output=True, text=True, timeout=timeout)
    run.env = env
    return run


def _ready(podrun, *names: str) -> None:
    for n in names:
        podrun.wait_for(n, running)


def test_kubeconfig_points_at_the_session_port_and_secrets_are_private(daemon, roots):
    assert SESSION_API_PORT != 6443
    for path in [roots.kubeconfig] + [os.path.join(roots.pki_dir, f) for f in
                                      ("ca.key", "apiserver.key", "admin.key")]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(roots.pki_dir).st_mode) == 0o700
    with open(roots.kubeconfig) as f:
        config = yaml.safe_load(f)
    assert config["current-context"] == "podrun"
    assert config["contexts"] == [{"name": "podrun", "context": {"cluster": "podrun", "user": "podrun-admin"}}]
    assert config["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{SESSION_API_PORT}"
    assert set(config["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}


def test_version_and_api_resources(kubectl):
    out = kubectl("version", "-o", "json")
    assert out.returncode == 0, out.stderr
    server = json.loads(out.stdout)["serverVersion"]
    assert (server["major"], server["minor"]) == ("1", "32") and server["gitVersion"].startswith("v1.32.0+podrun.")
    out = kubectl("api-resources")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {tuple(line.split()) for line in lines[1:]}
    assert ("pods", "po", "v1", "true", "Pod") in rows
    assert ("events", "ev", "v1", "true", "Event") in rows
    assert ("pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics") in rows


def test_get_pods_in_every_form(podrun, kubectl):
    web = pod("kweb", sh("main", "sleep 3600"))
    web["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    db = pod("kdb", sh("main", "sleep 3600"))
    db["metadata"]["labels"] = {"app": "db"}
    podrun.apply_text(as_yaml(web, db))
    _ready(podrun, "kweb", "kdb")

    out = kubectl("get", "pods")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[:4] for line in lines[1:]] == [["kdb", "1/1", "Running", "0"], ["kweb", "1/1", "Running", "0"]]
    # the same cells as podrun's own printer
    assert [line.split()[:4] for line in podrun("get", "pods").stdout.splitlines()] == [line.split()[:4] for line in lines]

    wide = kubectl("get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE",
                               "READINESS", "GATES"]
    ip = podrun.pod("kweb")["status"]["podIP"]
    assert wide[2].split()[5:] == [ip, socket.gethostname(), "<none>", "<none>"]

    every = kubectl("get", "pods", "-A", "--show-labels").stdout.splitlines()
    assert every[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    assert every[2].split()[:2] == ["default", "kweb"] and every[2].split()[-1] == "app=web,tier=fe"

    def names(*args: str) -> list[str]:
        got = kubectl("get", "pods", "-o", "name", *args)
        assert got.returncode == 0, got.stderr
        return got.stdout.split()

    assert names() == ["pod/kdb", "pod/kweb"]
    assert names("-l", "app=web") == ["pod/kweb"]
    assert names("-l", "app==db") == ["pod/kdb"]
    assert names("-l", "app!=web") == ["pod/kdb"]
    assert names("-l", "app in (web,db),tier") == ["pod/kweb"]
    assert names("-l", "app notin (web)") == ["pod/kdb"]
    assert names("-l", "!tier") == ["pod/kdb"]
    assert names("--field-selector", "metadata.name=kdb") == ["pod/kdb"]
    assert names("--field-selector", "status.phase=Running,metadata.namespace=default") == ["pod/kdb", "pod/kweb"]
    assert names("--field-selector", f"spec.nodeName={socket.gethostname()},metadata.name!=kdb") == ["pod/kweb"]
    assert names("--field-selector", "status.phase=Pending") == []
    bad = kubectl("get", "pods", "--field-selector", "spec.foo=x")
    assert bad.returncode == 1 and "field label not supported: spec.foo" in bad.stderr

    as_json = json.loads(kubectl("get", "pod", "kweb", "-o", "json").stdout)
    assert as_json["kind"] == "Pod" and as_json["status"]["podIP"] == ip
    assert int(as_json["metadata"]["resourceVersion"]) > 0
    as_yaml_ = yaml.safe_load(kubectl("get", "pods", "-o", "yaml").stdout)
    assert as_yaml_["kind"] == "List" and [p["metadata"]["name"] for p in as_yaml_["items"]] == ["kdb", "kweb"]
    jp = kubectl("get", "pods", "-o", "jsonpath={.items[*].metadata.name}")
    assert jp.stdout == "kdb kweb"
    cc = kubectl("get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app")
    assert cc.stdout.split() == ["NAME", "APP", "kdb", "db", "kweb", "web"]
    # PATCH (label, annotate, apply) is not served yet: a Status, not a crash
    label = kubectl("label", "pod", "kweb", "x=y")
    assert label.returncode == 1
    assert label.stderr.strip() == ("Error from server (MethodNotAllowed): the server does not allow this method "
                                    "on the requested resource")


def test_a_missing_pod_is_kubectls_not_found(kubectl):
    for args in (("get", "pod", "nope"), ("get", "pod", "nope", "-o", "json"), ("describe", "pod", "nope"),
                 ("delete", "pod", "nope")):
        out = kubectl(*args)
        assert out.returncode == 1, args
        assert out.stderr.strip() == 'Error from server (NotFound): pods "nope" not found', (args, out.stderr)


def _read_until(proc: subprocess.Popen, text: str, timeout: float = 30) -> str:
    """What a streaming kubectl printed, up to and including the first line holding `text`."""
    import select
    out, deadline = b"", time.monotonic() + timeout
    while text.encode() not in out:
        left = deadline - time.monotonic()
        assert left > 0, f"never printed {text!r}: {out.decode()!r}"
        if select.select([proc.stdout], [], [], left)[0]:
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"ended before printing {text!r}: {out.decode()!r}"
            out += chunk
    return out.decode()


def test_describe_and_events(podrun, kubectl):
    watch = subprocess.Popen([KUBECTL, "--kubeconfig", podrun.roots.kubeconfig, "get", "events", "-w"],
                             env=kubectl.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        podrun.apply_text(as_yaml(pod("kdesc", sh("main", "sleep 3600"))))
        _ready(podrun, "kdesc")
        watched = _read_until(watch, "Started container main")
    finally:
        watch.kill()
        watch.wait()
        watch.stdout.close()
    assert watched.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("pod/kdesc" in line and "Scheduled" in line for line in watched.splitlines())
    out = kubectl("describe", "pod", "kdesc")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Name:") and re.search(r"^Status:\s+Running$", out.stdout, re.M)
    events = out.stdout.split("Events:")[1]
    assert "Scheduled" in events and "Started" in events and "Started container main" in events
    out = kubectl("events")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Pod/kdesc" in line and "Started" in line for line in out.stdout.splitlines())
    out = kubectl("get", "events", "--field-selector", "involvedObject.name=kdesc,reason=Started")
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()[1:]
    assert len(rows) == 1 and "pod/kdesc" in rows[0] and "Started container main" in rows[0]


def test_create_then_delete_waits_for_deleted_and_watch_streams_rows(podrun, kubectl, tmp_path):
    manifest = tmp_path / "pod.yaml"
    body = pod("kcreate", sh("main", "trap 'exit 0' TERM; sleep 3600 & wait"))
    manifest.write_text(yaml.safe_dump(body))
    out = kubectl("create", "-f", str(manifest))
    assert (out.returncode, out.stdout) == (0, "pod/kcreate created\n"), out.stderr
    again = kubectl("create", "-f", str(manifest))
    assert again.returncode == 1
    assert again.stderr.strip() == (f'Error from server (AlreadyExists): error when creating "{manifest}": '
                                    f'pods "kcreate" already exists')
    _ready(podrun, "kcreate")
    watch = subprocess.Popen([KUBECTL, "--kubeconfig", podrun.roots.kubeconfig, "get", "pods", "-w"],
                             env=kubectl.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        header, first = _read_until(watch, "Running").splitlines()[:2]
        assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert first.split()[:3] == ["kcreate", "1/1", "Running"]
        started = time.monotonic()
        out = kubectl("delete", "pod", "kcreate", timeout=60)
        assert (out.returncode, out.stdout) == (0, 'pod "kcreate" deleted\n'), out.stderr
        assert time.monotonic() - started < 30
        # kubectl returned only after the DELETED event: the pod is gone
        assert podrun("get", "pod", "kcreate").returncode == 1
        rows = _read_until(watch, "Terminating").splitlines()
        assert rows[-1].split()[:3] in (["kcreate", "1/1", "Terminating"], ["kcreate", "0/1", "Terminating"])
    finally:
        watch.kill()
        watch.wait()
        watch.stdout.close()


def test_delete_wait_false_answers_at_once_and_a_terminating_name_is_taken(podrun, kubectl, tmp_path):
    body = pod("kslow", sh("main", "sleep 3600"), terminationGracePeriodSeconds=20)   # sh ignores TERM
    manifest = tmp_path / "slow.yaml"
    manifest.write_text(yaml.safe_dump(body))
    assert kubectl("create", "-f", str(manifest)).returncode == 0
    _ready(podrun, "kslow")
    started = time.monotonic()
    out = kubectl("delete", "pod", "kslow", "--wait=false")
    assert (out.returncode, out.stdout) == (0, 'pod "kslow" deleted\n'), out.stderr
    assert time.monotonic() - started < 10
    status = kubectl("get", "pod", "kslow", "--no-headers").stdout.split()
    assert status[:3] == ["kslow", "1/1", "Terminating"] or status[2] == "Terminating", status
    again = kubectl("create", "-f", str(manifest))
    assert again.returncode == 1
    assert again.stderr.strip() == (f'Error from server (AlreadyExists): error when creating "{manifest}": '
                                    f'object is being deleted: pods "kslow" already exists')


def test_create_refuses_bad_manifests_with_the_apiservers_words_and_dry_run_stores_nothing(podrun, kubectl,
                                                                                         tmp_path):
    unknown = pod("kbad", sh("main", "sleep 1"))
    unknown["spec"]["containers"][0]["commandz"] = ["x"]
    path = tmp_path / "unknown.yaml"
    path.write_text(yaml.safe_dump(unknown))
    out = kubectl("create", "-f", str(path))
    assert out.returncode == 1
    assert out.stderr.strip() == (f'Error from server (BadRequest): error when creating "{path}": Pod in version '
                                  f'"v1" cannot be handled as a Pod: strict decoding error: unknown field '
                                  f'"spec.containers[0].commandz"')
    # --validate=warn (fieldValidation=Warn, the server's default): dropped, with kubectl's warning
    out = kubectl("create", "-f", str(path), "--validate=warn")
    assert (out.returncode, out.stdout) == (0, "pod/kbad created\n"), out.stderr
    assert out.stderr == 'Warning: unknown field "spec.containers[0].commandz"\n'
    assert "commandz" not in kubectl("get", "pod", "kbad", "-o", "json").stdout
    assert kubectl("delete", "pod", "kbad", "--grace-period=0", "--force").returncode == 0
    invalid = pod("kbad", {"name": "main"})
    path.write_text(yaml.safe_dump(invalid))
    out = kubectl("create", "-f", str(path))
    assert out.returncode == 1
    assert out.stderr.splitlines() == ['The Pod "kbad" is invalid: ', "* spec.containers[0].image: Required value"] \
        or out.stderr.strip() == 'The Pod "kbad" is invalid: spec.containers[0].image: Required value', out.stderr
    path.write_text(yaml.safe_dump(pod("kdry", sh("main", "sleep 1"))))
    out = kubectl("create", "-f", str(path), "--dry-run=server", "-o", "jsonpath={.spec.dnsPolicy}")
    assert (out.returncode, out.stdout) == (0, "ClusterFirst"), out.stderr
    assert kubectl("get", "pods", "-o", "name").stdout == ""


def _raw_get(port: int, ctx: ssl.SSLContext) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return data


def test_no_request_is_served_without_a_valid_client_certificate(daemon, roots, tmp_path):
    from podrun.daemon.kube import pki
    from podrun.paths import Roots
    ca = os.path.join(roots.pki_dir, "ca.crt")

    def context(cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    ok = _raw_get(SESSION_API_PORT, context(os.path.join(roots.pki_dir, "admin.crt"),
                                            os.path.join(roots.pki_dir, "admin.key")))
    assert ok.startswith(b"HTTP/1.1 200")
    other, _ = pki.ensure_pki(Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log")))
    for ctx in (context(), context(other.path("admin.crt"), other.path("admin.key"))):
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            got = _raw_get(SESSION_API_PORT, ctx)
            assert got == b""           # TLS 1.3: the alert may arrive as a closed stream
            raise ssl.SSLError("closed without an answer")


def test_podrun_kubeconfig_prints_paths_and_merges(podrun, roots, tmp_path):
    out = podrun("kubeconfig", check=True)
    with open(roots.kubeconfig) as f:
        assert out.stdout == f.read()
    assert podrun("kubeconfig", "--path", check=True).stdout == roots.kubeconfig + "\n"
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    mine = {"apiVersion": "v1", "kind": "Config", "current-context": "work",
            "clusters": [{"name": "work", "cluster": {"server": "https://work.example:6443"}}],
            "contexts": [{"name": "work", "context": {"cluster": "work", "user": "me"}}],
            "users": [{"name": "me", "user": {"token": "t"}}]}
    (home / ".kube" / "config").write_text(yaml.safe_dump(mine))
    env = dict(podrun.env, HOME=str(home))
    env.pop("KUBECONFIG", None)
    run = subprocess.run([sys.executable, "-m", "podrun", "kubeconfig", "--merge"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f'Context "podrun" created in {home}/.kube/config.\n')
    merged = yaml.safe_load((home / ".kube" / "config").read_text())
    assert merged["current-context"] == "work"           # kubectl never switches behind your back
    assert [c["name"] for c in merged["contexts"]] == ["work", "podrun"]
    assert [u["name"] for u in merged["users"]] == ["me", "podrun-admin"]
    assert stat.S_IMODE(os.stat(home / ".kube" / "config").st_mode) == 0o600
    again = subprocess.run([sys.executable, "-m", "podrun", "kubeconfig", "--merge"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.stdout.startswith('Context "podrun" modified')
    assert len(yaml.safe_load((home / ".kube" / "config").read_text())["contexts"]) == 2
    # under sudo with HOME kept, the merged file (and a .kube it made) belongs to the invoking user
    other_home = tmp_path / "user"
    other_home.mkdir()
    os.chown(other_home, 65534, 65534)
    sudo_env = dict(env, HOME=str(other_home), SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    run = subprocess.run([sys.executable, "-m", "podrun", "kubeconfig", "--merge"], env=sudo_env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for p in (other_home / ".kube", other_home / ".kube" / "config"):
        assert (os.stat(p).st_uid, os.stat(p).st_gid) == (65534, 65534), p
    assert stat.S_IMODE(os.stat(other_home / ".kube" / "config").st_mode) == 0o600
    assert yaml.safe_load((other_home / ".kube" / "config").read_text())["current-context"] == "podrun"
    # and kubectl uses the merged context
    kc = subprocess.run([KUBECTL, "--context", "podrun", "get", "pods"], capture_output=True, text=True,
                        env={"PATH": os.environ["PATH"], "HOME": str(home)}, timeout=60)
    assert kc.returncode == 0, kc.stderr


def test_the_python_client_lists_creates_reads_watches_and_deletes(podrun, roots):
    from kubernetes import client, config, watch
    api = client.CoreV1Api(config.new_client_from_config(roots.kubeconfig))
    assert api.list_namespaced_pod("default").items == []
    created = api.create_namespaced_pod("default", pod("kpy", sh("main", "sleep 3600")))  # no Content-Type
    assert created.metadata.name == "kpy" and created.metadata.uid
    with pytest.raises(client.ApiException) as exc:
        api.create_namespaced_pod("default", pod("kpy", sh("main", "sleep 3600")))
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "AlreadyExists"
    w = watch.Watch()
    for ev in w.stream(api.list_namespaced_pod, "default", field_selector="metadata.name=kpy", timeout_seconds=30):
        if ev["object"].status.phase == "Running":
            w.stop()
    assert api.read_namespaced_pod("kpy", "default").status.phase == "Running"
    deleted = api.delete_namespaced_pod("kpy", "default", grace_period_seconds=0)
    assert deleted.metadata.deletion_timestamp is not None
    deadline = time.monotonic() + 30
    while api.list_namespaced_pod("default", field_selector="metadata.name=kpy").items:
        assert time.monotonic() < deadline, "the pod was never removed"
        time.sleep(0.1)
    with pytest.raises(client.ApiException) as exc:
        api.read_namespaced_pod("kpy", "default")
    assert exc.value.status == 404
    assert json.loads(exc.value.body)["details"] == {"name": "kpy", "kind": "pods"}


def test_plain_http_is_served_only_when_asked_for(tmp_path):
    """PODRUN_API_INSECURE=1 (tests only) serves HTTP without authentication; the session's
    daemon, without it, answers no plain HTTP request."""
    import http.client
    import urllib.request

    from podrun.paths import Roots
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{SESSION_API_PORT}/version", timeout=10).read()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = Roots(str(tmp_path / "run"), str(tmp_path / "lib"), str(tmp_path / "log"))
    env = dict(os.environ, **r.env(), PODRUN_API_PORT=str(port), PODRUN_API_INSECURE="1", PODRUN_NO_AUTOSTART="1",
               PODRUN_CGROUP_PARENT=f"podrun-test-http-{os.getpid()}", PODRUN_BRIDGE=f"prh{os.getpid() % 100000:05d}",
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env.pop("PODRUN_ROOT", None)
    log = open(tmp_path / "daemon.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "podrun", "daemon"], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(r.socket):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "daemon.log").read_text()
            time.sleep(0.05)
        info = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=10).read())
        assert info["minor"] == "32"
        with open(r.kubeconfig) as f:
            assert yaml.safe_load(f)["clusters"][0]["cluster"]["server"] == f"http://127.0.0.1:{port}"
        home = tmp_path / "home"
        home.mkdir()
        out = subprocess.run([KUBECTL, "--kubeconfig", r.kubeconfig, "get", "pods"], capture_output=True, text=True,
                             env={"PATH": os.environ["PATH"], "HOME": str(home)}, timeout=60)
        assert (out.returncode, out.stderr) == (0, "No resources found in default namespace.\n")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
