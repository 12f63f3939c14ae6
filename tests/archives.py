"""Image archives built in the tests from a root filesystem (tarfile + hashlib): `docker save`
and OCI layout tars, layers with whiteouts and opaque directories. Used by the image-load
kernel tests and the end-to-end test that runs pods from loaded images."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["cat /etc/motd"], "Env": ["PATH=/bin:/usr/bin", "X=1"],
          "WorkingDir": "/srv", "User": "33:33", "ExposedPorts": {"8080/tcp": {}}}


def _add(t: tarfile.TarFile, name: str, kind: str, payload) -> None:
    ti = tarfile.TarInfo(name)
    ti.mode = 0o755 if kind == "dir" else 0o644
    if kind == "file":
        ti.size = len(payload)
        t.addfile(ti, io.BytesIO(payload))
        return
    ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "link": tarfile.LNKTYPE}[kind]
    if kind in ("sym", "link"):
        ti.linkname = payload
    t.addfile(ti)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_layer(entries, rootfs: str | None = None) -> bytes:
    """A layer: the whole of `rootfs` (if given), then entries (name, kind, payload) with kind
    file|dir|sym|link and payload bytes (file) or a link target."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)) if rootfs else []:
            t.add(os.path.join(rootfs, name), arcname=name)
        for name, kind, payload in entries:
            _add(t, name, kind, payload)
    return buf.getvalue()


def base_layer(rootfs: str) -> bytes:
    """The busybox tree plus a /srv that the top layer whiteouts and makes opaque."""
    return tar_layer([("srv", "dir", None), ("srv/old", "dir", None), ("srv/old/a", "file", b"a\n"),
                      ("srv/old/b", "file", b"b\n"), ("srv/gone", "file", b"gone\n")], rootfs)


TOP = [("etc/motd", "file", b"hello from layer 2\n"), ("srv/.wh.gone", "file", b""),
       ("srv/old", "dir", None), ("srv/old/.wh..wh..opq", "file", b""), ("srv/old/c", "file", b"c\n"),
       ("srv/hard", "link", "etc/motd")]


def image_config(layers: list[bytes], config: dict | None = None) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": config or CONFIG,
                       "rootfs": {"type": "layers", "diff_ids": [sha(l) for l in layers]}}).encode()


def _write_tar(path: str, files) -> None:
    with tarfile.open(path, "w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def docker_archive(path: str, layers: list[bytes], tags=("busybox:custom",), config: bytes | None = None) -> None:
    config = config or image_config(layers)
    files = {f"{sha(config)[7:]}.json": config}
    names = []
    for i, layer in enumerate(layers):
        names.append(f"{i:02d}{sha(layer)[7:20]}/layer.tar")
        files[names[-1]] = layer
    files["manifest.json"] = json.dumps([{"Config": f"{sha(config)[7:]}.json", "RepoTags": list(tags),
                                          "Layers": names}]).encode()
    _write_tar(path, files.items())


def oci_archive(path: str, layers: list[bytes], ref: str = "busybox:oci", config: bytes | None = None) -> None:
    blobs = {}
    config = config or image_config(layers)
    blobs[sha(config)] = config
    descs = []
    for layer in layers:
        z = gzip.compress(layer, mtime=0)
        blobs[sha(z)] = z
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(z), "size": len(z)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": descs}).encode()
    blobs[sha(manifest)] = manifest
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": ref}}]}).encode()
    _write_tar(path, [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index),
                      *[(f"blobs/sha256/{d[7:]}", b) for d, b in blobs.items()]])
