"""The local image store: image references -> read-only root filesystems with an ID.

Layout under `roots.images_dir`:

    .lock                      flock(2) held by every writer (readers never lock: files are
                               replaced atomically, blobs appear by rename)
    tags.json                  {"docker.io/library/busybox:latest": "sha256:<hex>", ...}
    blobs/<hex>/image.json     {id, created, size, config: {Entrypoint, Cmd, Env, WorkingDir,
                                User, ExposedPorts}}
    blobs/<hex>/rootfs/        the overlay lower layer of every container of this image
    tmp/                       staging for blobs being added or removed (same filesystem, so a
                               blob appears or disappears with one rename)

The image ID is the sha256 of a listing of the rootfs tree (path, type, mode, owner, size,
file hash or link target; never times), so the same content always gets the same ID and a
rebuild of unchanged inputs is recognised. The blob directory is named by the bare hex: a
colon would split an overlayfs lowerdir option.

References are parsed by images/reference.py; a tag, `name@sha256:<hex>` or an unambiguous ID
prefix resolves to an image.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from podrun.errors import Conflict, ImageError, NotFound
from podrun.fsutil import read_json, write_json_atomic
from podrun.images.reference import InvalidReference, familiar, normalize, parse_reference, split_tag

__all__ = ["Image", "ImageStore", "tree_digest", "file_sha256", "stream_sha256", "remove_tree", "CONFIG_KEYS"]

CONFIG_KEYS = ("Entrypoint", "Cmd", "Env", "WorkingDir", "User", "ExposedPorts", "StopSignal")

_ID_PREFIX = re.compile(r"(?:sha256:)?([0-9a-f]{4,64})")


@dataclass(frozen=True)
class Image:
    id: str                     # sha256:<hex>
    ref: str                    # the normalised reference it was resolved by (or its first tag)
    rootfs: str
    config: dict[str, Any]
    size: int
    created: str                # RFC3339
    tags: tuple[str, ...] = field(default=())

    @property
    def short_id(self) -> str:
        return self.id.partition(":")[2][:12]

    @property
    def repo_digest(self) -> str:
        """Kubernetes' imageID form: docker.io/library/busybox@sha256:<hex>."""
        name = self.ref.partition("@")[0]
        return f"{split_tag(name)[0]}@{self.id}"


def tree_digest(root: str) -> tuple[str, int]:
    """(sha256:<hex> of the tree listing, total size in bytes of its files and links)."""
    h = hashlib.sha256()
    size = 0
    for rel, st in _walk(root):
        mode = st.st_mode
        line = f"{rel}\0{stat.S_IFMT(mode):o}\0{stat.S_IMODE(mode):o}\0{st.st_uid}:{st.st_gid}"
        full = os.path.join(root, rel)
        if stat.S_ISREG(mode):
            line += f"\0{st.st_size}\0{file_sha256(full)}"
            size += st.st_size
        elif stat.S_ISLNK(mode):
            target = os.readlink(full)
            line += f"\0{target}"
            size += len(target)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            line += f"\0{os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
        h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return "sha256:" + h.hexdigest(), size


def _walk(root: str) -> Iterator[tuple[str, os.stat_result]]:
    yield ".", os.lstat(root)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir)) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs = []
        for e in entries:
            rel = os.path.join(rel_dir, e.name)
            st = e.stat(follow_symlinks=False)
            yield rel, st
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(rel)
        stack.extend(reversed(subdirs))


def stream_sha256(f) -> str:
    """sha256 hex of a binary stream, read in 1 MiB chunks."""
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return stream_sha256(f)


def _now_rfc3339() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(image_id: str) -> str:
    return image_id.partition(":")[2] if image_id.startswith("sha256:") else image_id


