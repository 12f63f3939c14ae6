"""StatusManager: the only writer of each pod's status.json and events.json.

Everything else reports facts through its methods (a container started, exited, became ready;
an event happened). It keeps the observed v1 PodStatus per pod, recomputes phase and conditions
with the pure rules in status/generate.py, drops no-op updates, versions every accepted change
(kubelet status_manager.go versionedPodStatus), coalesces writes to one atomic write per loop
turn, and wakes watchers (`get -w`, `apply --wait`).

Rules kept here, as the kubelet keeps them:
- a pod never leaves Succeeded/Failed once reached (generateAPIPodStatus);
- startTime is pinned when first set; lastTransitionTime changes only with a condition's status;
- containerStatuses are sorted by name, initContainerStatuses keep spec order.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import os

from podrun.api.qos import qos_class
from podrun.clock import Clock, rfc3339
from podrun.fsutil import makedirs, read_json, write_json_atomic
from podrun.paths import Roots
from podrun.status import generate
from podrun.status.events import EventLog
from podrun.status.transitions import check_transition

__all__ = ["StatusManager", "PodKey", "pod_key"]

log = logging.getLogger("podrun.status")
PodKey = tuple[str, str]
TERMINAL = ("Succeeded", "Failed")


def pod_key(pod: dict) -> PodKey:
    return (pod["metadata"]["namespace"], pod["metadata"]["name"])


class _Record:
    def __init__(self, pod: dict, status: dict, version: int, events: EventLog):
        self.pod = pod
        self.status = status
        self.version = version
        self.events = events
        self.sandbox_ready = False
        self.terminal = False  # the pod worker finished the pod (podIsTerminal)


class StatusManager:
    def __init__(self, roots: Roots, clock: Clock, node_name: str, host_ip: str):
        self.roots, self.clock, self.node, self.host_ip = roots, clock, node_name, host_ip
        self._pods: dict[PodKey, _Record] = {}
        self._dirty: set[PodKey] = set()
        self._flush_scheduled = False
        self._changed = asyncio.Event()
        self.version = 0  # node-wide, for watchers
        self._frozen = False

    # ---- pods ---------------------------------------------------------------------------

    def add_pod(self, pod: dict, previous: dict | None = None) -> None:
        """Start tracking a pod; `previous` is a status read back after a daemon restart."""
        key = pod_key(pod)
        spec = pod["spec"]
        has_init = bool(spec.get("initContainers"))
        if previous:
            status = previous
        else:
            status = {
                "phase": "Pending",
                "conditions": [],
                "hostIP": self.host_ip,
                "hostIPs": [{"ip": self.host_ip}],
                "qosClass": qos_class(spec),
                "initContainerStatuses": [
                    generate.initial_container_status(c, has_init, True, c.get("image", ""))
                    for c in spec.get("initContainers", [])],
                "containerStatuses": sorted(
                    (generate.initial_container_status(c, has_init, False, c.get("image", ""))
                     for c in spec.get("containers", [])), key=lambda s: s["name"]),
            }
            if not status["initContainerStatuses"]:
                del status["initContainerStatuses"]
        events = EventLog(pod["metadata"], self.node,
                          read_json(self.roots.events_file(pod), []) if previous else [])
        old = read_json(self.roots.status_file(pod), {}) if previous else {}
        rec = _Record(pod, status, old.get("version", 0), events)
        self._pods[key] = rec
        self._recompute(key)

    def update_pod(self, pod: dict) -> None:
        """The registry changed the desired pod (deletionTimestamp, image)."""
        self._pods[pod_key(pod)].pod = pod
        self._touch(pod_key(pod))

    def remove_pod(self, key: PodKey) -> None:
        self._pods.pop(key, None)
        self._dirty.discard(key)
        self._notify()

    def has(self, key: PodKey) -> bool:
        return key in self._pods

    def status(self, key: PodKey) -> dict:
        return copy.deepcopy(self._pods[key].status)

    def events(self, key: PodKey) -> list[dict]:
        return copy.deepcopy(self._pods[key].events.events)

    def pod(self, key: PodKey) -> dict:
        return self._pods[key].pod

    def keys(self) -> list[PodKey]:
        return list(self._pods)

    # ---- facts --------------------------------------------------------------------------

    def set_sandbox(self, key: PodKey, ready: bool, pod_ip: str | None = None) -> None:
        rec = self._pods[key]
        rec.sandbox_ready = ready
        st = rec.status
        if ready and "startTime" not in st:
            st["startTime"] = rfc3339(self.clock.now())
        if pod_ip:
            st["podIP"] = pod_ip
            st["podIPs"] = [{"ip": pod_ip}]
        self._recompute(key)

    def container_status(self, key: PodKey, name: str) -> dict:
        for s in self._statuses(key):
            if s["name"] == name:
                return s
        raise KeyError(name)

    def set_container(self, key: PodKey, name: str, **fields) -> None:
        """Update one container's status; `state` changes are checked against the allowed edges."""
        rec = self._pods[key]
        cs = self.container_status(key, name)
        if "state" in fields:
            policy = rec.pod["spec"].get("restartPolicy", "Always")
            if any(c["name"] == name and generate.is_sidecar(c) for c in rec.pod["spec"].get("initContainers", [])):
                policy = "Always"   # status_manager.go checkContainerStateTransition skips sidecars
            check_transition(cs.get("state", {}), fields["state"], policy)
        changed = False
        for k, v in fields.items():
            if cs.get(k) != v:
                cs[k] = v
                changed = True
        if changed:
            self._recompute(key)

    def set_terminal(self, key: PodKey) -> None:
        """The pod worker is done with the pod: Succeeded or Failed from here on."""
        self._pods[key].terminal = True
        self._recompute(key)

    def event(self, key: PodKey, type_: str, reason: str, message: str, container: str | None = None,
              is_init: bool = False) -> None:
        rec = self._pods.get(key)
        if rec is None:
            return
        fp = ""
        if container:
            fp = f"spec.{'initContainers' if is_init else 'containers'}{{{container}}}"
        rec.events.record(self.clock.now(), type_, reason, message, fp)
        self._touch(key)

    # ---- watching -----------------------------------------------------------------------

    def changed(self) -> asyncio.Event:
        """An event set at the next accepted change (take it before reading, then await it)."""
        return self._changed

    def freeze(self) -> None:
        """Daemon shutdown: what is on disk stays as the last running state (reconcile reads it)."""
        self._frozen = True

    # ---- internals ----------------------------------------------------------------------

    def _statuses(self, key: PodKey) -> list[dict]:
        st = self._pods[key].status
        return st.get("initContainerStatuses", []) + st.get("containerStatuses", [])

    def _recompute(self, key: PodKey) -> None:
        rec = self._pods[key]
        st, spec = rec.status, rec.pod["spec"]
        inits, mains = st.get("initContainerStatuses", []), st.get("containerStatuses", [])
        if st.get("phase") not in TERMINAL:
            st["phase"] = generate.pod_phase(spec, inits, mains, pod_is_terminal=rec.terminal)
        st["conditions"] = generate.pod_conditions(
            spec, st["phase"], inits, mains, st.get("conditions", []), rfc3339(self.clock.now()),
            sandbox_ready=rec.sandbox_ready)
        self._touch(key)

    def _touch(self, key: PodKey) -> None:
        rec = self._pods[key]
        rec.version += 1
        self.version += 1
        self._dirty.add(key)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        self._flush_scheduled = False
        for key in list(self._dirty) if not self._frozen else []:
            rec = self._pods.get(key)
            if rec is None:
                continue
            d = self.roots.pod_dir(rec.pod)
            if not os.path.isdir(d):
                continue
            try:
                write_json_atomic(self.roots.status_file(rec.pod), {"version": rec.version, "status": rec.status})
                write_json_atomic(self.roots.events_file(rec.pod), rec.events.events)
            except OSError as exc:  # a pod directory removed under us: nothing to keep
                log.warning("writing status of %s/%s: %s", key[0], key[1], exc)
        self._dirty.clear()
        self._notify()

    def _notify(self) -> None:
        ev, self._changed = self._changed, asyncio.Event()
        ev.set()
