"""`podrun images`: the local image store as `docker images` prints it.

One row per tag (an untagged image: one <none> row), newest image first; CREATED in go-units'
HumanDuration ("2 minutes ago"), SIZE in go-units' HumanSizeWithPrecision(size, 3).
"""
from __future__ import annotations

from typing import Callable

from podrun.images.reference import familiar, split_tag
from podrun.images.store import Image
from podrun.printers.duration import docker_human_duration, timestamp

__all__ = ["IMAGE_COLUMNS", "human_size", "image_rows", "images_table", "image_ids"]

IMAGE_COLUMNS = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]


def human_size(size: float) -> str:
    """Docker's go-units HumanSizeWithPrecision(size, 3): decimal units, "4.86MB", "800kB"."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.3g}{units[i]}"


def _created(created: str, now: float) -> str:
    try:
        ts = timestamp(created)
    except ValueError:
        ts = None
    if ts is None:
        return "<unknown>"
    return docker_human_duration(max(0.0, now - ts)) + " ago"


def image_rows(images: list[Image], now: float, no_trunc: bool = False,
               match: Callable[[str], bool] | None = None) -> list[list[str]]:
    """One row per tag (an untagged image: one <none> row), newest image first, like docker."""
    rows: list[tuple[str, list[str]]] = []
    for img in images:
        shown_id = img.id if no_trunc else img.short_id
        tail = [shown_id, _created(img.created, now), human_size(img.size)]
        tags = [t for t in img.tags if match is None or match(t)]
        if match is None and not tags:
            tags = [""]
        for tag in tags:
            repo, name = split_tag(tag) if tag else ("<none>", "<none>")
            rows.append((img.created, [familiar(repo), name, *tail]))
    rows.sort(key=lambda r: (r[1][0], r[1][1]))
    rows.sort(key=lambda r: r[0], reverse=True)
    return [r for _, r in rows]


def images_table(rows: list[list[str]]) -> str:
    """docker's table: columns three spaces apart, the last one unpadded."""
    table = [IMAGE_COLUMNS, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(IMAGE_COLUMNS))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "   " + r[-1] for r in table]
    return "\n".join(line.rstrip() for line in lines)


def image_ids(rows: list[list[str]]) -> list[str]:
    """`docker images -q`: each shown ID once, in row order."""
    return list(dict.fromkeys(r[2] for r in rows))
