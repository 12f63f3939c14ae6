"""The attach channel's frames (runtime/attach.py): type, big-endian length, payload."""
from __future__ import annotations

import asyncio

from podrun.runtime.attach import CLOSE, RESIZE, STDIN, frame, read_frame


def _read_all(data: bytes) -> list:
    async def main():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        out = []
        while (f := await read_frame(reader)) is not None:
            out.append(f)
        return out
    return asyncio.run(main())


def test_frames_round_trip_in_order():
    data = frame(STDIN, b"ls\n") + frame(RESIZE, b"40 100") + frame(CLOSE)
    assert data[:5] == b"\x00\x00\x00\x00\x03"
    assert _read_all(data) == [(STDIN, b"ls\n"), (RESIZE, b"40 100"), (CLOSE, b"")]


def test_a_cut_or_oversized_frame_ends_the_stream():
    assert _read_all(frame(STDIN, b"abc")[:-1]) == []
    assert _read_all(b"\x00\xff\xff\xff\xff") == []
