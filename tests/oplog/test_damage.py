"""Damage real segment files and reopen them: exactly which records survive, and what is reported.

A finished segment is written by a real writer (closed, so trimmed), then truncated, bit-flipped or
has a commit word zeroed; the expectation is computed from the intact file's frame offsets.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oplog_helpers import assert_same_records, new_writer, read_segment, records_of
from oplog_strategies import calls, segment_of, write_calls

from neptune_sync.exceptions import SegmentHeaderError, UnknownOperationError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.reader import SegmentReader

SETTINGS = settings(
    max_examples=60, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)


class Segment:
    """A finished one-segment log in a temporary directory, with its intact frames."""

    def __init__(self, calls_: list[tuple]) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="oplog-damage-"))
        writer = new_writer(self.tmp / "segments", segment_size=1 << 20)
        model = write_calls(writer, calls_)
        writer.close()
        self.path = segment_of(self.tmp / "segments")
        self.data = self.path.read_bytes()
        found, damage = read_segment(self.path)
        assert damage == []
        # one frame may hold several entries (a multi-series points frame): group them by offset
        self.frames: dict[int, list[fr.Entry]] = {}
        for offset, entry in found:
            self.frames.setdefault(offset, []).append(entry)
        self.offsets = list(self.frames)
        self.entries = [entry for _, entry in found]
        assert_same_records(records_of(self.entries), model)  # the intact file is the baseline
        self.body_ends = [o + 8 + fr.COMMIT.unpack_from(self.data, o)[0] for o in self.offsets]
        self.end_frame = fr.align8(self.body_ends[-1])  # the segment's end frame follows its last frame
        assert len(self.data) == self.end_frame + fr.END_FRAME_SIZE
        with SegmentReader(self.path) as reader:
            self.data_start = reader.data_start

    def frame_at(self, pos: int) -> int:
        """Index of the frame whose span (commit word, body, padding) holds byte ``pos``."""
        return max(i for i, offset in enumerate(self.offsets) if offset <= pos)

    def damaged_copy(self, data: bytes) -> Path:
        path = self.tmp / "damaged.seg"
        path.write_bytes(data)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp)


@pytest.fixture
def segment_maker():
    made: list[Segment] = []

    def make(calls_: list[tuple]) -> Segment:
        made.append(Segment(calls_))
        return made[-1]

    yield make
    for segment in made:
        segment.cleanup()


def without(seg: Segment, index: int) -> list:
    """The records of the segment without those of frame ``index``."""
    lost = seg.offsets[index]
    return records_of([e for offset, frame in seg.frames.items() if offset != lost for e in frame])


@SETTINGS
@given(calls=calls, cuts=st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_any_truncation_reads_exactly_the_frames_before_the_cut(calls, cuts):
    seg = Segment(calls)
    try:
        for fraction in cuts:
            cut = seg.data_start + round(fraction * (len(seg.data) - seg.data_start))
            path = seg.damaged_copy(seg.data[:cut])
            with SegmentReader(path) as reader:  # the default on_damage raises
                got = [entry for _, entry in reader.entries()]
            frames = zip(seg.frames.values(), seg.body_ends, strict=True)
            whole = [e for frame, end in frames if end <= cut for e in frame]
            assert got == whole, f"cut at {cut} of {len(seg.data)}"
    finally:
        seg.cleanup()


def test_truncation_inside_the_header_is_a_header_error(segment_maker):
    seg = segment_maker([("point", "a", 1, 1.0, 0.0)])
    for cut in (0, 7, fr.SEGMENT_PREFIX.size, seg.data_start - 1):
        with pytest.raises(SegmentHeaderError):
            SegmentReader(seg.damaged_copy(seg.data[:cut]))


@SETTINGS
@given(calls=calls, where=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
def test_a_flipped_byte_loses_only_its_frame_and_is_reported_there(calls, where, mask):
    seg = Segment(calls)
    try:
        pos = seg.data_start + int(where * (len(seg.data) - seg.data_start))
        damaged = bytearray(seg.data)
        damaged[pos] ^= mask
        got, damage = read_segment(seg.damaged_copy(bytes(damaged)))
        k = seg.frame_at(pos)
        if pos >= seg.end_frame:  # no record lost; the end frame is reported damaged, or missing
            assert records_of([e for _, e in got]) == records_of(seg.entries)
            with SegmentReader(seg.damaged_copy(bytes(damaged))) as reader:
                list(reader.entries(on_damage=lambda err: None))
                assert [d.offset for d in damage] == [seg.end_frame] or reader.cut_short()
            return
        if pos >= seg.body_ends[k]:  # alignment padding: not covered by the checksum, not data
            assert (records_of([e for _, e in got]), damage) == (records_of(seg.entries), [])
            return
        assert records_of([e for _, e in got]) == without(seg, k)
        assert [d.offset for d in damage] in ([seg.offsets[k]], [])
        last_frame_length = k == len(seg.offsets) - 1 and pos < seg.offsets[k] + 4
        # A last frame whose length changed looks exactly like a frame torn by a kill or a cut
        # (docs/oplog-format.md): it may end the segment quietly. Any other damage is reported.
        assert damage or last_frame_length, f"flip at {pos} (frame {k} at {seg.offsets[k]}) not reported"
    finally:
        seg.cleanup()


@SETTINGS
@given(calls=calls, which=st.floats(0, 1, exclude_max=True))
def test_a_zeroed_commit_word_loses_only_its_frame(calls, which):
    seg = Segment(calls)
    try:
        k = int(which * len(seg.offsets))
        damaged = bytearray(seg.data)
        damaged[seg.offsets[k] : seg.offsets[k] + 8] = bytes(8)
        got, damage = read_segment(seg.damaged_copy(bytes(damaged)))
        assert records_of([e for _, e in got]) == without(seg, k)
        if k < len(seg.offsets) - 1 or damaged[-8:] != bytes(8):
            assert [d.offset for d in damage] == [seg.offsets[k]]
        else:  # the file ends in zeros: indistinguishable from a frame whose commit a kill prevented
            assert damage == []
    finally:
        seg.cleanup()


HEADER_DONT_CARE = {10, 11, 20, 21, 22, 23}  # reserved fields of the segment prefix


@SETTINGS
@given(calls=calls, where=st.floats(0, 1, exclude_max=True), mask=st.integers(1, 255))
def test_a_flipped_header_byte_is_a_header_error(calls, where, mask):
    seg = Segment(calls)
    try:
        pos = int(where * seg.data_start)
        damaged = bytearray(seg.data)
        damaged[pos] ^= mask
        path = seg.damaged_copy(bytes(damaged))
        header_len = int.from_bytes(seg.data[12:16], "little")
        if pos in HEADER_DONT_CARE or pos >= fr.SEGMENT_PREFIX.size + header_len:
            assert records_of([e for _, e in read_segment(path)[0]]) == records_of(seg.entries)
        elif pos in (8, 9):  # the format version: read as a newer format, which stops loudly
            with pytest.raises(UnknownOperationError, match="format version"):
                SegmentReader(path)
        else:
            with pytest.raises(SegmentHeaderError):
                SegmentReader(path)
    finally:
        seg.cleanup()
