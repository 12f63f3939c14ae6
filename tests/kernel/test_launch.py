"""Container launch for real: namespaces, overlay root, sync protocol, exec (root only)."""
from __future__ import annotations

import asyncio
import errno
import os
import signal
import time

import psutil
import pytest

from podrun.errors import ContainerCreateError
from podrun.kernel import mounts, namespaces, procs
from podrun.runtime.exec import exec_plan, run_exec
from podrun.runtime.volumes import prepare_volumes, teardown_volumes

from podenv import PodEnv, pod

pytestmark = [pytest.mark.usefixtures("leak_check")]


def test_container_is_pid1_with_pod_hostname_and_busybox_root(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("mypod")) as env:
            t0 = time.monotonic()
            launched = await env.start({"name": "c", "command": [
                "sh", "-c", "echo hi; hostname; cat /proc/1/cmdline; echo; ls /; echo $HOSTNAME; sleep 0.2"]})
            started = time.monotonic() - t0
            # the container's mounts live only in its own mount namespace
            assert mounts.mountpoints_under(str(tmp_path)) == []
            status = await procs.wait_exit(launched.pid)
            from podenv import _drain
            return status, _drain(launched.stdout_fd), started
    status, out, started = asyncio.run(main())
    lines = out.splitlines()
    assert status.exit_code == 0
    assert lines[0] == "hi" and lines[1] == "mypod"
    assert lines[2].startswith("sh\0-c\0echo hi")          # we are PID 1
    listing = set(lines[3:-1])
    assert {"bin", "etc", "proc", "dev", "sys"} <= listing and "work" not in listing
    assert lines[-1] == "mypod"
    assert started < 0.5


def test_container_is_reparented_to_the_subreaper_and_killed_status_is_128_plus_signal(
        tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            launched = await env.start({"name": "c", "command": ["sleep", "30"]})
            assert psutil.Process(launched.pid).ppid() == os.getpid()
            assert procs.alive(launched.ref)
            assert procs.send_signal(launched.ref, signal.SIGKILL)
            status = await procs.wait_exit(launched.pid)
            assert not procs.alive(launched.ref)
            assert procs.send_signal(launched.ref, signal.SIGKILL) is False
            return status
    assert asyncio.run(main()) == procs.ExitStatus(137, 9)


def test_two_containers_share_hostname_net_and_emptydir_but_not_root_writes(
        tmp_path, pause_binary, busybox_rootfs):
    p = pod("shared", volumes=[{"name": "scratch", "emptyDir": {}}])
    vols = prepare_volumes(p, lambda name: str(tmp_path / "vol" / name))
    mount = [{"name": "scratch", "mountPath": "/scratch"}]

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, p) as env:
            first = await env.run({"name": "a", "volumeMounts": mount, "command": [
                "sh", "-c", "echo from-a > /scratch/x; echo secret > /rootfile; hostname"]}, vols)
            second = await env.run({"name": "b", "volumeMounts": mount, "command": [
                "sh", "-c", "cat /scratch/x; cat /rootfile 2>/dev/null || echo no-rootfile; hostname"]}, vols)
            sleeper = await env.start({"name": "s", "command": ["sleep", "30"]})
            same_net = namespaces.ns_inode(f"/proc/{sleeper.pid}/ns/net") == \
                namespaces.ns_inode(env.sandbox.ns_paths["net"])
            own_mnt = namespaces.ns_inode(f"/proc/{sleeper.pid}/ns/mnt") != namespaces.ns_inode("/proc/self/ns/mnt")
            return first, second, same_net, own_mnt
    try:
        first, second, same_net, own_mnt = asyncio.run(main())
    finally:
        teardown_volumes(p, vols)
    assert first == (0, "shared\n", "")
    assert second == (0, "from-a\nno-rootfile\nshared\n", "")
    assert same_net and own_mnt


