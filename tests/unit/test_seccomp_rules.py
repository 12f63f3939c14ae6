"""seccompProfile: the API server's validation, the kubelet's choice of profile, the default
profile's rules and the compilation of a profile (pure; libseccomp runs in-process, no root)."""
from __future__ import annotations

import errno
import json
from types import SimpleNamespace

import pytest
import yaml

from podrun.api.manifests import load_text
from podrun.api.validation import validate_all
from podrun.kernel import capabilities as caps
from podrun.kernel import seccomp
from podrun.runtime import plan as P
from podrun.runtime import security as S
from podrun.runtime.seccomp_profile import (ALLOWED, SeccompProfileError, filter_for, localhost, node_default,
                                            runtime_default)
from podrun.runtime.state import Identity, SandboxInfo

FILE = "pods.yaml"
NODE = S.NodeCapabilities(tuple(caps.NAMES), tuple(caps.NAMES))
POD = {"metadata": {"name": "web", "namespace": "prod", "uid": "abc-123"}, "spec": {}}
SANDBOX = SandboxInfo(pause_pid=10, pause_start_time=99, ns_paths={}, hostname="web", shares_pid=False, files={})


# ---- validation (apiserver validateSeccompProfileField) ---------------------------------------

def _errors(pod_sc: dict | None = None, ctr_sc: dict | None = None) -> list[tuple[str, str]]:
    ctr = {"name": "c", "image": "busybox", **({"securityContext": ctr_sc} if ctr_sc else {})}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [ctr], **({"securityContext": pod_sc} if pod_sc else {})}}
    return [(e.field_path, e.reason) for e in validate_all(load_text(yaml.safe_dump(pod), FILE))]


CPATH = "spec.containers[0].securityContext.seccompProfile"


@pytest.mark.parametrize("profile", [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
                                     {"type": "Localhost", "localhostProfile": "profiles/audit.json"}])
def test_valid_profiles_pass(profile):
    assert _errors(ctr_sc={"seccompProfile": profile}) == []
    assert _errors(pod_sc={"seccompProfile": profile}) == []


def test_type_is_required_and_must_be_one_of_three():
    assert _errors(ctr_sc={"seccompProfile": {}}) == [
        (f"{CPATH}.type", "Required value: type is required when seccompProfile is set")]
    assert _errors(pod_sc={"seccompProfile": {"type": "Default"}}) == [
        ("spec.securityContext.seccompProfile.type",
         'Unsupported value: "Default": supported values: "Localhost", "RuntimeDefault", "Unconfined"')]


def test_localhost_profile_is_required_for_localhost_and_forbidden_otherwise():
    assert _errors(ctr_sc={"seccompProfile": {"type": "Localhost"}}) == [
        (f"{CPATH}.localhostProfile", "Required value: must be set when seccomp type is Localhost")]
    [(path, reason)] = _errors(ctr_sc={"seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "x.json"}})
    assert path == f"{CPATH}.localhostProfile"
    assert reason.startswith("Invalid value: ") and reason.endswith(": can only be set when seccomp type is Localhost")


def test_localhost_profile_must_descend_from_the_seccomp_directory():
    assert _errors(ctr_sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "/etc/x.json"}}) == [
        (f"{CPATH}.localhostProfile", 'Invalid value: "/etc/x.json": must be a relative path')]
    assert _errors(pod_sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "a/../../x.json"}}) == [
        ("spec.securityContext.seccompProfile.localhostProfile",
         "Invalid value: \"a/../../x.json\": must not contain '..'")]


# ---- which profile (kubelet getSeccompProfile, containerd for privileged) --------------------

def _choice(pod_profile: dict | None = None, ctr_profile: dict | None = None, default: str = "RuntimeDefault",
            **ctr_sc):
    pod = {**POD, "spec": {"securityContext": {"seccompProfile": pod_profile} if pod_profile else {}}}
    ctr = {"name": "c", "securityContext": {**ctr_sc, **({"seccompProfile": ctr_profile} if ctr_profile else {})}}
    return S.resolve(pod, ctr, "", S.UserDB(), NODE, default).seccomp


