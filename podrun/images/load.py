"""`podrun image load -i FILE`: import a `docker save` archive or an OCI image layout tar.

  docker save   manifest.json [{Config, RepoTags, Layers}], the config JSON, layer tars; every
                layer's sha256 must equal the config's rootfs.diff_ids (and a config named
                <hex>.json must hash to <hex>).
  OCI layout    oci-layout, index.json, blobs/sha256/<hex>; every blob read (index, manifest,
                config, layer) must hash to its name; tags from the `io.containerd.image.name`
                or `org.opencontainers.image.ref.name` annotation.

Layers (tar, or gzip-compressed tar) are applied in order into a staging directory inside the
store: `.wh.NAME` removes NAME, `.wh..wh..opq` empties its directory, other `.wh..wh.*` (aufs
metadata) are skipped; `.wh.`, `.wh..`, `.wh...` name no file and are refused. Refused, with the entry
named: absolute paths or `..` (path traversal), writing through a symlink that would leave the
root on the host, symlinks whose relative target climbs out of the root, hardlinks to outside
the root. Nothing reaches the store unless the whole archive is good (ImageStore.add_rootfs
renames the finished tree in); the staging directory is always removed.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import posixpath
import re
import shutil
import stat
import tarfile
import zlib
from typing import IO, Any

from podrun.errors import ImageError
from podrun.images.reference import familiar, normalize
from podrun.images.store import CONFIG_KEYS, Image, ImageStore, remove_tree, stream_sha256

__all__ = ["load_archive", "LoadResult"]

_HEX = re.compile(r"[0-9a-f]{64}")
WHITEOUT = ".wh."
WHITEOUT_META = ".wh..wh."   # aufs' own files (.wh..wh.plnk, .wh..wh.aufs): no file is removed
OPAQUE = ".wh..wh..opq"


class LoadResult:
    def __init__(self, image: Image, tags: list[str]):
        self.image, self.tags = image, tags

    def lines(self) -> list[str]:
        if not self.tags:
            return [f"Loaded image ID: {self.image.id}"]
        return [f"Loaded image: {familiar(t)}" for t in self.tags]


def load_archive(store: ImageStore, path: str) -> list[LoadResult]:
    """Every image of the archive at `path`, verified, into `store`."""
    try:
        outer = tarfile.open(path, "r:*")
    except FileNotFoundError:
        raise ImageError(f"open {path}: no such file") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ImageError(f"{path}: not a readable tar archive: {exc}") from None
    try:
        with outer:
            archive = _Archive(path, outer)
            if archive.has("manifest.json"):
                images = archive.docker_images()
            elif archive.has("index.json"):
                images = archive.oci_images()
            else:
                raise ImageError(f"{path}: neither a docker save archive (manifest.json) "
                                 "nor an OCI image layout (index.json)")
            if not images:
                raise ImageError(f"{path}: the archive holds no image")
            out = []
            for config, layers, tags in images:
                out.append(_install(store, archive, config, layers, tags))
            return out
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImageError(f"{path}: truncated or corrupt archive: {exc}") from None


class _Archive:
    def __init__(self, path: str, tar: tarfile.TarFile):
        self.path, self.tar = path, tar
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in tar.getmembers():          # reads the whole index: a truncated tar fails here
            self.members[posixpath.normpath(m.name.lstrip("/")).removeprefix("./")] = m

    def has(self, name: str) -> bool:
        return name in self.members

    def open(self, name: str) -> IO[bytes]:
        m = self.members.get(posixpath.normpath(name).removeprefix("./"))
        if m is None or not m.isfile():
            raise ImageError(f"{self.path}: {name} is missing from the archive")
        f = self.tar.extractfile(m)
        assert f is not None
        return f

    def read(self, name: str, digest: str | None = None) -> bytes:
        data = self.open(name).read()
        if digest is not None and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ImageError(f"{self.path}: {name}: sha256 digest mismatch (expected {digest})")
        return data

    def json(self, name: str, digest: str | None = None) -> Any:
        try:
            return json.loads(self.read(name, digest))
        except ValueError as exc:
            raise ImageError(f"{self.path}: {name}: not JSON: {exc}") from None

    # docker save
    def docker_images(self) -> list[tuple[dict, list[tuple[str, str | None, str]], list[str]]]:
        manifest = self.json("manifest.json")
        if not isinstance(manifest, list):
            raise ImageError(f"{self.path}: manifest.json is not a list")
        out = []
        for entry in manifest:
            cfg_name = entry.get("Config") or ""
            m = _HEX.search(os.path.basename(cfg_name))
            config = self.json(cfg_name, "sha256:" + m.group(0) if m else None)
            diff_ids = ((config.get("rootfs") or {}).get("diff_ids")) or []
            layers = entry.get("Layers") or []
            if len(diff_ids) != len(layers):
                raise ImageError(f"{self.path}: {len(layers)} layers but {len(diff_ids)} diff_ids in {cfg_name}")
            # (layer file, digest of the file as stored or None, diff_id)
            lay = []
            for name, diff_id in zip(layers, diff_ids):
                m = re.search(r"blobs/sha256/([0-9a-f]{64})$", name)
                lay.append((name, "sha256:" + m.group(1) if m else None, diff_id))
            out.append((config, lay, list(entry.get("RepoTags") or [])))
        return out

    # OCI image layout
    def oci_images(self):
        index = self.json("index.json")
        out = []
        for desc in index.get("manifests") or []:
            out.extend(self._oci_descriptor(desc, desc.get("annotations") or {}))
        return out

    def _blob(self, digest: str) -> str:
        algo, _, hexd = str(digest).partition(":")
        if algo != "sha256" or not _HEX.fullmatch(hexd):
            raise ImageError(f"{self.path}: unsupported or malformed digest {digest!r}")
        return f"blobs/sha256/{hexd}"

    def _oci_descriptor(self, desc: dict, annotations: dict):
        media = desc.get("mediaType") or ""
        doc = self.json(self._blob(desc.get("digest")), desc.get("digest"))
        if "index" in media or "manifest.list" in media or "manifests" in doc:
            out = []
            for sub in doc.get("manifests") or []:
                plat = sub.get("platform") or {}
                if plat.get("os", "linux") == "linux":
                    out.extend(self._oci_descriptor(sub, {**(sub.get("annotations") or {}), **annotations}))
                    break
            return out
        cdesc = doc.get("config") or {}
        config = self.json(self._blob(cdesc.get("digest")), cdesc.get("digest"))
        diff_ids = ((config.get("rootfs") or {}).get("diff_ids")) or []
        layers = doc.get("layers") or []
        if len(diff_ids) != len(layers):
            raise ImageError(f"{self.path}: {len(layers)} layers but {len(diff_ids)} diff_ids")
        lay = [(self._blob(l.get("digest")), l.get("digest"), d) for l, d in zip(layers, diff_ids)]
        name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
        return [(config, lay, [name] if name else [])]

    def layer_stream(self, name: str) -> IO[bytes]:
        f = self.open(name)
        head = f.read(2)
        f.seek(0)
        return gzip.GzipFile(fileobj=f) if head == b"\x1f\x8b" else f  # type: ignore[return-value]

    def verify_layer(self, name: str, digest: str | None, diff_id: str) -> None:
        if digest is not None and "sha256:" + stream_sha256(self.open(name)) != digest:
            raise ImageError(f"{self.path}: layer {name}: sha256 digest mismatch (expected {digest})")
        if "sha256:" + stream_sha256(self.layer_stream(name)) != diff_id:
            raise ImageError(f"{self.path}: layer {name}: sha256 digest mismatch with diff_id {diff_id}")


def _install(store: ImageStore, archive: _Archive, config: dict, layers, tags: list[str]) -> LoadResult:
    refs = []
    for t in tags:
        try:
            refs.append(normalize(t))
        except ImageError as exc:
            raise ImageError(f"{archive.path}: bad image name {t!r}: {exc}") from None
    for name, digest, diff_id in layers:          # every digest first: nothing applied if one is bad
        archive.verify_layer(name, digest, diff_id)
    cfg_src = config.get("config") or {}
    cfg = {k: cfg_src[k] for k in CONFIG_KEYS if k in cfg_src}
    stage = store.staging_dir()
    try:
        root = os.path.join(stage, "rootfs")
        os.mkdir(root, 0o755)
        for name, _, _ in layers:
            try:
                with tarfile.open(fileobj=archive.layer_stream(name), mode="r|") as layer:
                    _apply_layer(root, layer, name)
            except ImageError as exc:
                raise ImageError(f"{archive.path}: {exc}") from None
        image = store.add_rootfs(root, cfg, refs, move=True)
    finally:
        remove_tree(stage)
    return LoadResult(image, refs)


# applying a layer
def _clean(name: str, layer: str, what: str = "entry") -> str:
    if name.startswith("/") or ".." in name.split("/"):
        raise ImageError(f"layer {layer}: refusing {what} {name!r}: path escapes the image root")
    rel = posixpath.normpath(name)
    return "" if rel == "." else rel


def _inside(root: str, rel: str, layer: str, entry: str) -> str:
    """root/rel with every parent component checked: a symlink on the way is followed only when
    it stays inside the root the way the host would read it (relative, not climbing out)."""
    parts = [p for p in rel.split("/") if p]
    cur: list[str] = []
    for i, part in enumerate(parts[:-1]):
        cur.append(part)
        p = os.path.join(root, *cur)
        hops = 0
        while os.path.islink(p):
            target = os.readlink(p)
            new = posixpath.normpath(posixpath.join(posixpath.dirname("/".join(cur)), target))
            if target.startswith("/") or new.startswith("..") or hops > 40:
                raise ImageError(f"layer {layer}: refusing entry {entry!r}: its parent {'/'.join(cur)!r} "
                                 f"is a symlink to {target!r}, outside the image root")
            cur = [x for x in new.split("/") if x and x != "."]
            p = os.path.join(root, *cur)
            hops += 1
    return os.path.join(root, *cur, parts[-1]) if parts else root


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _apply_layer(root: str, layer: tarfile.TarFile, lname: str) -> None:
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    for m in layer:
        rel = _clean(m.name, lname)
        if not rel:
            continue
        base = posixpath.basename(rel)
        if base.startswith(WHITEOUT):
            parent = posixpath.dirname(rel)
            if base == OPAQUE:
                d = _inside(root, parent + "/x", lname, m.name)[:-2] if parent else root
                if os.path.isdir(d) and not os.path.islink(d):
                    for n in os.listdir(d):
                        _remove(os.path.join(d, n))
            elif not base.startswith(WHITEOUT_META):
                target = base[len(WHITEOUT):]
                if target in ("", ".", ".."):   # `.wh.`, `.wh..`, `.wh...` would remove the directory or its parent
                    raise ImageError(f"layer {lname}: refusing whiteout {m.name!r}: it names no file")
                _remove(_inside(root, posixpath.join(parent, target), lname, m.name))
            continue
        dst = _inside(root, rel, lname, m.name)
        if m.isdir():
            if not (os.path.isdir(dst) and not os.path.islink(dst)):
                _remove(dst)
                os.mkdir(dst, 0o700)
            dirs.append((dst, m))
            continue
        _remove(dst)
        if m.issym():
            t = m.linkname
            if not t.startswith("/") and posixpath.normpath(posixpath.join(posixpath.dirname(rel), t)).startswith(".."):
                raise ImageError(f"layer {lname}: refusing symlink {m.name!r} -> {t!r}: it points outside the image root")
            os.symlink(t, dst)
        elif m.islnk():
            src = _inside(root, _clean(m.linkname, lname, "hardlink target"), lname, m.name)
            if not os.path.lexists(src):
                raise ImageError(f"layer {lname}: hardlink {m.name!r} -> {m.linkname!r}: no such file in the image")
            os.link(src, dst, follow_symlinks=False)
            continue
        elif m.isfile():
            f = layer.extractfile(m)
            with open(dst, "wb") as out:
                shutil.copyfileobj(f, out)
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(dst, kind | 0o600, os.makedev(m.devmajor, m.devminor))
        elif m.isfifo():
            os.mkfifo(dst, 0o600)
        else:
            continue
        os.lchown(dst, m.uid, m.gid)
        if not m.issym():
            os.chmod(dst, stat.S_IMODE(m.mode))
            os.utime(dst, (m.mtime, m.mtime))
    for d, m in reversed(dirs):            # after their contents, so a read-only dir still fills
        os.lchown(d, m.uid, m.gid)
        os.chmod(d, stat.S_IMODE(m.mode))
        os.utime(d, (m.mtime, m.mtime))
