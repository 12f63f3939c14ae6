"""LaunchPlan building: pure, no root needed (runtime/plan.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from podrun.kernel.syscalls import MS_NODEV
from podrun.runtime import plan as P
from podrun.runtime.state import SandboxInfo

POD = {"metadata": {"name": "web", "namespace": "prod", "uid": "abc-123"},
       "spec": {"nodeName": "node1"}}
SANDBOX = SandboxInfo(pause_pid=10, pause_start_time=99,
                      ns_paths={"net": "/proc/10/ns/net", "ipc": "/proc/10/ns/ipc", "uts": "/proc/10/ns/uts"},
                      hostname="web", shares_pid=False,
                      files={"hosts": "/run/p/hosts", "hostname": "/run/p/hostname",
                             "resolv.conf": "/run/p/resolv.conf"}, pod_ip="10.0.0.5")


def image(**config):
    return SimpleNamespace(rootfs="/img/rootfs", config=config)


@pytest.mark.parametrize("command,args,entrypoint,cmd,want", [
    (None, None, ["/ep"], ["a", "b"], ["/ep", "a", "b"]),          # neither: Entrypoint + Cmd
    (["/c"], None, ["/ep"], ["a"], ["/c"]),                        # command only: Cmd ignored
    (None, ["x"], ["/ep"], ["a"], ["/ep", "x"]),                   # args only: Entrypoint + args
    (["/c"], ["x", "y"], ["/ep"], ["a"], ["/c", "x", "y"]),        # both replace both
    (None, None, None, ["sh"], ["sh"]),                            # no Entrypoint
])
def test_command_and_args_follow_kubernetes_rules(command, args, entrypoint, cmd, want):
    c = {"name": "c"}
    if command is not None:
        c["command"] = command
    if args is not None:
        c["args"] = args
    assert P.resolve_command(c, {"Entrypoint": entrypoint, "Cmd": cmd}) == want


def test_env_expands_against_earlier_entries_and_fills_defaults():
    c = {"name": "c", "env": [
        {"name": "FOO", "value": "foo-value"},
        {"name": "BAR", "value": "bar-value"},
        {"name": "FOOBAR", "value": "$(FOO);;$(BAR)"},
        {"name": "LATER", "value": "$(DEFINED_AFTER)"},
        {"name": "DEFINED_AFTER", "value": "x"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]}
    env = P.build_env(POD, c, {"Env": ["IMG=1", "FOO=img"]}, SANDBOX)
    d = dict(e.split("=", 1) for e in env)
    assert d["FOOBAR"] == "foo-value;;bar-value"
    assert d["LATER"] == "$(DEFINED_AFTER)"
    assert d["FOO"] == "foo-value" and d["IMG"] == "1"
    assert (d["POD_NAME"], d["POD_NS"], d["POD_IP"], d["SA"], d["NODE"]) == ("web", "prod", "10.0.0.5", "default", "node1")
    assert d["PATH"] == P.DEFAULT_PATH and d["HOSTNAME"] == "web"
    assert env[0] == "IMG=1"  # image env first, order kept


def test_image_path_is_kept():
    env = P.build_env(POD, {"name": "c"}, {"Env": ["PATH=/only"]}, SANDBOX)
    assert "PATH=/only" in env and f"PATH={P.DEFAULT_PATH}" not in env


def test_command_expands_against_final_env():
    c = {"name": "c", "command": ["sh", "-c", 'TEST_VAR=wrong echo "$(TEST_VAR)" $$(TEST_VAR)'],
         "env": [{"name": "TEST_VAR", "value": "test-value"}]}
    p = P.container_plan(POD, c, SANDBOX, image(), "/inst", {})
    assert p.argv == ["sh", "-c", 'TEST_VAR=wrong echo "test-value" $(TEST_VAR)']


def test_plan_mounts_root_proc_dev_sys_pod_files_and_termination_log_in_order():
    p = P.container_plan(POD, {"name": "c", "command": ["true"]}, SANDBOX, image(WorkingDir="/srv"), "/inst", {})
    assert p.rootfs == "/inst/merged" and p.cwd == "/srv"
    assert p.ops[0] == P.Overlay("/img/rootfs", "/inst/upper", "/inst/work", "/inst/merged", flags=MS_NODEV)
    assert p.ops[1] == P.Proc("/proc")
    kinds = [type(o).__name__ for o in p.ops]
    assert kinds.index("Tmpfs") < kinds.index("Devpts") < kinds.index("Sysfs")
    binds = [(o.source, o.target) for o in p.ops if isinstance(o, P.Bind)]
    assert ("/dev/null", "/dev/null") in binds
    assert binds[-4:] == [("/run/p/hosts", "/etc/hosts"), ("/run/p/hostname", "/etc/hostname"),
                          ("/run/p/resolv.conf", "/etc/resolv.conf"),
                          ("/inst/termination-log", "/dev/termination-log")]
    assert P.Symlink("pts/ptmx", "/dev/ptmx") in p.ops
    assert p.join_ns == SANDBOX.ns_paths and p.new_ns == ["mnt", "pid"]


def test_shared_pid_namespace_is_joined_not_created():
    sb = SandboxInfo(**{**SANDBOX.to_dict(), "shares_pid": True,
                        "ns_paths": {**SANDBOX.ns_paths, "pid": "/proc/10/ns/pid"}})
    p = P.container_plan(POD, {"name": "c", "command": ["true"]}, sb, image(), "/inst", {})
    assert p.new_ns == ["mnt"] and p.join_ns["pid"] == "/proc/10/ns/pid"


def test_volume_mounts_bind_with_readonly_and_subpath():
    c = {"name": "c", "command": ["true"], "terminationMessagePath": "/tmp/msg",
         "volumeMounts": [{"name": "data", "mountPath": "/data"},
                          {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
                          {"name": "data", "mountPath": "/sub", "subPath": "a/b"}]}
    p = P.container_plan(POD, c, SANDBOX, image(), "/inst", {"data": "/v/data", "cfg": "/v/cfg"})
    tail = p.ops[-5:]
    assert tail == [P.Bind("/inst/termination-log", "/tmp/msg", recursive=False),
                    P.Bind("/v/data", "/data"),
                    P.Bind("/v/cfg", "/etc/cfg"), P.RemountRO("/etc/cfg"),
                    P.Bind("/v/data", "/sub", subpath="a/b")]
    assert [getattr(op, "volume_mount", None) for op in tail] == ["", "data", "cfg", None, "data"]


@pytest.mark.parametrize("vm,env,message", [
    # kubelet_pods.go makeMounts, word for word
    ({"subPath": "../etc"}, [], "unable to provision SubPath `../etc`: must not contain '..'"),
    ({"subPath": "a/../../b"}, [], "unable to provision SubPath `a/../../b`: must not contain '..'"),
    ({"subPath": "/abs"}, [], "error SubPath `/abs` must not be an absolute path"),
    # e2e expansion.go: "with backticks" (the value is "..") and "with absolute path"
    ({"subPathExpr": "$(POD_NAME)"}, [{"name": "POD_NAME", "value": ".."}],
     "unable to provision SubPath `..`: must not contain '..'"),
    ({"subPathExpr": "$(POD_NAME)"}, [{"name": "POD_NAME", "value": "/tmp"}],
     "error SubPath `/tmp` must not be an absolute path"),
    ({"subPathExpr": "logs/$(POD_NAME)/../x"}, [{"name": "POD_NAME", "value": "a"}],
     "unable to provision SubPath `logs/a/../x`: must not contain '..'"),
    # ExpandContainerVolumeMounts: unset or empty is missing; image Env and PATH are not seen
    ({"subPathExpr": "$(B)/$(A)/$(PATH)/$(E)"}, [{"name": "E", "value": ""}],
     "missing value for A, B, E, PATH"),
])
def test_subpath_and_expansion_refusals_are_the_kubelets(vm, env, message):
    c = {"name": "c", "command": ["true"], "env": env,
         "volumeMounts": [{"name": "d", "mountPath": "/d", **vm}]}
    with pytest.raises(P.InvalidSubPath) as info:
        P.container_plan(POD, c, SANDBOX, image(Env=["A=from-image"]), "/inst", {"d": "/v/d"})
    assert str(info.value) == message
    assert isinstance(info.value, P.CreateContainerConfigError)


def test_subpath_expr_expands_from_the_containers_env():
    c = {"name": "c", "command": ["true"],
         "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "DIR", "value": "logs/$(POD_NAME)"}],
         "volumeMounts": [{"name": "d", "mountPath": "/d", "subPathExpr": "$(DIR)/$$(KEPT)"}]}
    p = P.container_plan(POD, c, SANDBOX, image(), "/inst", {"d": "/v/d"})
    assert p.ops[-1] == P.Bind("/v/d", "/d", subpath="logs/web/$(KEPT)")


def test_user_from_image_and_security_context(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nwww:x:33:34::/:/bin/sh\n")
    img = SimpleNamespace(rootfs=str(tmp_path), config={"User": "www"})
    p = P.container_plan(POD, {"name": "c", "command": ["id"]}, SANDBOX, img, "/inst", {})
    assert (p.uid, p.gid) == (33, 34)
    c = {"name": "c", "command": ["id"], "securityContext": {"runAsUser": 1000, "runAsGroup": 3000}}
    p = P.container_plan(POD, c, SANDBOX, img, "/inst", {})
    assert (p.uid, p.gid) == (1000, 3000)


def test_prepare_instance_dir_makes_layers_and_world_writable_termination_log(tmp_path):
    paths = P.prepare_instance_dir(str(tmp_path / "i"))
    for k in ("upper", "work", "merged"):
        assert (tmp_path / "i" / k).is_dir()
    assert oct((tmp_path / "i/termination-log").stat().st_mode & 0o777) == "0o666"
    assert paths["termination-log"].endswith("termination-log")
