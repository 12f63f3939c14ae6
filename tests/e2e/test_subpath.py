"""subPath and subPathExpr through the daemon, as a user meets them (e2e expansion.go and the
kubelet's makeMounts): the expanded subdirectory is made and seen through both mounts; an
expansion that is absolute or climbs, or a subPath that a symlink leads out of its volume, is
the container's CreateContainerConfigError with the kubelet's words; subPath and subPathExpr
together are refused by validation; and the swap race as the security review ran it: one pod, a
sidecar swapping `d` with `l -> /` in an emptyDir, 20 containers mounting `subPath: d` (the
same race launch by launch, and its measurements: tests/kernel/test_subpath_race.py)."""
from __future__ import annotations

import os
import secrets

from helpers import as_yaml, cstatus, phase, pod, sh
from swapper import build_swapper

POD_NAME_ENV = {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
WORKDIR = [{"name": "workdir1", "emptyDir": {}}]


def _config_error(podrun, name: str, container: str) -> str:
    p = podrun.wait_for(name, lambda p: cstatus(p, container).get("state", {}).get("waiting", {})
                        .get("reason") == "CreateContainerConfigError")
    return cstatus(p, container)["state"]["waiting"]["message"]


def test_subpath_expr_makes_the_directory_seen_through_both_mounts(podrun):
    # expansion.go "should allow substituting values in a volume subpath"
    app = sh("dapi-container", "touch /logscontainer/test.log && test -f /testcontainer/subexpr/test.log; echo $?",
             env=[POD_NAME_ENV],
             volumeMounts=[{"name": "workdir1", "mountPath": "/logscontainer", "subPathExpr": "$(POD_NAME)"},
                           {"name": "workdir1", "mountPath": "/testcontainer"}])
    podrun.apply_text(as_yaml(pod("subexpr", app, restart="Never", volumes=WORKDIR)))
    podrun.wait_for("subexpr", lambda p: phase(p) == "Succeeded")
    assert podrun("logs", "subexpr", check=True).stdout == "0\n"


def test_subpath_expr_absolute_or_climbing_is_the_kubelets_config_error(podrun):
    # expansion.go "... with backticks" (the value is "..") and "... with absolute path"
    def app(name: str, value: str) -> dict:
        return sh(name, "sleep 3600", env=[{"name": "POD_NAME", "value": value}],
                  volumeMounts=[{"name": "workdir1", "mountPath": "/logscontainer", "subPathExpr": "$(POD_NAME)"}])
    podrun.apply_text(as_yaml(pod("badexpr", app("dots", ".."), app("abs", "/tmp"), restart="Never",
                                  volumes=WORKDIR)))
    assert _config_error(podrun, "badexpr", "dots") == "unable to provision SubPath `..`: must not contain '..'"
    assert _config_error(podrun, "badexpr", "abs") == "error SubPath `/tmp` must not be an absolute path"
    assert "Error: error SubPath `/tmp` must not be an absolute path" in podrun("get", "events").stdout


def test_a_subpath_a_symlink_leads_out_of_the_volume_is_refused_not_clamped(podrun):
    outside = f"/podrun-subpath-{secrets.token_hex(4)}"      # must never be made on the host
    init = sh("plant", f"ln -s / /work/l && ln -s {outside}/x /work/m",
              volumeMounts=[{"name": "work", "mountPath": "/work"}])
    apps = [sh("app", "sleep 3600", volumeMounts=[{"name": "work", "mountPath": "/host", "subPath": "l"}]),
            sh("app2", "sleep 3600", volumeMounts=[{"name": "work", "mountPath": "/new", "subPath": "m/y"}])]
    podrun.apply_text(as_yaml(pod("escape", *apps, init=[init], volumes=[{"name": "work", "emptyDir": {}}])))
    assert _config_error(podrun, "escape", "app") == \
        'failed to prepare subPath for volumeMount "work" of container "app"'
    assert _config_error(podrun, "escape", "app2") == \
        'failed to create subPath directory for volumeMount "work" of container "app2"'
    assert not os.path.exists(outside)


def test_subpath_and_subpath_expr_together_are_refused_by_validation(podrun):
    app = sh("main", "sleep 3600", env=[POD_NAME_ENV],
             volumeMounts=[{"name": "workdir1", "mountPath": "/w", "subPath": "a", "subPathExpr": "$(POD_NAME)"}])
    out = podrun.apply_text(as_yaml(pod("both", app, volumes=WORKDIR)))
    assert out.returncode == 1
    assert ('spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD_NAME)": '
            "subPathExpr and subPath are mutually exclusive") in out.stderr, out.stderr
    assert podrun("get", "pod", "both").returncode != 0


def test_a_sidecar_swapping_the_subpath_for_a_symlink_to_root_never_gives_the_host(podrun, tmp_path):
    build_swapper(str(tmp_path))
    marker = tmp_path / f"host-marker-{secrets.token_hex(4)}"   # only the host's / leads here
    marker.write_text("host\n")
    probe = f"podrun-race-probe-{secrets.token_hex(4)}"
    mounts = [{"name": "work", "mountPath": "/mnt", "subPath": "d"}]
    apps = [sh(f"c{i}", f"if [ -e /mnt{marker} ]; then echo HOST; else echo VOLUME; fi;"
                        f"touch /mnt/{probe} 2>/dev/null; sleep 3600", volumeMounts=mounts) for i in range(20)]
    swapper = {"name": "swapper", "image": "busybox", "command": ["/tools/swapper", "/w"],
               "volumeMounts": [{"name": "work", "mountPath": "/w"},
                                {"name": "tools", "mountPath": "/tools", "readOnly": True}]}
    plant = sh("plant", "mkdir /w/d && ln -s / /w/l", volumeMounts=[{"name": "work", "mountPath": "/w"}])
    volumes = [{"name": "work", "emptyDir": {}},
               {"name": "tools", "hostPath": {"path": str(tmp_path), "type": "Directory"}}]
    podrun.apply_text(as_yaml(pod("race", swapper, *apps, init=[plant], volumes=volumes)))

    def tried(p: dict) -> bool:  # every app ran, or was refused at least once
        return all("running" in cstatus(p, a["name"]).get("state", {}) or
                   cstatus(p, a["name"]).get("state", {}).get("waiting", {}).get("reason", "")
                   .startswith("CreateContainer") for a in apps)
    try:
        p = podrun.wait_for("race", lambda p: phase(p) in ("Pending", "Running") and
                            len(p["status"].get("containerStatuses", [])) == 21 and tried(p), timeout=90)
        running = [a["name"] for a in apps if "running" in cstatus(p, a["name"])["state"]]
        seen = {}
        for name in running:
            for _ in range(50):   # the first line is there soon after the start
                seen[name] = podrun("logs", "race", "-c", name).stdout.strip()
                if seen[name]:
                    break
        assert "running" in cstatus(p, "swapper")["state"]
    finally:
        host_write = os.path.lexists(f"/{probe}")
        if host_write:
            os.unlink(f"/{probe}")
    print(f"running={len(running)} refused={len(apps) - len(running)} host={list(seen.values()).count('HOST')}")
    assert [n for n, out in seen.items() if out != "VOLUME"] == [], seen
    assert not host_write, "a container wrote into the host's /"
    assert running, "no container mounted the subPath while the race went on"
