"""A pod's QoS class: Guaranteed, Burstable or BestEffort.

pkg/apis/core/helper/qos/qos.go GetPodQOS: only cpu and memory count; a quantity counts when it
is above zero. Guaranteed needs a cpu and a memory limit on every container (init ones too)
and requests equal to the limits; no request and no limit anywhere is BestEffort; anything
else is Burstable. Requests left unset count as the limits, as API defaulting sets them
before anyone reads the pod. The status writer, the pod cgroups and `describe` all use this.
"""
from __future__ import annotations

from decimal import Decimal

from podrun.api.quantity import parse_quantity

__all__ = ["GUARANTEED", "BURSTABLE", "BEST_EFFORT", "qos_class"]

GUARANTEED, BURSTABLE, BEST_EFFORT = "Guaranteed", "Burstable", "BestEffort"
_QOS_RESOURCES = ("cpu", "memory")      # supportedQoSComputeResources


def qos_class(spec: dict) -> str:
    """GetPodQOS of a v1 PodSpec dict."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        res = c.get("resources") or {}
        c_limits = res.get("limits") or {}
        c_requests = {**c_limits, **(res.get("requests") or {})}
        for name, q in c_requests.items():
            if name in _QOS_RESOURCES and parse_quantity(q) > 0:
                requests[name] = requests.get(name, Decimal(0)) + parse_quantity(q)
        found = set()
        for name, q in c_limits.items():
            if name in _QOS_RESOURCES and parse_quantity(q) > 0:
                found.add(name)
                limits[name] = limits.get(name, Decimal(0)) + parse_quantity(q)
        if not found.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and all(limits.get(name) == q for name, q in requests.items()) and len(requests) == len(limits):
        return GUARANTEED
    return BURSTABLE
