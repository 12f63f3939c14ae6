"""The pause process has a root of its own (issue 12): an empty read-only root in a private
mount namespace, no host fd, no host cwd, no privileges. A container of a pod sharing its PID
namespace, with SYS_PTRACE (allowed by the baseline policy), reaches nothing of the host
through /proc/1/root, /proc/1/cwd or /proc/1/fd."""
from __future__ import annotations

import asyncio
import os

from podrun.runtime import sandbox as S

from podenv import PodEnv, pod


def test_a_ptrace_container_reaches_nothing_of_the_host_through_the_pause(tmp_path, pause_binary,
                                                                         busybox_rootfs, leak_check):
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host secret\n")
    script = (f"ls -a /proc/1/root/; echo root-listed=$?; "
              f"cat /proc/1/root{host}/secret; echo read=$?; "
              f"echo owned > /proc/1/root{host}/written; echo write=$?; "
              f"cat /proc/1/cwd{host}/secret; echo cwd-read=$?; "
              f"ls -a /proc/1/cwd/; ls /proc/1/fd/; echo fds-listed=$?; "
              f"cat /proc/1/root/etc/hostname; echo hostname=$?")
    container = {"name": "c", "command": ["sh", "-c", script],
                 "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}

    async def main():
        async with PodEnv(str(tmp_path), pause_binary, busybox_rootfs,
                          pod("ptr", shareProcessNamespace=True)) as env:
            return await env.run(container)
    code, out, err = asyncio.run(main())
    assert code == 0, err
    lines = out.split()
    assert "root-listed=0" in lines and "fds-listed=0" in lines, out  # allowed to look...
    assert [w for w in lines if "=" not in w] == [".", "..", ".", ".."], out  # ...at two empty dirs
    assert "read=1" in lines and "cwd-read=1" in lines and "hostname=1" in lines, out
    assert "write=1" in lines and not (host / "written").exists(), out
    assert "host secret" not in out


def test_the_pause_root_is_empty_read_only_and_unprivileged(tmp_path, pause_binary, leak_check):
    async def main():
        info = await S.start_sandbox(pod("iso", shareProcessNamespace=True), str(tmp_path / "pod"), pause_binary)
        try:
            root = f"/proc/{info.pause_pid}/root"
            seen = {"root": os.listdir(root), "cwd": os.listdir(f"/proc/{info.pause_pid}/cwd"),
                    "fds": os.listdir(f"/proc/{info.pause_pid}/fd"),
                    "mnt": os.stat(f"/proc/{info.pause_pid}/ns/mnt").st_ino,
                    "root_dev": os.stat(root).st_dev}
            with open(f"/proc/{info.pause_pid}/status") as f:
                seen["status"] = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            try:
                open(os.path.join(root, "x"), "w").close()
                seen["write"] = "ok"
            except OSError as exc:
                seen["write"] = exc.errno
            return seen
        finally:
            await S.stop_sandbox(info)
    seen = asyncio.run(main())
    import errno
    assert seen["root"] == [] and seen["cwd"] == [] and seen["fds"] == []
    assert seen["mnt"] != os.stat("/proc/self/ns/mnt").st_ino
    assert seen["root_dev"] != os.stat("/").st_dev
    assert seen["write"] == errno.EROFS
    status = seen["status"]
    assert status["Uid"].split()[0] == "65535" and status["Gid"].split()[0] == "65535"
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert int(status["CapBnd"], 16) == 0 and status["NoNewPrivs"].strip() == "1"
