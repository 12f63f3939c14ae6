"""The pause program (pause.c beside this file) and how it is built.

A pod's sandbox process must be tiny (under 1 MiB; an idle python3 costs 6-7 MiB PSS), so it
is C, compiled once per source version: `ensure_pause(bin_dir)` builds
`bin_dir/pause-<sha256[:12] of pause.c>` with `gcc -Os -static` if missing (temp name +
atomic rename, so concurrent callers never see half a binary) and returns its path. A changed
source gets a new name, so a stale binary is never used.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile

from podrun.errors import PodrunError

__all__ = ["SOURCE", "ensure_pause", "PauseBuildError"]

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pause.c")


class PauseBuildError(PodrunError):
    """gcc failed or is missing: the message carries its first lines of output."""


def ensure_pause(bin_dir: str) -> str:
    with open(SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    target = os.path.join(bin_dir, f"pause-{digest}")
    if os.access(target, os.X_OK):
        return target
    os.makedirs(bin_dir, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=bin_dir, prefix=".pause-")
    os.close(fd)
    try:
        try:
            proc = subprocess.run(["gcc", "-Os", "-static", "-s", "-o", tmp, SOURCE],
                                  capture_output=True, text=True)
        except FileNotFoundError as exc:
            raise PauseBuildError("build pause: gcc not found") from exc
        if proc.returncode != 0:
            msg = " ".join((proc.stderr or proc.stdout).strip().splitlines()[:3])
            raise PauseBuildError(f"build pause: gcc exited {proc.returncode}: {msg}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
