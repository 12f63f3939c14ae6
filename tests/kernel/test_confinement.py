"""Default confinement and securityContext, asserted from inside real busybox containers.

Each test starts its own pod sandbox (PodEnv) and containers in their own namespaces; the
leak_check fixture fails a test that leaves a process or a mount behind. Escape attempts only
ever try things that would be harmless had they worked (a no-op rewrite, a read, a help key).
"""
from __future__ import annotations

import asyncio
import ctypes
import os

import prctl
import pytest

from podrun.errors import ContainerCreateError
from podrun.kernel import capabilities as caps
from podrun.kernel import procs
from podrun.runtime.exec import exec_plan, run_exec
from podrun.runtime.launcher import launch
from podrun.runtime.security import DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS
from podrun.runtime.volumes import prepare_volumes, teardown_volumes

from podenv import PodEnv, _drain, pod

pytestmark = [pytest.mark.usefixtures("leak_check")]

DEFAULT_MASK = f"{caps.mask(DEFAULT_CAPABILITIES):016x}"   # Docker's familiar 00000000a80425fb
STATUS = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"


def _run(tmp_path, pause, rootfs, container: dict, the_pod: dict | None = None,
         volumes: dict[str, str] | None = None) -> tuple[int, str, str]:
    async def main():
        async with PodEnv(str(tmp_path), pause, rootfs, the_pod or pod("conf")) as env:
            return await env.run({"name": "c", **container}, volumes)
    return asyncio.run(main())


def _with_empty_dir(tmp_path, pause, rootfs, container: dict, **spec) -> tuple[int, str, str]:
    """Run container in a pod with an emptyDir "scratch" mounted on /scratch."""
    p = pod("conf", volumes=[{"name": "scratch", "emptyDir": {}}], **spec)
    vols = prepare_volumes(p, lambda n: str(tmp_path / "vol" / n))
    container = {**container, "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}
    try:
        return _run(tmp_path, pause, rootfs, container, p, vols)
    finally:
        teardown_volumes(p, vols)


def _sh(tmp_path, pause, rootfs, script: str, sc: dict | None = None, **kw) -> tuple[int, str, str]:
    container = {"command": ["sh", "-c", script]}
    if sc is not None:
        container["securityContext"] = sc
    return _run(tmp_path, pause, rootfs, container, **kw)


def _status(out: str) -> dict[str, str]:
    return dict(line.replace("\t", "").split(":", 1) for line in out.splitlines() if ":" in line)


# ---- capability sets -------------------------------------------------------------------------

def test_root_container_has_exactly_the_default_capabilities(tmp_path, pause_binary, busybox_rootfs):
    code, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs, STATUS)
    st = _status(out)
    assert code == 0
    assert (st["CapBnd"], st["CapPrm"], st["CapEff"]) == (DEFAULT_MASK,) * 3
    assert (st["CapInh"], st["CapAmb"], st["NoNewPrivs"]) == ("0" * 16, "0" * 16, "0")


def test_added_and_dropped_capabilities_show_in_every_set(tmp_path, pause_binary, busybox_rootfs):
    sc = {"capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN"]}}
    code, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs, STATUS + "; chown 1:1 /tmp; echo chown=$?", sc)
    want = f"{caps.mask([*set(DEFAULT_CAPABILITIES) - {'CAP_CHOWN'}, 'CAP_NET_ADMIN']):016x}"
    st = _status(out)
    assert (st["CapBnd"], st["CapEff"]) == (want, want)
    assert "chown=1" in out   # CAP_CHOWN is gone


def test_non_root_user_runs_without_effective_capabilities(tmp_path, pause_binary, busybox_rootfs):
    code, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs, "id -u; id -g; " + STATUS,
                       {"runAsUser": 1000})
    lines = out.splitlines()
    st = _status(out)
    assert code == 0 and lines[:2] == ["1000", "0"]     # no runAsGroup: group root, as on Kubernetes
    assert (st["CapPrm"], st["CapEff"], st["CapAmb"]) == ("0" * 16,) * 3
    assert st["CapBnd"] == DEFAULT_MASK


def test_allow_privilege_escalation_false_sets_no_new_privs(tmp_path, pause_binary, busybox_rootfs):
    _, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs, STATUS, {"allowPrivilegeEscalation": False})
    assert _status(out)["NoNewPrivs"] == "1"


_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE = 47, 2


def _run_plan(tmp_path, pause, rootfs, container: dict, **plan_fields) -> str:
    """Launch a container whose LaunchPlan fields are overridden; its stdout."""
    async def main():
        async with PodEnv(str(tmp_path), pause, rootfs, pod("conf")) as env:
            plan = env.plan({"name": "c", **container})
            for key, value in plan_fields.items():
                setattr(plan, key, value)
            launched = await launch(plan)
            env.launched.append(launched)
            await procs.wait_exit(launched.pid)
            return _drain(launched.stdout_fd)
    return asyncio.run(main())


