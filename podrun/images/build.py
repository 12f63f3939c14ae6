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

nginx, from Debian's `nginx` (the binary) and `nginx-common`, on top of the busybox image:
  Step 1  the packages: the dependency closure of `nginx` (`apt-cache depends --recurse`),
          pruned of what only maintainer scripts use (debconf, dpkg, iproute2, ...), each .deb
          cached like busybox's; without apt lists, the closure known for bookworm;
  Step 2  the stamp: the busybox image ID + sha256 of every .deb + rootfs/nginx/ + version;
  Step 3  the rootfs: a copy of the busybox rootfs, every .deb unpacked over it (dpkg-deb -x),
          docs/man/init files dropped, rootfs/nginx/{dirs.list,links.list,tree/}; checked:
          `nginx -t` in a chroot (in a private mount namespace with /dev and /proc);
  Step 4  tags latest, <upstream version> (1.22.1), <major.minor> (1.22); record the stamp.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from podrun.errors import ImageError
from podrun.fsutil import read_json, write_json_atomic
from podrun.images.store import Image, ImageStore, file_sha256, tree_digest

__all__ = ["BuildResult", "build_busybox", "build_nginx", "nginx_packages", "BUILDERS", "DEFAULT_CACHE", "default_cache_dir",
           "ROOTFS_INPUTS", "upstream_version"]

# Bump when the way a rootfs is assembled changes: the stamp then no longer matches.
BUILDER_VERSION = "1"
DEFAULT_CACHE = "/var/cache/podrun/debs"
ROOTFS_INPUTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "rootfs")
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
    stamp.update(f"deb {file_sha256(deb)}\n".encode())
    stamp.update(f"inputs {tree_digest(inputs)[0]}\n".encode())
    key = stamp.hexdigest()
    if _up_to_date(store, "busybox", key):
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


NGINX_REPO = "docker.io/library/nginx"
NGINX_CONFIG = {
    "Entrypoint": None,
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "WorkingDir": "",
    "User": "",
    "ExposedPorts": {"80/tcp": {}},
    "StopSignal": "SIGQUIT",        # nginx's graceful stop; the kill sequence sends it instead of SIGTERM
}
# Dependencies only maintainer scripts (or tools nginx never runs) need: not followed.
NGINX_PRUNE = frozenset({"debconf", "cdebconf", "<debconf-2.0>", "dpkg", "tar", "install-info",
                         "iproute2", "lsb-base", "sysvinit-utils", "init-system-helpers",
                         "base-files", "debianutils"})
# The official image is Debian with bash: the tutorials' `kubectl exec -it web -- bash` works.
NGINX_ROOTS = ("nginx", "bash")
# The closure for bookworm (1.22.1), used when apt has no package lists.
NGINX_FALLBACK = ("nginx", "nginx-common", "libc6", "libcrypt1", "libpcre2-8-0", "libssl3",
                  "zlib1g", "libgcc-s1", "gcc-12-base", "bash", "libtinfo6")
_NGINX_DROP = ("usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/vim",
               "usr/share/apport", "usr/share/locale", "usr/share/info", "lib/systemd",
               "etc/init.d", "etc/default", "etc/logrotate.d", "etc/ufw",
               "etc/nginx/sites-available", "etc/nginx/sites-enabled",
               "etc/nginx/modules-available", "etc/nginx/modules-enabled")


