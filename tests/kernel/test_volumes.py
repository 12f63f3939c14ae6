"""emptyDir and hostPath volumes on the host (runtime/volumes.py)."""
from __future__ import annotations

import os
import socket

import pytest

from podrun.kernel import mounts
from podrun.runtime import volumes as V

from podenv import pod


@pytest.mark.parametrize("q,want", [("64Mi", 64 << 20), ("1G", 10**9), ("500M", 500 * 10**6),
                                    ("1Gi", 1 << 30), ("100", 100), ("2k", 2000), (1024, 1024)])
def test_parse_quantity(q, want):
    assert V.parse_quantity(q) == want


def test_bad_quantity_is_refused():
    with pytest.raises(V.VolumeError):
        V.parse_quantity("lots")


def test_memory_empty_dir_is_a_sized_tmpfs_and_is_unmounted_on_teardown(tmp_path):
    p = pod(volumes=[{"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                     {"name": "disk", "emptyDir": {}}])
    dirs = V.prepare_volumes(p, lambda n: str(tmp_path / n))
    try:
        with open("/proc/self/mountinfo") as f:
            line = [l for l in f if l.split()[4] == dirs["mem"]][0]
        assert " - tmpfs " in line and "size=65536k" in line
        assert not mounts.is_mountpoint(dirs["disk"]) and os.path.isdir(dirs["disk"])
        V.prepare_volumes(p, lambda n: str(tmp_path / n))  # idempotent: no second tmpfs
        assert mounts.mountpoints_under(dirs["mem"]) == [dirs["mem"]]
    finally:
        V.teardown_volumes(p, dirs)
    assert mounts.mountpoints_under(str(tmp_path)) == []
    assert not os.path.exists(dirs["mem"]) and not os.path.exists(dirs["disk"])


def _host_path_pod(path, kind):
    return pod(volumes=[{"name": "h", "hostPath": {"path": str(path), "type": kind}}])


def test_host_path_types(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    ok = [("dir", "Directory"), ("dir", ""), ("file", "File"), ("file", ""), ("sock", "Socket"),
          ("new-dir/a", "DirectoryOrCreate"), ("new-file", "FileOrCreate")]
    try:
        for name, kind in ok:
            assert V.prepare_volumes(_host_path_pod(tmp_path / name, kind), str)["h"] == str(tmp_path / name)
        assert (tmp_path / "new-dir/a").is_dir()
        assert oct((tmp_path / "new-file").stat().st_mode & 0o777) == "0o644"
        assert os.path.exists("/dev/null")
        V.check_host_path("/dev/null", "CharDevice")
        bad = [("file", "Directory", "is not a directory"), ("dir", "File", "is not a file"),
               ("missing", "Directory", "is not a directory"), ("file", "Socket", "is not a socket"),
               ("dir", "BlockDevice", "is not a block device"), ("file", "DirectoryOrCreate", "is not a directory"),
               ("missing/x", "FileOrCreate", "does not exist")]
        for name, kind, why in bad:
            with pytest.raises(V.HostPathTypeError) as info:
                V.prepare_volumes(_host_path_pod(tmp_path / name, kind), str)
            assert str(info.value).startswith("hostPath type check failed: ") and why in str(info.value)
        assert str(V.HostPathTypeError) and "is not a directory" in str(
            pytest.raises(V.HostPathTypeError, V.check_host_path, str(tmp_path / "file"), "Directory").value)
    finally:
        sock.close()


def test_teardown_never_touches_host_path_contents(tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep/data").write_text("x")
    p = _host_path_pod(tmp_path / "keep", "Directory")
    dirs = V.prepare_volumes(p, str)
    V.teardown_volumes(p, dirs)
    assert (tmp_path / "keep/data").read_text() == "x"


def test_fs_group_owns_empty_dirs_setgid_and_their_contents_but_not_host_paths(tmp_path):
    (tmp_path / "host").mkdir()
    p = pod(securityContext={"fsGroup": 2000},
            volumes=[{"name": "mem", "emptyDir": {"medium": "Memory"}}, {"name": "disk", "emptyDir": {}},
                     {"name": "h", "hostPath": {"path": str(tmp_path / "host")}}])
    dirs = V.prepare_volumes(p, lambda n: str(tmp_path / n))
    try:
        os.makedirs(os.path.join(dirs["disk"], "sub"))
        with open(os.path.join(dirs["disk"], "sub/f"), "w") as f:
            f.write("x")
        os.chmod(os.path.join(dirs["disk"], "sub/f"), 0o600)
        V.prepare_volumes(p, lambda n: str(tmp_path / n))   # again (a daemon restart): contents too
        for name in ("mem", "disk"):
            st = os.stat(dirs[name])
            assert (st.st_gid, oct(st.st_mode & 0o7777)) == (2000, "0o2777")
        sub, f = os.stat(os.path.join(dirs["disk"], "sub")), os.stat(os.path.join(dirs["disk"], "sub/f"))
        assert (sub.st_gid, oct(sub.st_mode & 0o7777)) == (2000, "0o2775")
        assert (f.st_gid, oct(f.st_mode & 0o7777)) == (2000, "0o660")
        assert os.stat(tmp_path / "host").st_gid == 0
    finally:
        V.teardown_volumes(p, dirs)


# ---- subPath: made and checked in the daemon before the container (kubelet makeMounts) --------

def _subpath_plan(source: str, *subs: str):
    from podrun.runtime.plan import Bind, LaunchPlan
    return LaunchPlan(argv=["true"], env=[], ops=[Bind(source, f"/m{i}", subpath=s, volume_mount=f"v{i}")
                                                  for i, s in enumerate(subs)])


def test_subpaths_are_made_inside_the_volume_with_its_mode(tmp_path):
    p = pod(securityContext={"fsGroup": 2000}, volumes=[{"name": "scratch", "emptyDir": {}}])
    dirs = V.prepare_volumes(p, lambda n: str(tmp_path / n))
    try:
        os.makedirs(os.path.join(dirs["scratch"], "real/inner"))
        os.symlink("real", os.path.join(dirs["scratch"], "rel"))      # a link that stays inside
        V.prepare_subpaths(_subpath_plan(dirs["scratch"], "logs/web-1", "rel/inner/new", "real"), "c")
        for made in ("logs", "logs/web-1", "real/inner/new"):
            st = os.stat(os.path.join(dirs["scratch"], made))
            assert (oct(st.st_mode & 0o7777), st.st_gid) == ("0o2777", 2000), made
    finally:
        V.teardown_volumes(p, dirs)


def test_a_subpath_leading_out_of_its_volume_is_the_kubelets_config_error(tmp_path):
    from podrun.runtime.plan import CreateContainerConfigError
    vol = tmp_path / "vol"
    vol.mkdir()
    os.symlink("/", vol / "l")                                   # exists on the host: "prepare"
    os.symlink(str(tmp_path / "outside/new"), vol / "m")         # missing: "create"
    os.symlink("../..", vol / "up")
    cases = [("l", 'failed to prepare subPath for volumeMount "v0" of container "app"'),
             ("l/etc", 'failed to prepare subPath for volumeMount "v0" of container "app"'),
             ("up", 'failed to prepare subPath for volumeMount "v0" of container "app"'),
             ("m", 'failed to create subPath directory for volumeMount "v0" of container "app"'),
             ("m/x/y", 'failed to create subPath directory for volumeMount "v0" of container "app"')]
    for sub, message in cases:
        with pytest.raises(CreateContainerConfigError) as info:
            V.prepare_subpaths(_subpath_plan(str(vol), sub), "app")
        assert str(info.value) == message, sub
    assert not (tmp_path / "outside").exists()
    assert sorted(os.listdir(vol)) == ["l", "m", "up"]
