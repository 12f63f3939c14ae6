"""Pods as JSON text with each spec serialized once per (uid, resourceVersion).

A pod's spec only changes with its resourceVersion (images), while its status changes all the
time. An 80,000-entry env is 2.7 MB of JSON and ~90 ms of json.dumps, which held the event loop
at every GET, list and watch event; here the spec's text is kept and spliced in.
"""
from __future__ import annotations

import json
import secrets
from typing import Any, Iterable

__all__ = ["PodJSON"]


class PodJSON:
    def __init__(self) -> None:
        self._specs: dict[str, tuple[str, str]] = {}      # uid -> (resourceVersion, spec JSON)
        self._mark = f"podrun-spec-{secrets.token_hex(16)}"  # unguessable: user data cannot hold it
        self._quoted = json.dumps(self._mark)

    def dumps(self, obj: Any) -> str:
        """JSON of a pod, or of a dict holding pods under "items" or "object"."""
        if isinstance(obj, dict) and isinstance(obj.get("items"), list):
            head = json.dumps({**obj, "items": self._mark})
            return head.replace(self._quoted, "[" + ", ".join(map(self._pod, obj["items"])) + "]", 1)
        if isinstance(obj, dict) and isinstance(obj.get("object"), dict):
            head = json.dumps({**obj, "object": self._mark})
            return head.replace(self._quoted, self._pod(obj["object"]), 1)
        return self._pod(obj)

    def _pod(self, pod: Any) -> str:
        meta = pod.get("metadata") if isinstance(pod, dict) else None
        spec = pod.get("spec") if isinstance(pod, dict) else None
        uid = meta.get("uid") if isinstance(meta, dict) else None
        if not uid or not isinstance(spec, dict):
            return json.dumps(pod)
        version = str(meta.get("resourceVersion"))
        hit = self._specs.get(uid)
        if hit is None or hit[0] != version:
            hit = self._specs[uid] = (version, json.dumps(spec))
        return json.dumps({**pod, "spec": self._mark}).replace(self._quoted, hit[1], 1)

    def keep(self, uids: Iterable[str]) -> None:
        """Forget the specs of pods that are gone."""
        live = set(uids)
        for uid in [u for u in self._specs if u not in live]:
            del self._specs[uid]