@pytest.mark.parametrize("uid", [0, 1000])
def test_inheritable_and_ambient_capabilities_of_the_runtime_do_not_leak(
        tmp_path, pause_binary, busybox_rootfs, uid):
    """containerd CVE-2022-24769: a runtime with inheritable/ambient caps must not pass them on
    (for root, inheritable and ambient caps become permitted at execve, past the bounding set).
    The control run leaves the sets alone (capabilities None, like the pause) and shows the
    leak is real: inheritable for both users, ambient for root (setuid clears it for 1000)."""
    libc = ctypes.CDLL(None, use_errno=True)
    container = {"command": ["sh", "-c", STATUS]}
    prctl.cap_inheritable.net_admin = True
    try:
        assert libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, caps.number("CAP_NET_ADMIN"), 0, 0) == 0
        confined = _status(_run_plan(tmp_path / "a", pause_binary, busybox_rootfs, container, uid=uid))
        control = _status(_run_plan(tmp_path / "b", pause_binary, busybox_rootfs, container, uid=uid,
                                    capabilities=None))
    finally:
        prctl.cap_inheritable.net_admin = False       # lowers the ambient cap with it
    net_admin = 1 << caps.number("CAP_NET_ADMIN")
    assert int(control["CapInh"], 16) == net_admin
    assert int(control["CapAmb"], 16) == (net_admin if uid == 0 else 0)
    assert (confined["CapInh"], confined["CapAmb"]) == ("0" * 16, "0" * 16)
    assert not int(confined["CapEff"], 16) & net_admin


def test_privileged_container_gets_the_runtimes_capabilities_host_devices_and_rw_sys(
        tmp_path, pause_binary, busybox_rootfs):
    disk = _root_disk()
    script = (STATUS + "; echo masks=$(grep -c -E ' /proc/(keys|sys) ' /proc/self/mountinfo);"
              " echo sys=$(grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f6 | cut -c1-2);"
              f" echo disk=$(ls {disk}); echo null=$(echo x > /dev/null && echo ok)")
    code, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs, script, {"privileged": True})
    st = _status(out)
    marks = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert code == 0
    assert st["CapEff"] == f"{caps.mask(caps.current()):016x}" == st["CapBnd"]
    assert marks == {"masks": "0", "sys": "rw", "disk": disk, "null": "ok"}
    assert not os.path.exists("/dev/termination-log")   # its /dev is a tmpfs, not the host's


def test_unknown_capability_is_a_config_error(tmp_path, pause_binary, busybox_rootfs):
    from podrun.runtime.plan import CreateContainerConfigError
    with pytest.raises(CreateContainerConfigError, match='unknown capability "CAP_FOO"'):
        _sh(tmp_path, pause_binary, busybox_rootfs, "true", {"capabilities": {"add": ["FOO"]}})


# ---- filesystem --------------------------------------------------------------------------------

def test_read_only_root_filesystem_keeps_volumes_dev_and_pod_files_writable(
        tmp_path, pause_binary, busybox_rootfs):
    script = ("touch /x; echo root=$?; touch /scratch/x; echo vol=$?; echo ok > /dev/termination-log;"
              " echo term=$?; echo '# ok' >> /etc/hosts; echo hosts=$?; touch /dev/shm/x; echo shm=$?")
    code, out, err = _with_empty_dir(tmp_path, pause_binary, busybox_rootfs, {
        "command": ["sh", "-c", script], "securityContext": {"readOnlyRootFilesystem": True}})
    assert "touch: /x: Read-only file system" in err
    assert out.split() == ["root=1", "vol=0", "term=0", "hosts=0", "shm=0"]


def test_fs_group_owns_empty_dirs_and_is_a_supplementary_group(tmp_path, pause_binary, busybox_rootfs):
    code, out, _ = _with_empty_dir(tmp_path, pause_binary, busybox_rootfs, {
        "securityContext": {"runAsUser": 1000},
        "command": ["sh", "-c", "id -G; touch /scratch/f; stat -c '%g %a' /scratch /scratch/f"]},
        securityContext={"fsGroup": 2000, "supplementalGroups": [3000]})
    assert code == 0
    assert out.splitlines() == ["0 2000 3000", "2000 2777", "2000 644"]


