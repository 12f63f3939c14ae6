"""kernel/: syscalls seam, process identity, pause binary size (safe paths: test_fspath.py)."""
from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess

import pytest

from podrun.errors import MountError, NamespaceError
from podrun.kernel import mounts, namespaces, procs
from podrun.kernel import syscalls as sc
from podrun.runtime import plan as P
from podrun.runtime.child import apply_op, find_executable


def test_setup_ops_become_these_mounts_in_this_order(tmp_path):
    """No root needed: RecordingSyscalls records instead of mounting (youki TestHelperSyscall)."""
    fake = sc.RecordingSyscalls()
    root = str(tmp_path)
    ops = [P.Overlay("/lower", "/up", "/work", root), P.Proc("/proc"),
           P.Tmpfs("/dev", size="65536k", mode=0o755, flags=sc.MS_NOSUID), P.Devpts("/dev/pts"),
           P.Symlink("pts/ptmx", "/dev/ptmx"), P.Bind("/etc", "/host-etc", readonly=True),
           P.RemountRO("/host-etc")]
    for op in ops:
        apply_op(op, root, fake)
    got = [(c[1], c[2][len(root):] if c[2].startswith(root) else c[2], c[3]) for c in fake.mounts()]
    assert got == [("overlay", "", "overlay"), ("proc", "/proc", "proc"), ("tmpfs", "/dev", "tmpfs"),
                   ("devpts", "/dev/pts", "devpts"), ("/etc", "/host-etc", None),
                   (None, "/host-etc", None), (None, "/host-etc", None)]
    assert fake.mounts()[0][5] == "lowerdir=/lower,upperdir=/up,workdir=/work"
    assert fake.mounts()[2][5] == "mode=755,size=65536k"
    assert fake.mounts()[5][4] & (sc.MS_REMOUNT | sc.MS_RDONLY) == sc.MS_REMOUNT | sc.MS_RDONLY
    assert os.readlink(tmp_path / "dev/ptmx") == "pts/ptmx"


def test_missing_bind_source_is_skipped_only_when_allowed(tmp_path):
    fake = sc.RecordingSyscalls()
    apply_op(P.Bind("/no/such", "/x", allow_missing=True), str(tmp_path), fake)
    assert fake.calls == []
    with pytest.raises(MountError, match=r"^bind /no/such: ENOENT"):
        apply_op(P.Bind("/no/such", "/x"), str(tmp_path), fake)


def test_find_executable_uses_path_unless_argv0_has_a_slash(tmp_path):
    exe = tmp_path / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (tmp_path / "plain").write_text("")
    assert find_executable("tool", f"/nonexistent:{tmp_path}") == str(exe)
    assert find_executable("./x/y", "") == "./x/y"
    with pytest.raises(OSError) as info:
        find_executable("plain", str(tmp_path))
    assert info.value.errno == errno.ENOENT


def test_kernel_errors_name_op_target_and_errno(tmp_path):
    with pytest.raises(MountError) as info:
        sc.mount("none", str(tmp_path / "missing"), "tmpfs", 0)
    assert str(info.value) == f"mount tmpfs on {tmp_path}/missing: ENOENT"
    with pytest.raises(NamespaceError, match=r"^open namespace /proc/999999999/ns/net: ENOENT"):
        namespaces.open_namespaces({"net": "/proc/999999999/ns/net"})


def test_process_identity_survives_odd_names_and_detects_reuse():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        ref = procs.ref_of(proc.pid)
        assert ref.start_time == procs.read_start_time(proc.pid) and procs.alive(ref)
        other = procs.ProcessRef(proc.pid, ref.start_time + 1)  # same pid, another process
        assert not procs.alive(other)
        assert procs.send_signal(other, signal.SIGKILL) is False
        assert procs.send_signal(ref, signal.SIGTERM) is True
        status = asyncio.run(procs.wait_exit(proc.pid))
        assert status == procs.ExitStatus(128 + signal.SIGTERM, signal.SIGTERM)
    finally:
        proc.kill()
        proc.returncode = 0  # reaped by wait_exit; stop Popen from reaping again


def test_wait_exit_of_a_stranger_returns_minus_one():
    assert asyncio.run(procs.wait_exit(1 << 22)) == procs.ExitStatus(-1, None)


def test_pause_is_tiny(pause_binary, tmp_path):
    """ARCHITECTURE.md: the pause process must cost under 1 MiB."""
    async def main():
        from podrun.runtime.sandbox import start_sandbox, stop_sandbox
        from podenv import pod
        info = await start_sandbox(pod(), str(tmp_path), pause_binary)
        with open(f"/proc/{info.pause_pid}/smaps_rollup") as f:
            fields = {l.split(":")[0]: int(l.split()[1]) for l in f if l.split()[0] in ("Rss:", "Pss:")}
        await stop_sandbox(info)
        return fields
    fields = asyncio.run(main())
    assert fields["Rss"] < 1024 and fields["Pss"] < 1024, fields


def test_a_target_that_cannot_be_made_names_the_ops_path(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(MountError) as info:
        apply_op(P.Tmpfs("/file/below"), str(tmp_path), sc.RecordingSyscalls())
    assert (info.value.op, info.value.target, info.value.errno) == (
        "open in root", f"{tmp_path}/file/below", errno.ENOTDIR)
