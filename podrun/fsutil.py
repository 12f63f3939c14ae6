"""Small file helpers: atomic JSON state files (temp + fsync + rename, as runc saveState)."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from typing import Any

__all__ = ["write_json_atomic", "read_json", "append_jsonl", "read_jsonl", "makedirs", "private_socket_path"]


def makedirs(path: str, mode: int = 0o755) -> str:
    os.makedirs(path, mode=mode, exist_ok=True)
    return path


def write_json_atomic(path: str, data: Any) -> None:
    """Readers never see half a file: write a temp file beside it, fsync, rename over."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, separators=(",", ":")))   # dumps: the C encoder (dump is Python's, 10x slower)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_json(path: str, default: Any = None) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def append_jsonl(path: str, obj: Any) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(obj, separators=(",", ":")) + "\n")


def read_jsonl(path: str) -> list[Any]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


@contextmanager
def private_socket_path(path: str):
    """Around the bind of a unix socket at `path`: a stale socket is removed first, and the
    umask makes the new one 0600 from birth (no window in which others could connect)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    old = os.umask(0o177)
    try:
        yield path
    finally:
        os.umask(old)
