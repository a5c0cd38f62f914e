"""The writer stores a frame's commit word only after its body: at every store into the mapping,
each committed frame verifies. Watched through the writer's ``map_segment`` seam, store by store,
which sees the stores of the Python build of the hot path (oplog/hotframe.py)."""

from __future__ import annotations

import mmap
import zlib
from pathlib import Path

import pytest
from oplog_helpers import new_writer

from neptune_sync.oplog import framing as fr
from neptune_sync.oplog import hotframe
from neptune_sync.wire import ops


class WatchedMap(mmap.mmap):
    """A segment mapping that checks, after every slice store, that each committed frame's body
    is complete (its checksum matches): what a reader sees if the writer dies right then."""

    stores = 0

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        WatchedMap.stores += 1
        if self[:8] == fr.MAGIC:
            data = bytearray(self)
            if len(value) in POINT_SIZES:
                # a point joining the open points frame: part of no frame until the commit word
                # that follows covers it, so every frame must verify as if it were not there yet
                data[key] = bytes(len(value))
            assert_committed_frames_verify(bytes(data))


POINT_SIZES = {fr.POINT_INT_STEP.size, fr.POINT_FLOAT_STEP.size, fr.POINT_MULTI.size}  # op bodies are longer


def assert_committed_frames_verify(data: bytes) -> None:
    header_len = fr.SEGMENT_PREFIX.unpack_from(data, 0)[3]
    offset = fr.align8(fr.SEGMENT_PREFIX.size + header_len)
    while offset + 8 <= len(data):
        length, crc = fr.COMMIT.unpack_from(data, offset)
        if length == 0 and crc == 0:
            return
        body = data[offset + 8 : offset + 8 + length]
        assert zlib.crc32(body) == crc, f"frame at {offset} committed before its body was written"
        offset = fr.align8(offset + 8 + length)


@pytest.mark.skipif(
    hotframe.BUILD != "python",
    reason="the C build stores points through a pointer, unseen here; test_hotframe.py runs this "
    "module with the Python build and checks the C build writes the same bytes",
)
def test_no_instant_shows_a_committed_frame_without_its_body(tmp_path: Path):
    WatchedMap.stores = 0
    writer = new_writer(tmp_path / "segments", segment_size=64 << 10, map_segment=WatchedMap)
    for i in range(300):  # one series: the single-series hot path
        writer.append_float("loss", i, i / 3, 1.7e9 + i)
    for i in range(300, 600):
        if i % 7 == 0:
            writer.append(ops.AssignString(f"params/p{i}", "x" * i))
        writer.append_float("loss", i, i / 3, 1.7e9 + i)  # a growing points frame
        if i % 5 == 0:
            writer.append_float("acc", i, 0.5, 1.7e9 + i)  # series interleave: multi-series frames
        if i % 11 == 0:
            writer.append_float("lr", i + 0.5, 0.1, 1.7e9 + i)  # a float step: its own frame kind
    writer.close()
    assert WatchedMap.stores > 800  # every frame and every point was watched
