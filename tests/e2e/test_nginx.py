"""The nginx image end to end (built from Debian's nginx by images_build.build_nginx), and a pod
from an image loaded with `podrun image load -i` (a docker save archive made here)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import urllib.request

from helpers import as_yaml, pod, running

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never via a proxy


def _get(url: str, timeout: float = 20) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _OPENER.open(url, timeout=3) as r:
                return r.status, r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_nginx_image_checks_its_config_in_a_chroot(nginx_image):
    cfg = nginx_image.config
    assert cfg["Cmd"] == ["nginx", "-g", "daemon off;"] and cfg["ExposedPorts"] == {"80/tcp": {}}
    assert "docker.io/library/nginx:latest" in nginx_image.tags
    # nginx -t needs /dev/stderr: a private mount namespace with /dev bound, nothing leaks
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && chroot "$1" nginx -t',
                        "sh", nginx_image.rootfs], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "test is successful" in p.stderr


def test_nginx_pod_serves_the_welcome_page_and_logs_the_request(podrun, nginx_image):
    podrun.apply_text(as_yaml(pod("web", {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]})))
    ip = podrun.wait_for("web", running)["status"]["podIP"]
    status, body = _get(f"http://{ip}/")
    assert status == 200 and "<title>Welcome to nginx!</title>" in body
    status, _ = _get(f"http://{ip}/index.html?from=test")
    deadline = time.monotonic() + 10
    while True:
        logs = podrun("logs", "web").stdout
        if '"GET /index.html?from=test HTTP/1.1" 200' in logs or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert '"GET /index.html?from=test HTTP/1.1" 200' in logs, logs
    # the worker runs as www-data, the master as root, and sh is there for exec/probes/hooks
    ps = podrun("exec", "web", "--", "sh", "-c", "ps -o user,args | grep 'nginx: '").stdout
    assert "nginx: master process" in ps and "nginx: worker process" in ps, ps


def _docker_archive(path: str, rootfs: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, name), arcname=name)
        msg = b"loaded from a docker save archive\n"
        ti = tarfile.TarInfo("etc/message")
        ti.size, ti.mode = len(msg), 0o644
        t.addfile(ti, io.BytesIO(msg))
    layer = buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "config": {"Cmd": ["sh", "-c", "cat /etc/message; echo cwd=$(pwd); exec sleep 3600"],
                                    "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], "WorkingDir": "/etc"}}).encode()
    cname = hashlib.sha256(config).hexdigest() + ".json"
    files = {cname: config, "l1/layer.tar": layer,
             "manifest.json": json.dumps([{"Config": cname, "RepoTags": ["loaded/app:v1"],
                                           "Layers": ["l1/layer.tar"]}]).encode()}
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def test_pod_from_a_loaded_archive_runs(podrun, busybox_rootfs, tmp_path):
    path = str(tmp_path / "app.tar")
    _docker_archive(path, busybox_rootfs)
    p = podrun("image", "load", "-i", path)
    assert p.returncode == 0 and p.stdout == "Loaded image: loaded/app:v1\n", p.stderr
    podrun.apply_text(as_yaml(pod("loaded", {"name": "app", "image": "loaded/app:v1"})))
    podrun.wait_for("loaded", running)
    deadline = time.monotonic() + 10
    while "cwd=/etc" not in (logs := podrun("logs", "loaded").stdout) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logs == "loaded from a docker save archive\ncwd=/etc\n"
    podrun("delete", "pod", "loaded", "--force", "--grace-period=0")
    podrun("image", "rm", "loaded/app:v1", check=True)
