"""The admin kubeconfig: cluster `podrun`, user `podrun-admin`, context `podrun`, certificates
embedded as base64 data (so the file stands alone), written 0600 at <lib>/kubeconfig at every
daemon start (the port may have changed).

merge() is what `podrun kubeconfig --merge` does to ~/.kube/config, the way `kubectl config
set-cluster/set-credentials/set-context` would: entries of the same name are replaced, every
other cluster, user and context is kept, and current-context is set only when the file has none
(kubectl never switches contexts behind the user's back; `kubectl config use-context podrun`).
"""
from __future__ import annotations

import base64
import os
import tempfile

import yaml

from typing import Protocol

from podrun.paths import Roots

__all__ = ["CONTEXT", "CLUSTER", "ADMIN_USER", "build", "write", "merge", "dump", "write_private_text"]

CONTEXT = CLUSTER = "podrun"
ADMIN_USER = "podrun-admin"


class Certs(Protocol):
    """pki.Pki (not imported: the CLI imports this module, and pki needs `cryptography`)."""

    def read(self, name: str) -> bytes: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build(pki: Certs, server: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CLUSTER, "cluster": {
            "certificate-authority-data": _b64(pki.read("ca.crt")), "server": server}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CLUSTER, "user": ADMIN_USER}}],
        "current-context": CONTEXT,
        "preferences": {},
        "users": [{"name": ADMIN_USER, "user": {
            "client-certificate-data": _b64(pki.read("admin.crt")),
            "client-key-data": _b64(pki.read("admin.key"))}}],
    }


def dump(config: dict) -> str:
    return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)


def write_private_text(path: str, text: str) -> None:
    """0600 from birth, renamed over the old file."""
    d = os.path.dirname(path) or "."
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write(roots: Roots, pki: Certs, server: str) -> str:
    write_private_text(roots.kubeconfig, dump(build(pki, server)))
    return roots.kubeconfig


def _upsert(entries: list | None, entry: dict) -> tuple[list, bool]:
    out, found = [], False
    for e in entries or []:
        if isinstance(e, dict) and e.get("name") == entry["name"]:
            out.append(entry)
            found = True
        else:
            out.append(e)
    if not found:
        out.append(entry)
    return out, found


def merge(existing: dict | None, ours: dict) -> tuple[dict, bool]:
    """(the merged config, whether the podrun context already existed)."""
    config = dict(existing or {})
    config.setdefault("apiVersion", "v1")
    config.setdefault("kind", "Config")
    found = False
    for section in ("clusters", "users", "contexts"):
        config[section], f = _upsert(config.get(section), ours[section][0])
        found = found or (section == "contexts" and f)
    if not config.get("current-context"):
        config["current-context"] = CONTEXT
    config.setdefault("preferences", {})
    return config, found
