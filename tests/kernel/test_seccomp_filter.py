"""Seccomp for real: the compiled RuntimeDefault filter in a forked process (each blocked syscall
answers what the profile says), then in busybox containers (with a small static probe for the
keyring calls busybox cannot make) and in commands exec'd into them.

Every syscall tried here is harmless had it gone through: bogus arguments that the kernel
refuses with an errno of its own (EINVAL, EFAULT …), distinct from the filter's EPERM/ENOSYS.
"""
from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import os

import subprocess

import prctl
import pytest
import pyseccomp

from podrun.kernel import procs, seccomp
from podrun.runtime.exec import exec_plan, run_exec
from podrun.runtime.launcher import launch
from podrun.runtime.seccomp_profile import runtime_default
from podrun.runtime.security import DEFAULT_CAPABILITIES
from podrun.runtime.state import Identity

from podenv import PodEnv, _drain, pod

pytestmark = [pytest.mark.usefixtures("leak_check")]

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
AF_INET, AF_ALG, AF_VSOCK, SOCK_STREAM = 2, 38, 40, 1
CLONE_NEWUSER = 0x10000000

# name -> arguments the kernel itself would refuse (or that do nothing lasting)
PROBES = {
    "keyctl": (-1,),                  # no such keyctl operation: EOPNOTSUPP
    "add_key": (0, 0, 0, 0, 0),       # NULL type: EFAULT
    "request_key": (0, 0, 0, 0),      # NULL type: EFAULT
    "bpf": (-1, 0, 0),                # no such command: EINVAL
    "perf_event_open": (0, 0, -1, -1, 0),  # NULL attr: EFAULT
    "kexec_load": (0, 0, 0, -1),      # bad flags
    "mount": (0, 0, 0, 0, 0),
    "personality_addr_no_randomize": (0x0040000,),
    "personality_query": (0xFFFFFFFF,),
    "clone3": (0, 0),                 # NULL args: EFAULT/EINVAL
    "socket_inet": (AF_INET, SOCK_STREAM, 0),
    "socket_alg": (AF_ALG, 5, 0),
    "socket_vsock": (AF_VSOCK, SOCK_STREAM, 0),
    "unshare_user": (CLONE_NEWUSER,),
    "getpid": (),
}


def _syscall_name(probe: str) -> str:
    return probe.split("_")[0] if probe.startswith(("personality", "socket", "unshare")) else probe


def _errnos_under(flt: seccomp.Filter | None, no_new_privs: bool = True) -> dict[str, int]:
    """Fork, load flt, make every probe call; {probe: errno or 0}."""
    numbers = {p: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, _syscall_name(p)) for p in PROBES}
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            if no_new_privs:
                prctl.set_no_new_privs(1)
            if flt is not None:
                seccomp.load(flt)
            out = {}
            for probe, args in PROBES.items():
                ctypes.set_errno(0)
                res = _libc.syscall(ctypes.c_long(numbers[probe]), *(ctypes.c_long(a) for a in args))
                out[probe] = ctypes.get_errno() if res < 0 else 0
                if res >= 0 and probe.startswith("socket"):
                    os.close(res)
            out["mode"] = seccomp.mode()
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


BLOCKED = ["keyctl", "add_key", "request_key", "bpf", "perf_event_open", "kexec_load", "mount",
           "personality_addr_no_randomize", "socket_alg", "socket_vsock", "unshare_user"]


def test_runtime_default_blocks_with_eperm_and_clone3_with_enosys():
    got = _errnos_under(seccomp.compile(runtime_default(DEFAULT_CAPABILITIES)))
    assert got["mode"] == 2
    assert {p: got[p] for p in BLOCKED} == {p: errno.EPERM for p in BLOCKED}
    assert got["clone3"] == errno.ENOSYS          # so that libc falls back to clone
    assert got["socket_inet"] == got["personality_query"] == got["getpid"] == 0


