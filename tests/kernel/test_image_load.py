"""`podrun image load`: docker save and OCI layout archives built here from the busybox rootfs
(tarfile + hashlib), two layers with a whiteout and an opaque directory; corrupt archives are
refused with a clear error and leave the store as it was."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from podrun.errors import ImageError
from podrun.image_load import load_archive
from podrun.runtime.images import ImageStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["cat /etc/motd"], "Env": ["PATH=/bin:/usr/bin", "X=1"],
          "WorkingDir": "/srv", "User": "33:33", "ExposedPorts": {"8080/tcp": {}}}


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(entries) -> bytes:
    """entries: (name, kind, payload) with kind file|dir|sym|link; payload bytes or a target."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, payload in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "dir" else 0o644
            if kind == "file":
                ti.size = len(payload)
                t.addfile(ti, io.BytesIO(payload))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "link": tarfile.LNKTYPE}[kind]
            if kind in ("sym", "link"):
                ti.linkname = payload
            t.addfile(ti)
    return buf.getvalue()


def _base_layer(rootfs: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, name), arcname=name)
        for name, kind, payload in [("srv", "dir", None), ("srv/old", "dir", None),
                                    ("srv/old/a", "file", b"a\n"), ("srv/old/b", "file", b"b\n"),
                                    ("srv/gone", "file", b"gone\n")]:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "dir" else 0o644
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(payload)
                t.addfile(ti, io.BytesIO(payload))
    return buf.getvalue()


TOP = [("etc/motd", "file", b"hello from layer 2\n"), ("srv/.wh.gone", "file", b""),
       ("srv/old", "dir", None), ("srv/old/.wh..wh..opq", "file", b""), ("srv/old/c", "file", b"c\n"),
       ("srv/hard", "link", "etc/motd")]


def _image_config(layers: list[bytes]) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": CONFIG,
                       "rootfs": {"type": "layers", "diff_ids": [_sha(l) for l in layers]}}).encode()


def docker_archive(path: str, layers: list[bytes], tags=("busybox:custom",), config: bytes | None = None) -> None:
    config = config or _image_config(layers)
    files = {f"{_sha(config)[7:]}.json": config}
    names = []
    for i, layer in enumerate(layers):
        names.append(f"{i:02d}{_sha(layer)[7:20]}/layer.tar")
        files[names[-1]] = layer
    files["manifest.json"] = json.dumps([{"Config": f"{_sha(config)[7:]}.json", "RepoTags": list(tags),
                                          "Layers": names}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def oci_archive(path: str, layers: list[bytes], ref: str = "busybox:oci") -> None:
    blobs = {}
    config = _image_config(layers)
    blobs[_sha(config)] = config
    descs = []
    for layer in layers:
        z = gzip.compress(layer, mtime=0)
        blobs[_sha(z)] = z
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _sha(z), "size": len(z)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": _sha(config), "size": len(config)},
                           "layers": descs}).encode()
    blobs[_sha(manifest)] = manifest
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _sha(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": ref}}]}).encode()
    with tarfile.open(path, "w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index),
                           *[(f"blobs/sha256/{d[7:]}", b) for d, b in blobs.items()]]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


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