def test_the_container_wins_over_the_pod_and_the_node_default_fills_in():
    unconfined, runtime = {"type": "Unconfined"}, {"type": "RuntimeDefault"}
    assert _choice(unconfined, runtime) == S.SeccompProfile("RuntimeDefault")
    assert _choice(runtime, unconfined) == S.SeccompProfile("Unconfined")
    assert _choice(unconfined) == S.SeccompProfile("Unconfined")
    assert _choice() == S.SeccompProfile("RuntimeDefault")
    assert _choice(default="Unconfined") == S.SeccompProfile("Unconfined")
    assert _choice({"type": "Localhost", "localhostProfile": "p/a.json"}) == S.SeccompProfile("Localhost", "p/a.json")


def test_privileged_containers_get_no_profile():
    assert _choice(ctr_profile={"type": "RuntimeDefault"}, privileged=True) == S.SeccompProfile("Unconfined")


def test_localhost_with_an_empty_profile_is_the_kubelets_config_error():
    with pytest.raises(S.CreateContainerConfigError) as exc:
        _choice(ctr_profile={"type": "Localhost", "localhostProfile": ""})
    assert str(exc.value) == "localhostProfile must be set if seccompProfile type is Localhost."


def test_node_default_is_runtime_default_unless_the_node_says_unconfined():
    assert node_default({}) == "RuntimeDefault"
    assert node_default({"PODRUN_SECCOMP_DEFAULT": "Unconfined"}) == "Unconfined"
    assert node_default({"PODRUN_SECCOMP_DEFAULT": "RuntimeDefault"}) == "RuntimeDefault"