def test_without_the_filter_the_same_calls_reach_the_kernel():
    """The baseline: the kernel answers the probes itself, never with the filter's words."""
    got = _errnos_under(None)
    assert got["mode"] == 0
    for probe in ("keyctl", "add_key", "request_key", "bpf", "perf_event_open", "clone3"):
        assert got[probe] not in (0, errno.EPERM, errno.ENOSYS), (probe, got[probe])
    assert got["personality_addr_no_randomize"] == 0 and got["socket_inet"] == 0


def test_cap_sys_admin_gives_back_namespaces_mount_bpf_and_clone3():
    got = _errnos_under(seccomp.compile(runtime_default([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"])))
    assert got["mode"] == 2
    for probe in ("bpf", "mount", "clone3", "perf_event_open"):
        assert got[probe] not in (errno.EPERM, errno.ENOSYS), (probe, got[probe])
    assert got["unshare_user"] == 0               # the forked probe's own, gone with it
    assert got["keyctl"] == errno.EPERM           # the keyring stays closed to everyone


def test_a_filter_loads_without_no_new_privs_while_root_has_cap_sys_admin():
    got = _errnos_under(seccomp.compile(runtime_default(DEFAULT_CAPABILITIES)), no_new_privs=False)
    assert got["mode"] == 2 and got["keyctl"] == errno.EPERM


# ---- in containers --------------------------------------------------------------------------

SECCOMP = "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"


def _containers(tmp_path, pause, rootfs, *containers: dict, the_pod: dict | None = None) -> list[tuple[int, str, str]]:
    async def main():
        async with PodEnv(str(tmp_path), pause, rootfs, the_pod or pod("scmp")) as env:
            return [await env.run(c) for c in containers]
    return asyncio.run(main())


def _sh(name: str, script: str, **sc) -> dict:
    return {"name": name, "command": ["sh", "-c", script], **({"securityContext": sc} if sc else {})}


def _fields(out: str) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def test_default_container_is_filtered_unconfined_and_privileged_are_not(tmp_path, pause_binary, busybox_rootfs):
    results = _containers(tmp_path, pause_binary, busybox_rootfs,
                          _sh("default", SECCOMP),
                          _sh("unconfined", SECCOMP, seccompProfile={"type": "Unconfined"}),
                          _sh("privileged", SECCOMP, privileged=True, seccompProfile={"type": "RuntimeDefault"}))
    modes = [_fields(out).get("Seccomp") for _, out, _ in results]
    assert modes == ["2", "0", "0"], results


def test_unshare_is_refused_under_runtime_default_and_works_unconfined(tmp_path, pause_binary, busybox_rootfs):
    script = "unshare -Urn true; echo rc=$?"
    (_, out1, err1), (_, out2, err2) = _containers(
        tmp_path, pause_binary, busybox_rootfs,
        _sh("default", script), _sh("unconfined", script, seccompProfile={"type": "Unconfined"}))
    assert "rc=1" in out1 and "Operation not permitted" in err1, (out1, err1)
    assert "rc=0" in out2, (out2, err2)


def test_ordinary_work_runs_under_runtime_default(tmp_path, pause_binary, busybox_rootfs):
    script = ("mkdir -p /tmp/d && echo hi > /tmp/d/f && chmod 600 /tmp/d/f && cat /tmp/d/f && "
              "ls /proc/self/fd >/dev/null && (sleep 0.01 &) && wait && date +%s >/dev/null && "
              "nc -l -p 8081 -e true & sleep 0.1; echo x | nc 127.0.0.1 8081; echo done")
    ((code, out, err),) = _containers(tmp_path, pause_binary, busybox_rootfs, _sh("work", script))
    assert out.split() == ["hi", "done"], (out, err)


def test_the_filter_holds_for_non_root_with_and_without_no_new_privs(tmp_path, pause_binary, busybox_rootfs):
    """allowPrivilegeEscalation: false loads the filter last, after no_new_privs; otherwise it
    is loaded as root before the capability drop and survives the change of user."""
    results = _containers(tmp_path, pause_binary, busybox_rootfs,
                          _sh("nnp", SECCOMP + "; unshare -Ur true; echo rc=$?", runAsUser=1000,
                              allowPrivilegeEscalation=False),
                          _sh("plain", SECCOMP + "; unshare -Ur true; echo rc=$?", runAsUser=1000))
    (f1, f2) = [_fields(out) for _, out, _ in results]
    assert (f1["Seccomp"], f1["NoNewPrivs"]) == ("2", "1")
    assert (f2["Seccomp"], f2["NoNewPrivs"]) == ("2", "0")
    assert all("rc=1" in out for _, out, _ in results), results


def test_a_profile_of_our_own_returns_its_errno(tmp_path, pause_binary, busybox_rootfs):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": errno.EROFS}]}

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("scmp")) as env:
            p = env.plan(_sh("own", "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo touched"))
            p.seccomp = seccomp.compile(profile)
            launched = await launch(p)
            env.launched.append(launched)
            await procs.wait_exit(launched.pid)
            return _drain(launched.stdout_fd), _drain(launched.stderr_fd)
    out, err = asyncio.run(main())
    assert "Read-only file system" in err and "rc=1" in out and "touched" in out, (out, err)


def test_exec_into_a_filtered_container_is_filtered_too(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("scmp")) as env:
            launched = await env.start({"name": "c", "command": ["sleep", "30"]})
            ident = Identity.of(env.plans[launched.pid])
            xp = exec_plan(launched.ref, ["sh", "-c", SECCOMP + "; unshare -Urn true; echo rc=$?"], [],
                           identity=ident)
            return await run_exec(xp, timeout=5)
    code, out = asyncio.run(main())
    text = out.decode()
    assert _fields(text)["Seccomp"] == "2" and "rc=1" in text, text


PROBE_C = r"""
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void try(const char *name, long nr, long a, long b, long c) {
    errno = 0;
    long r = syscall(nr, a, b, c, 0L, 0L);
    printf("%s=%d\n", name, r < 0 ? errno : 0);
}
int main(void) {
    try("keyctl", SYS_keyctl, -1, 0, 0);
    try("add_key", SYS_add_key, 0, 0, 0);
    try("request_key", SYS_request_key, 0, 0, 0);
    try("bpf", SYS_bpf, -1, 0, 0);
    try("getpid", SYS_getpid, 0, 0, 0);
    return 0;
}
"""


@pytest.fixture
def probe_dir(tmp_path):
    """A static binary that calls the keyring syscalls and prints each errno (gcc is the pause
    program's compiler, so it is there)."""
    d = tmp_path / "probe"
    d.mkdir()
    (d / "probe.c").write_text(PROBE_C)
    subprocess.run(["gcc", "-Os", "-static", "-o", str(d / "probe"), str(d / "probe.c")], check=True)
    return str(d)


def test_the_keyring_is_closed_to_a_default_container_and_open_unconfined(tmp_path, pause_binary, busybox_rootfs,
                                                                          probe_dir):
    mount = {"volumeMounts": [{"name": "probe", "mountPath": "/probe"}], "command": ["/probe/probe"]}
    unconfined = {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("scmp")) as env:
            vols = {"probe": probe_dir}
            return [await env.run({"name": "default", **mount}, vols),
                    await env.run({"name": "unconfined", **mount, **unconfined}, vols)]
    (c1, out1, _), (c2, out2, _) = asyncio.run(main())
    default = dict(line.split("=") for line in out1.split())
    free = dict(line.split("=") for line in out2.split())
    eperm = str(errno.EPERM)
    assert default == {"keyctl": eperm, "add_key": eperm, "request_key": eperm, "bpf": eperm, "getpid": "0"}
    assert eperm not in (free["keyctl"], free["add_key"], free["request_key"]), free
