"""Build the local images from Debian packages (no registry): `scripts/build-images`.

busybox, from Debian's `busybox-static`:
  Step 1  the .deb: taken from cache_dir, else `apt-get download` (after `apt-get update` only
          when the first download fails);
  Step 2  the stamp: sha256 of the .deb + our inputs (rootfs/busybox/) + BUILDER_VERSION; when the
          store already holds the image built from that stamp, retag if needed and stop (fast);
  Step 3  the rootfs, in a staging directory inside the store: /bin/busybox, every applet as a
          relative symlink where `busybox --list-full` puts it, the directories of
          rootfs/busybox/dirs.list, the files of rootfs/busybox/tree/, all owned by root;
  Step 4  add it to the store (renamed into blobs/) with tags latest, <upstream version>
          (1.35.0) and <major.minor> (1.35); record the stamp.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from podrun.errors import ImageError
from podrun.fsutil import read_json, write_json_atomic
from podrun.runtime.images import Image, ImageStore, tree_digest

__all__ = ["BuildResult", "build_busybox", "BUILDERS", "DEFAULT_CACHE", "default_cache_dir",
           "ROOTFS_INPUTS", "upstream_version"]

# Bump when the way a rootfs is assembled changes: the stamp then no longer matches.
BUILDER_VERSION = "1"
DEFAULT_CACHE = "/var/cache/podrun/debs"
ROOTFS_INPUTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rootfs")
BUSYBOX_REPO = "docker.io/library/busybox"
BUSYBOX_CONFIG = {
    "Entrypoint": None,
    "Cmd": ["sh"],
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "WorkingDir": "",
    "User": "",
    "ExposedPorts": {},
}
_APPLET_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin")


@dataclass(frozen=True)
class BuildResult:
    name: str           # busybox
    image: Image
    built: bool         # False: the store already had it
    seconds: float


def default_cache_dir() -> str:
    return os.environ.get("PODRUN_CACHE") or DEFAULT_CACHE


def upstream_version(debian_version: str) -> str:
    """1:1.35.0-4+deb12u1+b1 -> 1.35.0 (no epoch, no Debian revision), as a valid tag."""
    v = debian_version.partition(":")[2] if ":" in debian_version else debian_version
    v = v.rsplit("-", 1)[0] if "-" in v else v
    return re.sub(r"[^\w.-]", "_", v)


def build_busybox(store: ImageStore, cache_dir: str | None = None) -> BuildResult:
    """The busybox image in `store`, built from busybox-static unless already there."""
    t0 = time.monotonic()
    cache_dir = cache_dir or default_cache_dir()
    inputs = os.path.join(ROOTFS_INPUTS, "busybox")
    # Step 1: the package
    deb = _fetch_deb("busybox-static", cache_dir)
    # Step 2: the stamp
    stamp = hashlib.sha256(f"builder {BUILDER_VERSION}\n".encode())
    stamp.update(f"deb {_sha256(deb)}\n".encode())
    stamp.update(f"inputs {tree_digest(inputs)[0]}\n".encode())
    key = stamp.hexdigest()
    recorded = _stamps(store).get("busybox") or {}
    if recorded.get("key") == key and store.exists(recorded.get("id", "")):
        current = store.tags()
        for tag in recorded.get("tags") or []:
            if current.get(tag) != recorded["id"]:     # someone untagged or moved it: put it back
                store.tag(recorded["id"], tag)
        return BuildResult("busybox", store.resolve(f"{BUSYBOX_REPO}:latest"), False, time.monotonic() - t0)
    # Step 3: the rootfs, staged inside the store so that adding it is a rename
    version = upstream_version(_deb_field(deb, "Version"))
    tags = [f"{BUSYBOX_REPO}:latest", f"{BUSYBOX_REPO}:{version}"]
    minor = ".".join(version.split(".")[:2])
    if minor != version:
        tags.append(f"{BUSYBOX_REPO}:{minor}")
    stage = store.staging_dir()
    try:
        extract, rootfs = os.path.join(stage, "deb"), os.path.join(stage, "rootfs")
        _run(["dpkg-deb", "-x", deb, extract], f"unpack {deb}")
        _assemble_busybox(extract, rootfs, inputs)
        # Step 4: into the store, then the stamp
        image = store.add_rootfs(rootfs, BUSYBOX_CONFIG, tags, move=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    with store.lock():
        stamps = _stamps(store)
        stamps["busybox"] = {"key": key, "id": image.id, "tags": tags, "deb": os.path.basename(deb)}
        write_json_atomic(_stamps_file(store), stamps)
    return BuildResult("busybox", store.resolve(f"{BUSYBOX_REPO}:latest"), True, time.monotonic() - t0)


BUILDERS = {"busybox": build_busybox}


def _assemble_busybox(extract: str, rootfs: str, inputs: str) -> None:
    _mkdir(rootfs, 0o755)
    for d in _APPLET_DIRS:
        _mkdir(os.path.join(rootfs, d), 0o755)
    binary = os.path.join(rootfs, "bin", "busybox")
    shutil.copyfile(os.path.join(extract, "bin", "busybox"), binary)
    os.chmod(binary, 0o755)
    # the licence travels with the binary
    copyright_src = os.path.join(extract, "usr/share/doc/busybox-static/copyright")
    if os.path.isfile(copyright_src):
        doc = os.path.join(rootfs, "usr/share/doc/busybox-static")
        for d in ("usr/share", "usr/share/doc", "usr/share/doc/busybox-static"):
            _mkdir(os.path.join(rootfs, d), 0o755)
        shutil.copyfile(copyright_src, os.path.join(doc, "copyright"))
        os.chmod(os.path.join(doc, "copyright"), 0o644)
    # applets: where busybox itself says they go, as links relative to their directory
    listing = _run([os.path.join(extract, "bin", "busybox"), "--list-full"], "list busybox applets")
    for path in sorted(set(listing.split())):
        if os.path.dirname(path) not in _APPLET_DIRS or path == "bin/busybox":
            continue
        link = os.path.join(rootfs, path)
        if not os.path.lexists(link):
            os.symlink(os.path.relpath("bin/busybox", os.path.dirname(path)), link)
    # our directories, then our files
    for line in _read_lines(os.path.join(inputs, "dirs.list")):
        rel, mode = line.split()
        _mkdir(os.path.join(rootfs, rel), int(mode, 8))
    tree = os.path.join(inputs, "tree")
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, tree)
        for d in dirnames:
            target = os.path.normpath(os.path.join(rootfs, rel_dir, d))
            if not os.path.isdir(target):
                _mkdir(target, 0o755)
        for name in sorted(filenames):
            src = os.path.join(dirpath, name)
            dst = os.path.normpath(os.path.join(rootfs, rel_dir, name))
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755 if os.stat(src).st_mode & 0o111 else 0o644)
    # everything root-owned, whoever owns the checkout
    for dirpath, dirnames, filenames in os.walk(rootfs):
        os.lchown(dirpath, 0, 0)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), 0, 0)


def _mkdir(path: str, mode: int) -> None:
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)        # exactly this mode, whatever the umask


def _read_lines(path: str) -> list[str]:
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def _fetch_deb(package: str, cache_dir: str) -> str:
    """The newest cached .deb of package, downloading it with apt when there is none."""
    found = _cached_debs(package, cache_dir)
    if found:
        return found[-1]
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    # As root apt would drop to _apt, which cannot write here: keep root, without the warning.
    cmd = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", package]
    p = subprocess.run(cmd, cwd=cache_dir, capture_output=True, text=True)
    if p.returncode != 0:
        _run(["apt-get", "update", "-q", "-o", "APT::Sandbox::User=root"], "apt-get update")
        p = subprocess.run(cmd, cwd=cache_dir, capture_output=True, text=True)
    found = _cached_debs(package, cache_dir)
    if p.returncode != 0 or not found:
        raise ImageError(f"apt-get download {package} into {cache_dir}: "
                         f"{(p.stderr or p.stdout).strip().splitlines()[-1:] or 'no .deb appeared'}")
    return found[-1]


def _cached_debs(package: str, cache_dir: str) -> list[str]:
    try:
        names = [n for n in os.listdir(cache_dir) if n.startswith(package + "_") and n.endswith(".deb")]
    except FileNotFoundError:
        return []
    paths = [os.path.join(cache_dir, n) for n in names]
    return sorted(paths, key=lambda p: os.stat(p).st_mtime)


def _deb_field(deb: str, name: str) -> str:
    return _run(["dpkg-deb", "-f", deb, name], f"read {name} of {deb}").strip()


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _stamps_file(store: ImageStore) -> str:
    return os.path.join(store.dir, "build-stamps.json")


def _stamps(store: ImageStore) -> dict:
    data = read_json(_stamps_file(store), {})
    return data if isinstance(data, dict) else {}


def _run(argv: list[str], what: str) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True)
    except OSError as exc:
        raise ImageError(f"{what}: {argv[0]}: {exc.strerror}") from exc
    if p.returncode != 0:
        raise ImageError(f"{what}: {argv[0]} exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return p.stdout