class ImageStore:
    """Tags and blobs under one directory; see the module docstring for the layout."""

    def __init__(self, images_dir: str):
        self.dir = images_dir

    # paths
    @property
    def tags_file(self) -> str:
        return os.path.join(self.dir, "tags.json")

    @property
    def blobs_dir(self) -> str:
        return os.path.join(self.dir, "blobs")

    @property
    def tmp_dir(self) -> str:
        return os.path.join(self.dir, "tmp")

    def blob_dir(self, image_id: str) -> str:
        return os.path.join(self.blobs_dir, _hex(image_id))

    # reading (no lock: every file is replaced atomically)
    def tags(self) -> dict[str, str]:
        data = read_json(self.tags_file, {})
        if not isinstance(data, dict):
            raise ImageError(f"{self.tags_file}: not a JSON object")
        return data

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.blobs_dir)
        except FileNotFoundError:
            return []
        return sorted("sha256:" + n for n in names
                      if os.path.isfile(os.path.join(self.blobs_dir, n, "image.json")))

    def exists(self, image_id: str) -> bool:
        return os.path.isfile(os.path.join(self.blob_dir(image_id), "image.json"))

    def resolve(self, ref: str) -> Image:
        """The image for a reference: a tag, name@sha256:<hex>, or an (unambiguous) ID prefix."""
        tags = self.tags()
        image_id, shown = self._lookup(ref, tags)
        return self._load(image_id, shown, tags)

    def list(self) -> list[Image]:
        tags = self.tags()
        out = []
        for image_id in self.ids():
            mine = sorted(t for t, i in tags.items() if i == image_id)
            out.append(self._load(image_id, mine[0] if mine else "", tags))
        return sorted(out, key=lambda i: (i.tags[:1] or ("~",), i.id))

    def inspect(self, ref: str) -> dict[str, Any]:
        """Docker's `image inspect` shape, for what we have."""
        img = self.resolve(ref)
        by_repo = {split_tag(t)[0] for t in img.tags}
        return {
            "Id": img.id,
            "RepoTags": [familiar(t) for t in img.tags],
            "RepoDigests": sorted(f"{familiar(r)}@{img.id}" for r in by_repo),
            "Created": img.created,
            "Size": img.size,
            "Config": img.config,
            "Os": "linux",
            "Architecture": _arch(),
            "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": img.rootfs}},
        }

    # writing (under the store lock)
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        fd = os.open(os.path.join(self.dir, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def staging_dir(self) -> str:
        """A fresh directory inside the store (same filesystem as blobs/) to build a rootfs in."""
        os.makedirs(self.tmp_dir, mode=0o700, exist_ok=True)
        return tempfile.mkdtemp(dir=self.tmp_dir, prefix="stage-")

    def add_rootfs(self, src_dir: str, config: dict[str, Any], tags: list[str] | tuple[str, ...],
                   *, move: bool = False) -> Image:
        """Add a root filesystem as an image and point `tags` at it.

        The blob is assembled in tmp/ and renamed into blobs/, so readers see all of it or
        nothing. With move=True src_dir is consumed (renamed when on the same filesystem);
        otherwise it is copied with `cp -a`. An image with the same content keeps its blob.
        """
        refs = [normalize(t) for t in tags]
        for r in refs:
            if "@" in r:
                raise ImageError(f'cannot tag an image with a digest reference "{r}"')
        image_id, size = tree_digest(src_dir)
        cfg = {k: config[k] for k in CONFIG_KEYS if k in config}
        with self.lock():
            self._sweep_tmp()
            if not self.exists(image_id):
                self._install_blob(src_dir, image_id, size, cfg, move)
            elif move:
                remove_tree(src_dir)
            self._set_tags({r: image_id for r in refs})
        return self._load(image_id, refs[0] if refs else "", self.tags())

    def tag(self, src: str, dst: str) -> Image:
        """Point dst at the image src resolves to (`docker tag`)."""
        target = normalize(dst)
        if "@" in target:
            raise ImageError(f'refusing to create a tag with a digest reference: "{dst}"')
        with self.lock():
            img = self.resolve(src)
            self._set_tags({target: img.id})
        return self.resolve(target)

    def remove(self, ref: str, in_use: Callable[[str], bool] | None = None) -> list[str]:
        """Untag ref; delete the blob when no tag is left. Returns Docker's lines
        (`Untagged: busybox:latest`, `Deleted: sha256:...`). An ID or digest removes every tag of
        that image. Refused (Conflict) when the blob would go while a container uses it."""
        with self.lock():
            tags = self.tags()
            image_id, shown = self._lookup(ref, tags)
            by_id = "@" in shown or not shown
            untag = [t for t, i in tags.items() if i == image_id] if by_id else [shown]
            left = [t for t, i in tags.items() if i == image_id and t not in untag]
            if not left and in_use is not None and in_use(image_id):
                raise Conflict(f'unable to remove image "{familiar(shown) if shown else ref}" '
                               f"({image_id[7:19]}): it is in use by a running container")
            for t in untag:
                tags.pop(t, None)
            write_json_atomic(self.tags_file, dict(sorted(tags.items())))
            lines = [f"Untagged: {familiar(t)}" for t in sorted(untag)]
            if not left:
                self._delete_blob(image_id)
                lines.append(f"Deleted: {image_id}")
        return lines

    # internals
    def _lookup(self, ref: str, tags: dict[str, str]) -> tuple[str, str]:
        """(image id, the normalised reference to show) or NotFound naming what we have."""
        try:
            parsed = parse_reference(ref)
        except InvalidReference:
            parsed = None
        if parsed is not None and parsed.digest:
            if self.exists(parsed.digest):
                return parsed.digest, str(parsed)
            raise NotFound(f'image "{parsed}" not found in the local store ({self._have(tags)})')
        if parsed is not None and str(parsed) in tags:
            return tags[str(parsed)], str(parsed)
        m = _ID_PREFIX.fullmatch(ref)
        if m:
            hits = [i for i in self.ids() if _hex(i).startswith(m.group(1))]
            if len(hits) == 1:
                return hits[0], ""
            if len(hits) > 1:
                raise NotFound(f'image ID prefix "{ref}" is ambiguous ({len(hits)} images match)')
        if parsed is None:
            parse_reference(ref)        # re-raise the format error
        raise NotFound(f'image "{parsed}" not found in the local store ({self._have(tags)})')

    @staticmethod
    def _have(tags: dict[str, str]) -> str:
        if not tags:
            return "the store is empty: build it with scripts/build-images"
        return "have: " + ", ".join(sorted(familiar(t) for t in tags))

    def _load(self, image_id: str, ref: str, tags: dict[str, str]) -> Image:
        meta = read_json(os.path.join(self.blob_dir(image_id), "image.json"))
        if not isinstance(meta, dict):
            raise NotFound(f'image {image_id} is tagged but its blob is missing from {self.blobs_dir}')
        mine = tuple(sorted(t for t, i in tags.items() if i == image_id))
        return Image(id=image_id, ref=ref or (mine[0] if mine else image_id),
                     rootfs=os.path.join(self.blob_dir(image_id), "rootfs"),
                     config=meta.get("config") or {}, size=int(meta.get("size") or 0),
                     created=meta.get("created") or "", tags=mine)

    def _set_tags(self, new: dict[str, str]) -> None:
        tags = self.tags()
        if all(tags.get(k) == v for k, v in new.items()):
            return
        tags.update(new)
        write_json_atomic(self.tags_file, dict(sorted(tags.items())))
        # a tag moved away may leave an image with no tag: Docker keeps it as <none>; we
        # keep it too (it may be in use) — `image rm <id>` removes it.

    def _install_blob(self, src_dir: str, image_id: str, size: int, cfg: dict[str, Any], move: bool) -> None:
        os.makedirs(self.blobs_dir, mode=0o755, exist_ok=True)
        stage = self.staging_dir()
        try:
            rootfs = os.path.join(stage, "rootfs")
            if move:
                try:
                    os.rename(src_dir, rootfs)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    _copy_tree(src_dir, rootfs)
                    remove_tree(src_dir)
            else:
                _copy_tree(src_dir, rootfs)
            os.chmod(stage, 0o755)
            meta = {"id": image_id, "created": _now_rfc3339(), "size": size, "config": cfg}
            write_json_atomic(os.path.join(stage, "image.json"), meta)
            os.rename(stage, self.blob_dir(image_id))
        except BaseException:
            remove_tree(stage)
            raise

    def _sweep_tmp(self, stale_after: float = 3600.0) -> None:
        """Leftovers of a crash: removals (made and finished under the lock, so any left is
        dead) and stagings older than an hour (a live builder's staging is younger)."""
        try:
            names = os.listdir(self.tmp_dir)
        except FileNotFoundError:
            return
        now = time.time()
        for name in names:
            path = os.path.join(self.tmp_dir, name)
            try:
                old = now - os.lstat(path).st_mtime > stale_after
            except FileNotFoundError:
                continue
            if name.startswith("rm-") or old:
                remove_tree(path)

    def _delete_blob(self, image_id: str) -> None:
        blob = self.blob_dir(image_id)
        if not os.path.exists(blob):
            return
        os.makedirs(self.tmp_dir, mode=0o700, exist_ok=True)
        doomed = tempfile.mkdtemp(dir=self.tmp_dir, prefix="rm-")
        os.rename(blob, os.path.join(doomed, "blob"))     # gone for readers at once
        remove_tree(doomed)


def _copy_tree(src: str, dst: str) -> None:
    """Owners, modes, links, device nodes and xattrs as they are: cp -a."""
    p = subprocess.run(["cp", "-a", "--", src, dst], capture_output=True, text=True)
    if p.returncode != 0:
        raise ImageError(f"copy {src} to {dst}: {p.stderr.strip()}")


def remove_tree(path: str) -> None:
    """Remove an image tree, read-only directories included (no error when it is gone)."""
    def _writable(func, p, _exc):       # a read-only directory inside an image tree
        os.chmod(os.path.dirname(p), 0o700)
        func(p)
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=_writable)


def _arch() -> str:
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)