def test_exec_into_a_running_container_sees_its_files_and_env(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            launched = await env.start({"name": "c", "env": [{"name": "GREETING", "value": "hello"}],
                                        "command": ["sh", "-c", "echo inside > /tmp/f; exec sleep 30"]})
            upper = tmp_path / "ctr/c/0/upper/tmp/f"
            for _ in range(100):
                if upper.exists():
                    break
                await asyncio.sleep(0.02)
            plan = env.plans[launched.pid]
            xp = exec_plan(launched.ref, ["sh", "-c", "cat /tmp/f; echo $GREETING; cat /proc/1/cmdline; echo; cat"],
                           plan.env, "/tmp")
            code, out = await run_exec(xp, timeout=5, stdin=b"from-stdin")
            failing = await run_exec(exec_plan(launched.ref, ["sh", "-c", "echo oops >&2; exit 3"], plan.env), 5)
            return code, out, failing
    code, out, failing = asyncio.run(main())
    assert code == 0
    assert out.decode().splitlines() == ["inside", "hello", "sleep\x0030\x00", "from-stdin"]
    assert failing == (3, b"oops\n")


def test_exec_timeout_kills_the_whole_exec_session(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            launched = await env.start({"name": "c", "command": ["sleep", "30"]})
            before = {p.pid for p in psutil.Process().children(recursive=True)}
            xp = exec_plan(launched.ref, ["sh", "-c", "sleep 20 & sleep 20"], [])
            t0 = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await run_exec(xp, timeout=0.3)
            elapsed = time.monotonic() - t0
            await asyncio.sleep(0.05)
            after = {p.pid for p in psutil.Process().children(recursive=True)
                     if p.status() != psutil.STATUS_ZOMBIE}
            return elapsed, after - before
    elapsed, new = asyncio.run(main())
    assert elapsed < 2 and new == set()


def test_missing_command_is_a_container_create_error(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            await env.start({"name": "c", "command": ["no-such-command", "x"]})
    with pytest.raises(ContainerCreateError) as info:
        asyncio.run(main())
    err = info.value
    assert (err.step, err.op, err.target, err.errno) == ("exec", "exec", "no-such-command", errno.ENOENT)
    assert str(err).startswith("exec: exec no-such-command: ENOENT")


def test_missing_bind_source_is_a_container_create_error_naming_the_path(tmp_path, pause_binary, busybox_rootfs):
    missing = str(tmp_path / "nope")

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            await env.start({"name": "c", "command": ["true"],
                             "volumeMounts": [{"name": "v", "mountPath": "/v"}]}, {"v": missing})
    with pytest.raises(ContainerCreateError) as info:
        asyncio.run(main())
    assert (info.value.step, info.value.target, info.value.errno) == ("rootfs", missing, errno.ENOENT)
    assert str(info.value) == f"rootfs: bind {missing}: ENOENT (No such file or directory)"


def test_read_only_volume_and_subpath(tmp_path, pause_binary, busybox_rootfs):
    vol = tmp_path / "hostdir"
    vol.mkdir()
    (vol / "ro.txt").write_text("ro\n")

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            return await env.run({"name": "c", "volumeMounts": [
                {"name": "v", "mountPath": "/ro", "readOnly": True},
                {"name": "v", "mountPath": "/sub", "subPath": "made/here"}], "command": [
                "sh", "-c", "cat /ro/ro.txt; touch /ro/x 2>/dev/null && echo writable || echo readonly;"
                            "echo s > /sub/file"]}, {"v": str(vol)})
    code, out, _ = asyncio.run(main())
    assert (code, out) == (0, "ro\nreadonly\n")
    assert (vol / "made/here/file").read_text() == "s\n"


def test_shared_process_namespace_shows_pause_as_pid1(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod(shareProcessNamespace=True)) as env:
            return await env.run({"name": "c", "command": ["sh", "-c", "cat /proc/1/cmdline; echo; echo $$"]})
    code, out, _ = asyncio.run(main())
    first, mypid = out.splitlines()
    assert code == 0 and first.split("\0")[0] == pause_binary and mypid != "1"   # argv[0]; then --root DIR


def test_termination_log_is_writable_and_kept_on_the_host(tmp_path, pause_binary, busybox_rootfs):
    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            return await env.run({"name": "c", "command": ["sh", "-c", "echo -n DONE > /dev/termination-log"]})
    assert asyncio.run(main())[0] == 0
    assert (tmp_path / "ctr/c/0/termination-log").read_text() == "DONE"


def test_exec_foreground_returns_the_commands_exit_code(tmp_path, pause_binary, busybox_rootfs):
    from podrun.runtime.exec import ExecStartError, exec_foreground
    out_path = tmp_path / "out.txt"

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod("fg")) as env:
            launched = await env.start({"name": "c", "command": ["sleep", "30"]})
            with open(out_path, "wb") as out, open(os.devnull, "rb") as devnull:
                code = exec_foreground(exec_plan(launched.ref, ["sh", "-c", "hostname; exit 7"], []),
                                       devnull.fileno(), out.fileno(), out.fileno())
            # containerd's words for runc's failed execve (runtime/exec.exec_start_error)
            with pytest.raises(ExecStartError, match=r'exec: "/nope": stat /nope: no such file or directory'):
                with open(os.devnull, "rb") as devnull:
                    exec_foreground(exec_plan(launched.ref, ["/nope"], []), devnull.fileno(), 1, 2)
            return code
    assert asyncio.run(main()) == 7
    assert out_path.read_text() == "fg\n"


def test_the_child_refuses_a_subpath_out_of_its_volume_even_unchecked(tmp_path, pause_binary, busybox_rootfs):
    """The daemon's check (volumes.prepare_subpaths) is skipped here: the fd walk alone fails closed."""
    vol = tmp_path / "vol"
    vol.mkdir()
    os.symlink("/", vol / "l")

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            await env.start({"name": "c", "command": ["true"],
                             "volumeMounts": [{"name": "v", "mountPath": "/v", "subPath": "l/etc"}]},
                            {"v": str(vol)})
    with pytest.raises(ContainerCreateError) as info:
        asyncio.run(main())
    assert (info.value.step, info.value.op, info.value.errno) == ("rootfs", "subPath", errno.EXDEV)
    assert info.value.target == f"{vol}/l/etc"


def test_a_symlink_planted_in_a_volume_cannot_send_a_mount_target_out_of_the_root(
        tmp_path, pause_binary, busybox_rootfs):
    shared, other = tmp_path / "shared", tmp_path / "other"
    shared.mkdir()
    other.mkdir()
    (other / "data.txt").write_text("other\n")
    escape = tmp_path / "escape-target"
    os.symlink(str(escape), shared / "sub")          # as a container of the pod could plant it

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs, pod()) as env:
            return await env.run({"name": "c", "volumeMounts": [
                {"name": "shared", "mountPath": "/data"},
                {"name": "other", "mountPath": "/data/sub/x"}], "command": [
                "sh", "-c", f"cat {escape}/x/data.txt; ls /data"]},
                {"shared": str(shared), "other": str(other)})
    code, out, err = asyncio.run(main())
    # /data/sub -> <escape> is resolved inside the container's root: the mount is there
    assert (code, out) == (0, "other\nsub\n"), err
    assert not escape.exists()
