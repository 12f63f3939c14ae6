"""Reading the status files the StatusManager writes, from another process (the CLI).

status.json is {"version": N, "status": <v1 PodStatus>}, replaced atomically, so a reader sees
a whole status or none.
"""
from __future__ import annotations

import os
from typing import Iterator

from podrun.fsutil import read_json
from podrun.paths import Roots

__all__ = ["pod_statuses", "image_in_use"]

_STATUS_LISTS = ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses")


def pod_statuses(roots: Roots) -> Iterator[dict]:
    """The v1 PodStatus of every pod on disk (in no particular order)."""
    try:
        pods = os.listdir(roots.pods_dir)
    except FileNotFoundError:
        return
    for name in pods:
        doc = read_json(os.path.join(roots.pods_dir, name, "status.json"), {}) or {}
        status = doc.get("status", doc) if isinstance(doc, dict) else {}
        yield status if isinstance(status, dict) else {}


def image_in_use(roots: Roots, image_id: str) -> bool:
    """True when a pod's status shows a running container of this image (imageID ends @<id>)."""
    for status in pod_statuses(roots):
        for key in _STATUS_LISTS:
            for cs in status.get(key) or []:
                if "running" in (cs.get("state") or {}) and str(cs.get("imageID", "")).endswith(image_id):
                    return True
    return False