def nginx_packages() -> list[str]:
    """The packages of the nginx image: the closure of NGINX_ROOTS without NGINX_PRUNE."""
    argv = ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
            "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *NGINX_ROOTS]
    try:
        p = subprocess.run(argv, capture_output=True, text=True)
    except OSError:
        return list(NGINX_FALLBACK)
    if p.returncode != 0 or not p.stdout.strip():
        return list(NGINX_FALLBACK)
    graph: dict[str, list[str]] = {}
    current = None
    for line in p.stdout.splitlines():
        if not line.startswith(" "):
            current = line.strip()
            graph.setdefault(current, [])
            continue
        field, _, dep = line.strip().lstrip("|").partition(": ")
        if current and field in ("Depends", "PreDepends", "Pre-Depends") and dep:
            graph[current].append(dep.strip())
    seen, todo = [], list(NGINX_ROOTS)
    while todo:
        pkg = todo.pop(0)
        if pkg in seen or pkg in NGINX_PRUNE or pkg.startswith("<"):
            continue
        seen.append(pkg)
        todo.extend(graph.get(pkg, []))
    return sorted(seen) if "nginx" in seen else list(NGINX_FALLBACK)


def build_nginx(store: ImageStore, cache_dir: str | None = None) -> BuildResult:
    """The nginx image in `store`, built from Debian's nginx over busybox unless already there."""
    t0 = time.monotonic()
    cache_dir = cache_dir or default_cache_dir()
    inputs = os.path.join(ROOTFS_INPUTS, "nginx")
    base = build_busybox(store, cache_dir).image
    # Step 1: the packages
    packages = nginx_packages()
    missing = [pkg for pkg in packages if not _cached_debs(pkg, cache_dir)]
    if len(missing) > 1:        # one apt-get for all of them (each is checked just below)
        os.makedirs(cache_dir, mode=0o755, exist_ok=True)
        subprocess.run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", *missing],
                       cwd=cache_dir, capture_output=True, text=True)
    debs = {pkg: _fetch_deb(pkg, cache_dir) for pkg in packages}
    # Step 2: the stamp
    stamp = hashlib.sha256(f"builder {BUILDER_VERSION}\nbase {base.id}\n".encode())
    for pkg in sorted(debs):
        stamp.update(f"deb {pkg} {file_sha256(debs[pkg])}\n".encode())
    stamp.update(f"inputs {tree_digest(inputs)[0]}\n".encode())
    key = stamp.hexdigest()
    if _up_to_date(store, "nginx", key):
        return BuildResult("nginx", store.resolve(f"{NGINX_REPO}:latest"), False, time.monotonic() - t0)
    # Step 3: the rootfs
    version = upstream_version(_deb_field(debs["nginx"], "Version"))
    tags = [f"{NGINX_REPO}:latest", f"{NGINX_REPO}:{version}"]
    minor = ".".join(version.split(".")[:2])
    if minor != version:
        tags.append(f"{NGINX_REPO}:{minor}")
    stage = store.staging_dir()
    try:
        rootfs = os.path.join(stage, "rootfs")
        p = subprocess.run(["cp", "-a", "--", base.rootfs, rootfs], capture_output=True, text=True)
        if p.returncode != 0:
            raise ImageError(f"copy the busybox rootfs: {p.stderr.strip()}")
        os.chmod(rootfs, 0o755)
        for pkg in sorted(debs):
            _run(["dpkg-deb", "-x", debs[pkg], rootfs], f"unpack {debs[pkg]}")
        _assemble_nginx(rootfs, inputs)
        _check_nginx(rootfs)
        # Step 4
        image = store.add_rootfs(rootfs, NGINX_CONFIG, tags, move=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    with store.lock():
        stamps = _stamps(store)
        stamps["nginx"] = {"key": key, "id": image.id, "tags": tags, "base": base.id,
                           "debs": sorted(os.path.basename(d) for d in debs.values())}
        write_json_atomic(_stamps_file(store), stamps)
    return BuildResult("nginx", store.resolve(f"{NGINX_REPO}:latest"), True, time.monotonic() - t0)


def _assemble_nginx(rootfs: str, inputs: str) -> None:
    # the licences stay; the rest of the docs, man pages and Debian's service files go
    keep = {}
    doc = os.path.join(rootfs, "usr/share/doc")
    for pkg in sorted(os.listdir(doc)) if os.path.isdir(doc) else []:
        cp = os.path.join(doc, pkg, "copyright")
        if os.path.isfile(cp) and not os.path.islink(cp):
            with open(cp, "rb") as f:
                keep[pkg] = f.read()
    for rel in _NGINX_DROP + tuple(os.path.relpath(g, rootfs) for g in
                                   glob.glob(os.path.join(rootfs, "usr/lib/*/gconv"))):   # iconv: unused
        path = os.path.join(rootfs, rel)
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
    for pkg, text in keep.items():
        _mkdir(os.path.join(rootfs, "usr/share/doc", pkg), 0o755)
        with open(os.path.join(rootfs, "usr/share/doc", pkg, "copyright"), "wb") as f:
            f.write(text)
    os.chmod(os.path.join(rootfs, "usr/share/doc"), 0o755)
    # Debian's own index page (we ship the official image's) and config (replaced below)
    for rel in ("usr/share/nginx/html/index.nginx-debian.html",):
        if os.path.lexists(os.path.join(rootfs, rel)):
            os.unlink(os.path.join(rootfs, rel))
    owners: dict[str, tuple[int, int]] = {}
    for line in _read_lines(os.path.join(inputs, "dirs.list")):
        parts = line.split()
        _mkdir(os.path.join(rootfs, parts[0]), int(parts[1], 8))
        if len(parts) > 2:
            uid, _, gid = parts[2].partition(":")
            owners[os.path.normpath(parts[0])] = (int(uid), int(gid or uid))
    for line in _read_lines(os.path.join(inputs, "links.list")):
        rel, target = line.split()
        link = os.path.join(rootfs, rel)
        if os.path.lexists(link):
            if os.path.isdir(link) and not os.path.islink(link):
                shutil.rmtree(link)
            else:
                os.unlink(link)
        os.symlink(target, link)
    _copy_tree(os.path.join(inputs, "tree"), rootfs)
    for dirpath, dirnames, filenames in os.walk(rootfs):
        rel = os.path.relpath(dirpath, rootfs)
        os.lchown(dirpath, *owners.get(rel, (0, 0)))
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            os.lchown(os.path.join(dirpath, n), 0, 0)


def _check_nginx(rootfs: str) -> None:
    """`nginx -t` inside the rootfs: every library found, the configuration valid. In a private
    mount namespace with /dev and /proc bound, so /dev/stdout resolves and nothing leaks."""
    script = ('set -e; mount --rbind /dev "$1/dev"; mount -t proc proc "$1/proc"; '
              'exec chroot "$1" /usr/sbin/nginx -t -q')
    try:
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", rootfs],
                           capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ImageError(f"check nginx: unshare: {exc.strerror}") from exc
    if p.returncode != 0:
        raise ImageError(f"the nginx image fails `nginx -t`: {(p.stderr or p.stdout).strip()[-800:]}")


BUILDERS = {"busybox": build_busybox, "nginx": build_nginx}


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
    _copy_tree(os.path.join(inputs, "tree"), rootfs)
    # everything root-owned, whoever owns the checkout
    for dirpath, dirnames, filenames in os.walk(rootfs):
        os.lchown(dirpath, 0, 0)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), 0, 0)


def _up_to_date(store: ImageStore, name: str, key: str) -> bool:
    """The image was built from exactly these inputs: keep it, putting back any tag of it that
    someone removed or moved since."""
    recorded = _stamps(store).get(name) or {}
    if recorded.get("key") != key or not store.exists(recorded.get("id", "")):
        return False
    current = store.tags()
    for tag in recorded.get("tags") or []:
        if current.get(tag) != recorded["id"]:
            store.tag(recorded["id"], tag)
    return True


def _copy_tree(tree: str, rootfs: str) -> None:
    """Our files from rootfs/<image>/tree over the image, replacing what is there (root-owned,
    0755 for executables, 0644 otherwise)."""
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
            if os.path.lexists(dst):
                os.unlink(dst)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755 if os.stat(src).st_mode & 0o111 else 0o644)


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