def test_cgroup_procs_are_joined_before_the_container_starts(tmp_path, pause_binary, busybox_rootfs):
    cg = f"/sys/fs/cgroup/pids/podrun-captest-{os.getpid()}"
    os.mkdir(cg)
    try:
        async def main():
            async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("cg")) as env:
                plan = env.plan({"name": "c", "command": ["sleep", "30"]})
                plan.cgroup_procs = [os.path.join(cg, "cgroup.procs")]
                launched = await launch(plan)
                env.launched.append(launched)
                with open(f"/proc/{launched.pid}/cgroup") as f:
                    host_view = f.read()
                with open(os.path.join(cg, "cgroup.procs")) as f:
                    members = f.read().split()
                return host_view, members, launched.pid
        host_view, members, pid = asyncio.run(main())
    finally:
        os.rmdir(cg)
    assert f"pids:/podrun-captest-{os.getpid()}" in host_view
    assert members == [str(pid)]   # the container alone: the intermediate that joined it is gone


def test_missing_cgroup_is_a_create_error_at_step_cgroup(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("cg")) as env:
            plan = env.plan({"name": "c", "command": ["true"]})
            plan.cgroup_procs = ["/sys/fs/cgroup/pids/podrun-no-such-cgroup/cgroup.procs"]
            await launch(plan)
    with pytest.raises(ContainerCreateError) as info:
        asyncio.run(main())
    assert (info.value.step, info.value.op) == ("cgroup", "join")


def test_join_only_plan_runs_as_the_containers_identity(tmp_path, pause_binary, busybox_rootfs):
    """exec: the same child with rootfs None applies user, capabilities and no_new_privs."""
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("x")) as env:
            launched = await env.start({"name": "c", "command": ["sleep", "30"]})
            results = []
            for uid in (0, 1000):
                xp = exec_plan(launched.ref, ["sh", "-c", "id -u; " + STATUS], [])
                xp.uid, xp.gid = uid, uid
                xp.capabilities, xp.no_new_privs = list(DEFAULT_CAPABILITIES), True
                results.append(await run_exec(xp, timeout=5))
            return results
    (code0, out0), (code1, out1) = asyncio.run(main())
    root, user = _status(out0.decode()), _status(out1.decode())
    assert code0 == code1 == 0
    assert out0.decode().splitlines()[0] == "0" and out1.decode().splitlines()[0] == "1000"
    assert (root["CapBnd"], root["CapEff"], root["NoNewPrivs"]) == (DEFAULT_MASK, DEFAULT_MASK, "1")
    assert (user["CapBnd"], user["CapEff"], user["NoNewPrivs"]) == (DEFAULT_MASK, "0" * 16, "1")


# ---- escapes: a root container with the default settings --------------------------------------

def _root_disk() -> str:
    """The block device behind the host's /, else any block device the host has."""
    st = os.stat("/")
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    if os.path.exists(f"/sys/dev/block/{major}:{minor}"):
        return f"/dev/{os.path.basename(os.path.realpath(f'/sys/dev/block/{major}:{minor}'))}"
    name = sorted(os.listdir("/sys/dev/block"))[0]
    return f"/dev/{os.path.basename(os.path.realpath('/sys/dev/block/' + name))}"


def _dev_numbers(path: str) -> tuple[int, int]:
    rdev = os.stat(path).st_rdev
    return os.major(rdev), os.minor(rdev)


def _if_on_host(path: str, expect: str) -> str:
    """A kernel without `path` has none in the container's fresh /proc or /sys either: the
    write must still fail (rc != 0), with whatever message."""
    return expect if os.path.exists(path) else ""


def _escape(name: str, script: str, expect: str, *marks):
    """(script, what stdout+stderr must show), named; the script is followed by `echo rc=$?`."""
    return pytest.param(script, expect, id=name, marks=marks)


DENIED = "permission denied (are you root?)"   # busybox mount's words for EPERM
ESCAPES = [
    _escape("mount a tmpfs", "mount -t tmpfs none /tmp", DENIED),
    _escape("mount a cgroup hierarchy (release_agent)", "mount -t cgroup -o pids none /tmp", DENIED),
    _escape("mount a fresh procfs", "mount -t proc proc /tmp", DENIED),
    _escape("unmount a masked path", "umount /proc/keys", _if_on_host("/proc/keys", "Operation not permitted")),
    _escape("remount /proc/sys read-write", "mount -o remount,rw /proc/sys", DENIED),
    _escape("new mount namespace", "unshare -m true", "Operation not permitted"),
    _escape("set the pod's hostname", "hostname evil", "Operation not permitted"),
    _escape("add a network link", "ip link add evil type dummy", "Operation not permitted"),
    _escape("write /proc/sys/kernel/hostname", "echo evil > /proc/sys/kernel/hostname", "Read-only file system"),
    _escape("rewrite core_pattern",
            'v=$(cat /proc/sys/kernel/core_pattern); echo "$v" > /proc/sys/kernel/core_pattern',
            "Read-only file system"),
    _escape("rewrite a /sys/kernel knob", "v=$(cat /sys/kernel/rcu_normal); echo $v > /sys/kernel/rcu_normal",
            _if_on_host("/sys/kernel/rcu_normal", "Read-only file system")),
    _escape("signal a host process", f"kill -0 {os.getpid()}", "No such process"),
    _escape("sysrq (help key)", "echo h > /proc/sysrq-trigger",
            _if_on_host("/proc/sysrq-trigger", "Read-only file system")),
]


