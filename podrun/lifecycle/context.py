"""What every PodWorker shares on one node: roots, the status writer, the clock, images."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from podrun.clock import Clock
from podrun.lifecycle.restart import Backoff
from podrun.paths import Roots
from podrun.images.store import ImageStore
from podrun.status.manager import StatusManager

if TYPE_CHECKING:
    from podrun.runtime.podcgroups import PodCgroups
    from podrun.runtime.podnet import PodNetwork

__all__ = ["NodeContext"]


@dataclass
class NodeContext:
    roots: Roots
    status: StatusManager
    clock: Clock
    images: ImageStore
    pause_binary: str
    node_name: str
    host_ip: str
    network: "PodNetwork | None" = None
    cgroups: "PodCgroups | None" = None          # None: no usable hierarchy, no limits
    backoff: Backoff = field(init=False)
    image_backoff: Backoff = field(init=False)

    def __post_init__(self) -> None:
        self.backoff = Backoff(self.clock)
        self.image_backoff = Backoff(self.clock)
