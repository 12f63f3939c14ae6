"""`podrun image load`: docker save and OCI layout archives built here from the busybox rootfs
(tarfile + hashlib), two layers with a whiteout and an opaque directory; corrupt archives are
refused with a clear error and leave the store as it was."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile

import pytest

from archives import CONFIG, TOP, base_layer as _base_layer, docker_archive, image_config as _image_config
from archives import oci_archive, tar_layer as _tar
from podrun.errors import ImageError
from podrun.images.load import load_archive
from podrun.images.store import ImageStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def store(tmp_path) -> ImageStore:
    return ImageStore(str(tmp_path / "images"))


@pytest.fixture(scope="module")
def base_layer(busybox_rootfs) -> bytes:
    return _base_layer(busybox_rootfs)


def _snapshot(store: ImageStore):
    tmp = os.listdir(store.tmp_dir) if os.path.isdir(store.tmp_dir) else []
    return store.tags(), store.ids(), tmp


def _check_rootfs(img) -> None:
    r = img.rootfs
    assert os.path.islink(os.path.join(r, "bin/sh"))
    assert open(os.path.join(r, "etc/motd")).read() == "hello from layer 2\n"
    assert not os.path.lexists(os.path.join(r, "srv/gone"))                 # whiteout
    assert sorted(os.listdir(os.path.join(r, "srv/old"))) == ["c"]           # opaque dir
    assert os.stat(os.path.join(r, "srv/hard")).st_ino == os.stat(os.path.join(r, "etc/motd")).st_ino
    assert not any(n.startswith(".wh.") for _, ds, fs in os.walk(r) for n in ds + fs)
    assert {k: img.config[k] for k in CONFIG} == CONFIG
    out = subprocess.run(["chroot", r, "/bin/sh", "-c", "cat /etc/motd"], capture_output=True, text=True)
    assert out.stdout == "hello from layer 2\n"


def test_docker_save_archive(tmp_path, store, base_layer):
    path = str(tmp_path / "img.tar")
    docker_archive(path, [base_layer, _tar(TOP)])
    (res,) = load_archive(store, path)
    assert res.lines() == ["Loaded image: busybox:custom"]
    img = store.resolve("busybox:custom")
    _check_rootfs(img)
    # loading again is a no-op with the same ID
    (again,) = load_archive(store, path)
    assert again.image.id == img.id and store.ids() == [img.id]


def test_oci_layout_archive(tmp_path, store, base_layer):
    path = str(tmp_path / "oci.tar")
    oci_archive(path, [base_layer, _tar(TOP)])
    (res,) = load_archive(store, path)
    assert res.lines() == ["Loaded image: busybox:oci"]
    _check_rootfs(store.resolve("docker.io/library/busybox:oci"))


def test_cli_image_load(tmp_path, base_layer):
    path = str(tmp_path / "img.tar")
    docker_archive(path, [base_layer, _tar(TOP)], tags=("example.com/team/tool:v1",))
    env = dict(os.environ, PODRUN_ROOT=str(tmp_path / "root"), PYTHONPATH=REPO, PODRUN_NO_AUTOSTART="1")
    p = subprocess.run([sys.executable, "-m", "podrun", "image", "load", "-i", path], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Loaded image: example.com/team/tool:v1\n"
    p = subprocess.run([sys.executable, "-m", "podrun", "image", "load", "-i", str(tmp_path / "nope.tar")],
                       env=env, capture_output=True, text=True)
    assert p.returncode == 1 and "nope.tar" in p.stderr and "Traceback" not in p.stderr


def _corrupt_cases(tmp_path, base_layer):
    good_top = _tar(TOP)
    # bad digest: the layer changed after the config was written
    bad = str(tmp_path / "bad-digest.tar")
    docker_archive(bad, [base_layer, good_top], config=_image_config([base_layer, _tar(TOP[:1])]))
    yield "bad-digest", bad, "digest mismatch"
    # bad blob digest in an OCI layout: flip a byte in the middle of the archive's last blob
    oci = str(tmp_path / "oci-bad.tar")
    oci_archive(oci, [base_layer, good_top])
    data = bytearray(open(oci, "rb").read())
    with tarfile.open(oci) as t:
        m = max(t.getmembers(), key=lambda m: m.size)
    data[m.offset_data + m.size // 2] ^= 0xFF
    open(oci, "wb").write(bytes(data))
    yield "oci-bad-blob", oci, "digest mismatch"
    # truncated
    trunc = str(tmp_path / "truncated.tar")
    docker_archive(trunc, [base_layer, good_top])
    size = os.path.getsize(trunc)
    with open(trunc, "r+b") as f:
        f.truncate(size // 2)
    yield "truncated", trunc, "truncated.tar: truncated or corrupt archive"
    # path traversal
    trav = str(tmp_path / "traversal.tar")
    docker_archive(trav, [base_layer, _tar([("../../etc/passwd", "file", b"x\n")])])
    yield "traversal", trav, "escapes the image root"
    absolute = str(tmp_path / "absolute.tar")
    docker_archive(absolute, [base_layer, _tar([("/etc/evil", "file", b"x\n")])])
    yield "absolute", absolute, "escapes the image root"
    # an absolute symlink, then a file written through it
    target = tmp_path / "outside"
    target.mkdir()
    esc = str(tmp_path / "symlink-escape.tar")
    docker_archive(esc, [base_layer, _tar([("escape", "sym", str(target)), ("escape/pwned", "file", b"x\n")])])
    yield "symlink-escape", esc, "outside the image root"
    rel = str(tmp_path / "symlink-relative.tar")
    docker_archive(rel, [base_layer, _tar([("up", "sym", "../../../../etc/shadow")])])
    yield "symlink-relative", rel, "points outside the image root"
    # whiteouts that name no file: the directory itself, its parent, or nothing
    for i, name in enumerate((".wh.", ".wh..", ".wh...", "srv/.wh..", "srv/.wh...", "srv/old/.wh.")):
        wh = str(tmp_path / f"whiteout-{i}.tar")
        docker_archive(wh, [base_layer, _tar([(name, "file", b"")])])
        yield f"whiteout {name}", wh, f"refusing whiteout {name!r}: it names no file"
    hard = str(tmp_path / "hardlink.tar")
    docker_archive(hard, [base_layer, _tar([("h", "link", "../../etc/passwd")])])
    yield "hardlink", hard, "escapes the image root"


def test_corrupt_archives_refused(tmp_path, store, base_layer, busybox_rootfs):
    # the store already holds an image: it must come out of each failure untouched
    good = str(tmp_path / "good.tar")
    docker_archive(good, [base_layer, _tar(TOP)])
    load_archive(store, good)
    before = _snapshot(store)
    for name, path, message in _corrupt_cases(tmp_path, base_layer):
        with pytest.raises(ImageError) as exc:
            load_archive(store, path)
        assert message in str(exc.value) and path in str(exc.value), (name, str(exc.value))
        assert _snapshot(store) == before, name
    assert os.listdir(tmp_path / "outside") == []


def test_aufs_metadata_whiteouts_are_skipped_and_opaque_dirs_emptied(tmp_path, store, base_layer):
    top = _tar([("srv/.wh..wh.plnk", "dir", None), ("srv/.wh..wh.aufs", "file", b""),
                ("srv/old/.wh..wh..opq", "file", b""), ("srv/.wh.gone", "file", b"")])
    path = str(tmp_path / "aufs.tar")
    docker_archive(path, [base_layer, top])
    img = load_archive(store, path)[0].image
    srv = os.path.join(img.rootfs, "srv")
    assert sorted(os.listdir(srv)) == ["old"] and os.listdir(os.path.join(srv, "old")) == []
    assert os.path.isdir(os.path.join(img.rootfs, "bin"))