@pytest.mark.parametrize("script,expect", ESCAPES)
def test_escape_attempt_fails(tmp_path, pause_binary, busybox_rootfs, script, expect):
    code, out, err = _sh(tmp_path, pause_binary, busybox_rootfs, f"{script}; echo rc=$?")
    assert expect in out + err, (out, err)
    assert "rc=0" not in out


def test_module_loading_is_refused(tmp_path, pause_binary, busybox_rootfs):
    """CAP_SYS_MODULE is outside the bounding set; insmod fails (with ENOSYS on a kernel
    without module support, where the capability check is never reached)."""
    _, out, err = _sh(tmp_path, pause_binary, busybox_rootfs,
                      "insmod /bin/busybox; echo rc=$?; modprobe dummy; echo rc=$?; " + STATUS)
    assert not int(_status(out)["CapBnd"], 16) & 1 << caps.number("CAP_SYS_MODULE")
    assert "rc=0" not in out
    assert "Operation not permitted" in err or "kernel does not support" in err


def test_masked_paths_read_empty_and_readonly_paths_refuse_writes(tmp_path, pause_binary, busybox_rootfs):
    masked = [p for p in MASKED_PATHS if os.path.exists(p)]
    readonly = [p for p in READONLY_PATHS if os.path.exists(p)]
    script = "; ".join([f"echo {p}=$(cat {p} 2>&1 | wc -c)" if os.path.isfile(p) else
                        f"echo {p}=$(ls -A {p} | wc -l)" for p in masked] +
                       [f"echo {p}=$(grep -c ' {p} ro,' /proc/self/mountinfo)" for p in readonly])
    code, out, err = _sh(tmp_path, pause_binary, busybox_rootfs, script)
    got = dict(line.split("=") for line in out.split())
    assert masked and readonly
    assert got == {**{p: "0" for p in masked}, **{p: "1" for p in readonly}}, err


def test_unmasked_proc_mount_applies_no_masks(tmp_path, pause_binary, busybox_rootfs):
    _, out, _ = _sh(tmp_path, pause_binary, busybox_rootfs,
                    "grep -c -E ' /proc/(keys|sys|acpi) ' /proc/self/mountinfo", {"procMount": "Unmasked"})
    assert out.split() == ["0"]


def test_mknod_of_the_host_disk_cannot_be_opened_anywhere_writable(tmp_path, pause_binary, busybox_rootfs):
    """CAP_MKNOD is in the default set, so root can make the node; every place it can write is
    nodev, so opening it fails with EACCES ("Permission denied", the kernel's may_open_dev).
    (This test machine also refuses the host itself to open its disk, but with EPERM.)"""
    major, minor = _dev_numbers(_root_disk())
    places = ("/tmp", "/dev", "/dev/shm", "/scratch")
    script = "; ".join(f"mknod {d}/disk b {major} {minor} && echo made; head -c 512 {d}/disk | wc -c;"
                       f" mknod {d}/zero2 c 1 5 && echo x > {d}/zero2; echo zero=$?"
                       for d in places)
    code, out, err = _with_empty_dir(tmp_path, pause_binary, busybox_rootfs,
                                     {"command": ["sh", "-c", script + "; echo x > /dev/null; echo real=$?"]})
    assert out.split() == ["made", "0", "zero=1"] * len(places) + ["real=0"]
    assert err.count("Permission denied") == 2 * len(places), err


def test_host_files_are_not_visible_and_pid1_root_is_the_containers(tmp_path, pause_binary, busybox_rootfs):
    secret = tmp_path / "host-secret"
    secret.write_text("host only\n")
    code, out, err = _sh(tmp_path, pause_binary, busybox_rootfs,
                         f"cat {secret}; readlink /proc/1/root; ls /proc/1/root/ | tr '\\n' ' '; echo;"
                         f" ls /dev | tr '\\n' ' '")
    lines = out.splitlines()
    assert "No such file or directory" in err and "host only" not in out
    assert lines[0] == "/"
    assert set(lines[1].split()) == set(os.listdir(busybox_rootfs)) | {"proc", "dev", "sys"}
    assert os.path.basename(_root_disk()) not in lines[2].split()


