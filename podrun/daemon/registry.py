"""PodRegistry: the API-server side of desired state, and the only writer of pod.json.

create: validate, fill defaults, assign uid and creationTimestamp, refuse a changed spec of an
existing pod the way Kubernetes does (pods are immutable but for images), report `unchanged`
for an identical re-apply, hand the pod to a new PodWorker. delete: set deletionTimestamp and
the grace period, let the worker terminate, then remove the pod's directory.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import os
import shutil
import uuid

from podrun.api import defaults, update_validation, validation
from podrun.api.manifests import Document
from podrun.clock import rfc3339
from podrun.errors import Conflict, InvalidManifest, NotFound
from podrun.fsutil import makedirs, read_json, write_json_atomic
from podrun.daemon import reconcile
from podrun.lifecycle.context import NodeContext
from podrun.lifecycle.pod_worker import PodWorker
from podrun.status.manager import PodKey, pod_key

__all__ = ["PodRegistry"]

log = logging.getLogger("podrun.daemon")
_SERVER_FIELDS = ("uid", "creationTimestamp", "resourceVersion", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation", "managedFields", "selfLink")


def _comparable(pod: dict) -> dict:
    meta = {k: v for k, v in pod["metadata"].items() if k not in _SERVER_FIELDS}
    spec = dict(pod["spec"])
    spec.pop("nodeName", None)
    return {"metadata": meta, "spec": spec}


def _images_only(old: dict, new: dict) -> bool:
    """True when the specs differ only in container images (the one mutable part we honour)."""
    a, b = copy.deepcopy(old["spec"]), copy.deepcopy(new["spec"])
    for s in (a, b):
        s.pop("nodeName", None)
        for c in s.get("containers", []) + s.get("initContainers", []):
            c.pop("image", None)
            c.pop("imagePullPolicy", None)
    return a == b


class PodRegistry:
    def __init__(self, ctx: NodeContext):
        self.ctx = ctx
        self.pods: dict[PodKey, dict] = {}
        self.workers: dict[PodKey, PodWorker] = {}

    # ---- reads ------------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> dict:
        key = (namespace, name)
        if key not in self.pods:
            raise NotFound(f'pods "{name}" not found')
        return self._full(key)

    def list(self, namespace: str | None, selector: dict[str, str] | None = None) -> list[dict]:
        out = []
        for key in sorted(self.pods):
            if namespace and key[0] != namespace:
                continue
            labels = self.pods[key]["metadata"].get("labels") or {}
            if selector and any(labels.get(k) != v for k, v in selector.items()):
                continue
            out.append(self._full(key))
        return out

    def _full(self, key: PodKey) -> dict:
        # the spec is shared, not copied (80,000 env entries cost 0.3 s to deepcopy): readers
        # only serialize it, and an image update changes metadata.resourceVersion too
        stored = self.pods[key]
        pod = {**stored, "metadata": copy.deepcopy(stored["metadata"])}
        pod["status"] = self.ctx.status.status(key) if self.ctx.status.has(key) else {"phase": "Pending"}
        return pod

    # ---- writes -----------------------------------------------------------------------------

    @staticmethod
    def admit(obj: dict) -> dict:
        """Validate and fill defaults: pure, and heavy for a large pod, so the API server runs
        it in a thread, off the event loop."""
        errors = validation.validate(Document("<request>", 1, obj))
        if errors:
            raise InvalidManifest("<request>", 1, errors[0].field_path, errors[0].reason)
        pod = defaults.apply_defaults(obj)
        pod.pop("status", None)
        return pod

    def create(self, obj: dict, admitted: dict | None = None) -> tuple[str, dict]:
        pod = admitted if admitted is not None else self.admit(obj)
        key = pod_key(pod)
        old = self.pods.get(key)
        if old is not None:
            if old["metadata"].get("deletionTimestamp"):
                raise Conflict(f'object is being deleted: pods "{key[1]}" already exists')
            if _comparable(old) == _comparable(pod):
                return "unchanged", self._full(key)
            if not _images_only(old, pod):
                raise Conflict(update_validation.validate_update(old, pod) or
                               f'The Pod "{key[1]}" is invalid: spec: Forbidden: pod updates may not '
                               f'change fields other than `spec.containers[*].image`')
            return "configured", self._update_images(key, pod)
        meta = pod["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.ctx.clock.now())
        meta["resourceVersion"] = "1"
        pod["spec"]["nodeName"] = self.ctx.node_name
        makedirs(os.path.join(self.ctx.roots.pod_dir(pod), "containers"), 0o700)
        write_json_atomic(self.ctx.roots.pod_file(pod), pod)
        self.bring_back(pod)
        self.housekeeping()
        return "created", self._full(key)

    def bring_back(self, pod: dict, previous: dict | None = None) -> None:
        """Track `pod` and start its PodWorker; `previous` is its last status when the pod comes
        back after a daemon restart (daemon/reconcile.py)."""
        key = pod_key(pod)
        self.pods[key] = pod
        self.ctx.status.add_pod(pod, previous)
        if not previous:
            self.ctx.status.event(key, "Normal", "Scheduled",
                                  f"Successfully assigned {key[0]}/{key[1]} to {self.ctx.node_name}")
        worker = PodWorker(self.ctx, pod, previous)
        self.workers[key] = worker
        worker.start()

    def _update_images(self, key: PodKey, new: dict) -> dict:
        pod = self.pods[key]
        images = {c["name"]: (c["image"], c.get("imagePullPolicy"))
                  for c in new["spec"]["containers"] + new["spec"].get("initContainers", [])}
        changed = []
        for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
            if c["image"] != images[c["name"]][0]:
                changed.append(c["name"])
            c["image"], c["imagePullPolicy"] = images[c["name"]]
        pod["metadata"]["resourceVersion"] = str(int(pod["metadata"].get("resourceVersion", "1")) + 1)
        write_json_atomic(self.ctx.roots.pod_file(pod), pod)
        self.workers[key].images_changed(changed)
        return self._full(key)

    async def delete(self, namespace: str, name: str, grace: int | None, force: bool,
                     wait: bool = True) -> dict:
        key = (namespace, name)
        if key not in self.pods:
            raise NotFound(f'pods "{name}" not found')
        pod = self.pods[key]
        meta = pod["metadata"]
        if force and grace == 0:
            grace_s = 0
        elif grace is not None:
            grace_s = max(1, grace)       # kubectl: --grace-period=0 without --force means 1
        else:
            grace_s = pod["spec"].get("terminationGracePeriodSeconds", 30)
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = rfc3339(self.ctx.clock.now() + grace_s)
            meta["deletionGracePeriodSeconds"] = grace_s
            write_json_atomic(self.ctx.roots.pod_file(pod), pod)
            self.ctx.status.update_pod(pod)
        worker = self.workers[key]
        worker.stop(force=force and grace == 0)
        snapshot = self._full(key)
        task = asyncio.ensure_future(self._finish_delete(key, worker))
        if wait:
            await asyncio.shield(task)
        return snapshot

    async def _finish_delete(self, key: PodKey, worker: PodWorker) -> None:
        await worker.wait()
        pod_dir = self.ctx.roots.pod_dir(worker.pod)
        if self.workers.get(key) is worker:
            del self.workers[key]
            self.pods.pop(key, None)
            self.ctx.status.remove_pod(key)
            await asyncio.to_thread(shutil.rmtree, pod_dir, True)
        self.housekeeping()

    def housekeeping(self) -> None:
        """kubelet HandlePodCleanups: restart and image back-off entries nobody updated for
        2 × the max back-off (deleted pods' among them) are dropped (flowcontrol Backoff.GC)."""
        self.ctx.backoff.gc()
        self.ctx.image_backoff.gc()

    def wake_image_waiters(self) -> None:
        for w in self.workers.values():
            w.wake()

    # ---- daemon start and stop ----------------------------------------------------------------

    def restore(self) -> None:
        """After a daemon restart: every pod on disk comes back (see daemon/reconcile.py)."""
        reconcile.restore_pods(self.ctx, self.bring_back)

    async def shutdown(self) -> None:
        """Daemon stop: end every pod's processes now, keep the pods on disk to come back."""
        for w in self.workers.values():
            w.stop(force=True, keep_state=True)
        await asyncio.gather(*(w.wait() for w in self.workers.values()), return_exceptions=True)
