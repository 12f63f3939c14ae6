"""The nginx image end to end (built from Debian's nginx by images/build.py build_nginx), and a pod
from an image loaded with `podrun image load -i` (a docker save archive made here)."""
from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest

from archives import docker_archive, image_config, oci_archive, tar_layer
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


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_pod_from_a_loaded_archive_runs(podrun, busybox_rootfs, tmp_path, fmt):
    """Two layers with a whiteout; the pod runs the image's own Cmd in its WorkingDir."""
    base = tar_layer([("etc/message", "file", f"loaded from a {fmt} archive\n".encode()),
                      ("etc/gone", "file", b"x\n")], busybox_rootfs)
    top = tar_layer([("etc/.wh.gone", "file", b"")])
    config = image_config([base, top], {"Cmd": ["sh", "-c", "cat /etc/message; echo cwd=$(pwd); "
                                                "ls /etc/gone 2>&1 | grep -c 'No such'; exec sleep 3600"],
                                        "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], "WorkingDir": "/etc"})
    path, ref = str(tmp_path / "app.tar"), f"loaded/app-{fmt}:v1"
    if fmt == "docker":
        docker_archive(path, [base, top], tags=(ref,), config=config)
    else:
        oci_archive(path, [base, top], ref=ref, config=config)
    p = podrun("image", "load", "-i", path)
    assert p.returncode == 0 and p.stdout == f"Loaded image: {ref}\n", p.stderr
    podrun.apply_text(as_yaml(pod(f"loaded-{fmt}", {"name": "app", "image": ref})))
    podrun.wait_for(f"loaded-{fmt}", running)
    deadline = time.monotonic() + 10
    while "cwd=/etc" not in (logs := podrun("logs", f"loaded-{fmt}").stdout) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert logs == f"loaded from a {fmt} archive\ncwd=/etc\n1\n"
    podrun("delete", "pod", f"loaded-{fmt}", "--force", "--grace-period=0")
    podrun("image", "rm", ref, check=True)
