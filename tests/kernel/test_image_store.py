"""The busybox image built for real from Debian's busybox-static (podrun/images/build.py) into a
throw-away store: the rootfs runs under chroot, and a rebuild is a fast no-op.

The .deb comes from PODRUN_CACHE (default /var/cache/podrun/debs); when it is not there yet the
build downloads it with apt-get and leaves it cached for later runs."""
from __future__ import annotations

import os
import stat
import subprocess
import time

import pytest

from podrun.images.build import build_busybox, default_cache_dir
from podrun.images.store import ImageStore



@pytest.fixture(scope="module")
def built(tmp_path_factory):
    store = ImageStore(str(tmp_path_factory.mktemp("store") / "images"))
    return store, build_busybox(store, default_cache_dir())


def test_busybox_is_built_and_tagged(built):
    store, result = built
    assert result.built
    for ref in ("busybox", "busybox:latest", "busybox:1.35", "docker.io/library/busybox:1.35.0"):
        assert store.resolve(ref).id == result.image.id
    assert result.image.config["Cmd"] == ["sh"]
    assert result.image.config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    assert 1_000_000 < result.image.size < 10_000_000


def test_busybox_rootfs_runs_under_chroot(built):
    rootfs = built[1].image.rootfs
    out = subprocess.run(["chroot", rootfs, "/bin/busybox", "echo", "ok"], capture_output=True, text=True,
                         timeout=10)
    assert (out.returncode, out.stdout) == (0, "ok\n")
    # applets through their links, on busybox's own PATH
    out = subprocess.run(["chroot", rootfs, "/bin/sh", "-c", "id -u nobody; id -u www-data; which wget httpd"],
                         env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, capture_output=True, text=True, timeout=10)
    assert out.stdout.split() == ["65534", "33", "/usr/bin/wget", "/usr/sbin/httpd"], out.stderr


def test_busybox_rootfs_layout(built):
    rootfs = built[1].image.rootfs
    assert os.readlink(os.path.join(rootfs, "bin/sh")) == "busybox"
    assert os.readlink(os.path.join(rootfs, "usr/bin/wget")) == "../../bin/busybox"
    assert os.readlink(os.path.join(rootfs, "sbin/ifconfig")) == "../bin/busybox"
    modes = {d: stat.S_IMODE(os.lstat(os.path.join(rootfs, d)).st_mode)
             for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "var/www", "home")}
    assert modes == {"bin": 0o755, "etc": 0o755, "proc": 0o755, "sys": 0o755, "dev": 0o755,
                     "tmp": 0o1777, "root": 0o700, "var/www": 0o755, "home": 0o755}
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for n in [dirpath, *(os.path.join(dirpath, x) for x in dirnames + filenames)]:
            st = os.lstat(n)
            assert (st.st_uid, st.st_gid) == (0, 0), n
    assert os.path.isfile(os.path.join(rootfs, "etc/hosts"))


def test_rebuild_is_a_fast_no_op(built):
    store, first = built
    t0 = time.monotonic()
    again = build_busybox(store, default_cache_dir())
    assert not again.built and again.image.id == first.image.id
    assert time.monotonic() - t0 < 0.3
    assert len(store.list()) == 1


def test_rebuild_puts_back_a_removed_tag(built):
    store, first = built
    store.remove("busybox:1.35")
    again = build_busybox(store, default_cache_dir())
    assert not again.built
    assert store.resolve("busybox:1.35").id == first.image.id


def test_build_into_a_fresh_store_gives_the_same_id(built, tmp_path):
    other = build_busybox(ImageStore(str(tmp_path / "images")), default_cache_dir())
    assert other.built and other.image.id == built[1].image.id