def test_the_plan_carries_the_compiled_filter_and_exec_inherits_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PODRUN_SECCOMP_DEFAULT", raising=False)
    image = SimpleNamespace(rootfs="/img/rootfs", config={})
    ctr = {"name": "c", "command": ["true"]}
    p = P.container_plan(POD, ctr, SANDBOX, image, "/inst", {}, node=NODE, seccomp_dir=str(tmp_path))
    assert p.seccomp == seccomp.compile(runtime_default(p.capabilities))
    ident = Identity.from_dict(json.loads(json.dumps(Identity.of(p).__dict__)))
    assert ident.apply(P.LaunchPlan(argv=["x"], env=[], cwd="/", rootfs=None)).seccomp == p.seccomp
    unconfined = {**ctr, "securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert P.container_plan(POD, unconfined, SANDBOX, image, "/inst", {}, node=NODE).seccomp is None


# ---- the default profile ---------------------------------------------------------------------

def _allowed(profile: dict) -> set[str]:
    return {n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
            for n in r["names"]}


def test_runtime_default_leaves_out_what_containerd_leaves_out():
    prof = runtime_default(S.DEFAULT_CAPABILITIES, machine="x86_64", kernel="6.1.0")
    assert prof["defaultAction"] == "SCMP_ACT_ERRNO" and "defaultErrnoRet" not in prof
    assert prof["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = _allowed(prof)
    for name in ("keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
                 "unshare", "setns", "mount", "umount2", "pivot_root", "reboot", "init_module",
                 "userfaultfd", "io_uring_setup", "open_by_handle_at", "clock_settime", "personality",
                 "socket", "clone", "clone3", "acct", "swapon"):
        assert name not in allowed, name
    for name in ("read", "execve", "arch_prctl", "ptrace", "capset", "setuid", "socketpair",
                 "chroot"):  # CAP_SYS_CHROOT is one of the default capabilities
        assert name in allowed, name
    assert len({n for group in ALLOWED.values() for n in group}) == sum(len(g) for g in ALLOWED.values())


def test_clone_may_not_create_namespaces_and_clone3_says_enosys_without_sys_admin():
    rules = runtime_default(S.DEFAULT_CAPABILITIES, machine="x86_64")["syscalls"]
    clone = [r for r in rules if r["names"] == ["clone"]]
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS} in rules
    admin = runtime_default([*S.DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], machine="x86_64")
    assert {"clone", "clone3", "unshare", "setns", "mount", "bpf"} <= _allowed(admin)
    assert not [r for r in admin["syscalls"] if r["names"] in (["clone"], ["clone3"])]


@pytest.mark.parametrize("cap, gives", [("CAP_BPF", "bpf"), ("CAP_PERFMON", "perf_event_open"),
                                        ("CAP_SYS_TIME", "clock_settime"), ("CAP_SYS_CHROOT", "chroot"),
                                        ("CAP_SYS_MODULE", "finit_module"), ("CAP_SYS_BOOT", "reboot")])
def test_a_capability_gives_back_its_syscalls(cap, gives):
    assert gives not in _allowed(runtime_default([], machine="x86_64"))
    assert gives in _allowed(runtime_default([cap], machine="x86_64"))


def test_personality_and_socket_are_allowed_by_argument():
    rules = runtime_default([], machine="x86_64")["syscalls"]
    personas = sorted(r["args"][0]["value"] for r in rules if r["names"] == ["personality"])
    assert personas == [0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF]
    sockets = [(r["args"][0]["op"], r["args"][0]["value"]) for r in rules if r["names"] == ["socket"]]
    assert sockets == [("SCMP_CMP_LT", 38), ("SCMP_CMP_EQ", 39), ("SCMP_CMP_GT", 40)]   # not AF_ALG, AF_VSOCK


def test_ptrace_needs_a_kernel_of_4_8():
    assert "ptrace" not in _allowed(runtime_default([], machine="x86_64", kernel="4.4.0-generic"))
    assert "ptrace" in _allowed(runtime_default([], machine="x86_64", kernel="4.8.0"))


# ---- Localhost files and compilation -----------------------------------------------------------

def test_a_missing_localhost_profile_says_containerds_words(tmp_path):
    path = str(tmp_path / "profiles" / "gone.json")
    with pytest.raises(SeccompProfileError) as exc:
        filter_for(S.SeccompProfile("Localhost", "profiles/gone.json"), [], str(tmp_path))
    assert str(exc.value) == f'cannot load seccomp profile "{path}": open {path}: no such file or directory'


def test_a_localhost_profile_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(SeccompProfileError) as exc:
        localhost(str(tmp_path / "bad.json"))
    assert str(exc.value).startswith(f'decoding seccomp profile failed "{tmp_path}/bad.json": ')


def test_a_localhost_profile_compiles(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(
        {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
         "syscalls": [{"names": ["mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]}))
    flt = filter_for(S.SeccompProfile("Localhost", "p.json"), [], str(tmp_path))
    assert flt is not None and flt.flags == 2 and flt.instructions > 4


@pytest.mark.parametrize("profile, message", [
    ({"defaultAction": "SCMP_ACT_NOPE"}, "invalid seccomp action 'SCMP_ACT_NOPE'"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "needs a listener"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}, "invalid seccomp architecture"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_X"]}, "invalid seccomp flag"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     "invalid seccomp argument index 7"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": ["read"]}, "invalid seccomp profile"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                                                       "args": [{"value": "x", "op": "SCMP_CMP_EQ"}]}]},
     "invalid seccomp profile"),
])
def test_profiles_that_cannot_compile_are_refused(profile, message):
    with pytest.raises(seccomp.ProfileError) as exc:
        seccomp.compile(profile)
    assert message in str(exc.value)


def test_compilation_is_done_once_per_profile_and_round_trips_through_the_record():
    prof = runtime_default(S.DEFAULT_CAPABILITIES)
    flt = seccomp.compile(prof)
    assert seccomp.compile(json.loads(json.dumps(prof))) is flt
    assert seccomp.Filter.from_dict(json.loads(json.dumps(flt.to_dict()))) == flt
    assert seccomp.Filter.from_dict(None) is None
