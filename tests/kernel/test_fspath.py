"""kernel/fspath.py: paths opened by fd one component at a time, never followed out."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from podrun.kernel import fspath


def _where(fd: int) -> str:
    try:
        return fspath.describe(fd)
    finally:
        os.close(fd)


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\n")
    fd = os.open(r, os.O_PATH | os.O_DIRECTORY)
    yield r, fd
    os.close(fd)


def test_in_root_symlinks_resolve_as_if_the_root_were_slash(root):
    r, fd = root
    os.symlink("/etc", r / "abs")              # absolute link: restarts at the root
    os.symlink("../../../..", r / "up")        # climbing link: stops at the root
    os.symlink("etc", r / "rel")
    os.symlink("/proc/self/root/etc", r / "magic")  # a magic link is only text here
    assert _where(fspath.open_in_root(fd, "/abs/passwd")) == str(r / "etc/passwd")
    assert _where(fspath.open_in_root(fd, "/up/etc")) == str(r / "etc")
    assert _where(fspath.open_in_root(fd, "../../etc/./passwd")) == str(r / "etc/passwd")
    assert _where(fspath.open_in_root(fd, "rel")) == str(r / "etc")
    with pytest.raises(FileNotFoundError):
        fspath.open_in_root(fd, "/magic/passwd")   # root/proc/self/... does not exist
    os.symlink("loop", r / "loop")
    with pytest.raises(OSError) as info:
        fspath.open_in_root(fd, "/loop/x")
    assert info.value.errno == errno.ELOOP


def test_make_in_root_creates_inside_the_root_through_escaping_links(root):
    r, fd = root
    os.symlink("/", r / "escape")
    os.symlink("../run/resolv.conf", r / "etc/resolv.conf")   # dangling, as on systemd images
    assert _where(fspath.make_in_root(fd, "/escape/podrun-should-not-exist/f", is_file=True)) == \
        str(r / "podrun-should-not-exist/f")
    assert (r / "podrun-should-not-exist/f").is_file() and not os.path.exists("/podrun-should-not-exist")
    (r / "run").mkdir()
    assert _where(fspath.make_in_root(fd, "/etc/resolv.conf", is_file=True)) == str(r / "run/resolv.conf")
    assert _where(fspath.make_in_root(fd, "/a/b/c", is_file=False)) == str(r / "a/b/c")
    assert (r / "a/b/c").is_dir()
    assert _where(fspath.make_in_root(fd, "/a/b/c", is_file=False)) == str(r / "a/b/c")  # again: as is


def test_beneath_refuses_every_way_out_instead_of_clamping(tmp_path):
    vol = tmp_path / "vol"
    (vol / "d/inner").mkdir(parents=True)
    os.symlink("/", vol / "abs")
    os.symlink("../..", vol / "d/up")
    os.symlink("/nonexistent/x", vol / "dangling")
    os.symlink("d/inner", vol / "rel")
    fd = os.open(vol, os.O_PATH | os.O_DIRECTORY)
    try:
        for path in ("abs", "abs/etc", "d/up", "d/up/vol", "dangling", "dangling/more"):
            with pytest.raises(OSError) as info:
                fspath.make_beneath(fd, path, 0o755)
            assert info.value.errno == errno.EXDEV, path
        assert not os.path.exists("/nonexistent")
        assert _where(fspath.open_beneath(fd, "rel")) == str(vol / "d/inner")
        os.symlink(str(vol / "d"), vol / "own")       # absolute, but to the volume's own path
        assert _where(fspath.open_beneath(fd, "own/inner")) == str(vol / "d/inner")
        os.symlink(str(vol) + "-sibling", vol / "sibling")   # a prefix of the path is not inside
        with pytest.raises(OSError) as info:
            fspath.open_beneath(fd, "sibling")
        assert info.value.errno == errno.EXDEV
        assert _where(fspath.open_beneath(fd, "d/inner/..")) == str(vol / "d")
    finally:
        os.close(fd)


def test_make_beneath_gives_made_directories_exactly_the_mode(tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    fd = os.open(vol, os.O_PATH | os.O_DIRECTORY)
    old = os.umask(0o022)
    try:
        assert _where(fspath.make_beneath(fd, "x/y", 0o2777)) == str(vol / "x/y")
    finally:
        os.umask(old)
        os.close(fd)
    for d in ("x", "x/y"):
        assert stat.S_IMODE(os.stat(vol / d).st_mode) == 0o2777


def test_a_link_to_a_host_file_is_followed_inside_the_root_only(tmp_path):
    r = tmp_path / "r"
    r.mkdir()
    fd = os.open(r, os.O_PATH | os.O_DIRECTORY)
    try:
        made = fspath.make_in_root(fd, "f", is_file=True)
        assert fspath.same_file(made, made) and not fspath.is_dir(made)
        os.close(made)
        os.mkdir(r / "sub")
        os.symlink("/etc/passwd", r / "sub/x")   # a link to a host file: followed inside the root
        with pytest.raises(FileNotFoundError):
            fspath.open_in_root(fd, "sub/x")
    finally:
        os.close(fd)
