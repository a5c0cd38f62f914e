"""Frames that verify (their checksum matches) but hold arbitrary bytes: the reader decodes them,
reports them as damage, or stops with UnknownOperationError; it never raises anything else and
never loses the valid frames around them."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from oplog_helpers import read_segment

from neptune_sync.exceptions import UnknownOperationError
from neptune_sync.oplog import framing as fr
from neptune_sync.wire import ops

bodies = st.builds(
    lambda kind, seq, rest: fr.PRELUDE.pack(kind, 0, seq, 1e9) + rest,
    st.sampled_from(sorted(fr.KNOWN_KINDS)),
    st.just(2),
    st.binary(max_size=80),
)


def _frame(body: bytes) -> bytes:
    raw = fr.COMMIT.pack(len(body), zlib.crc32(body)) + body
    return raw + bytes(fr.align8(len(raw)) - len(raw))


def _op_frame(seq: int) -> bytes:
    return _frame(fr.encode_op_body(seq, 1e9, ops.encode_op(ops.AssignInt("n", seq))))


@settings(max_examples=300, deadline=None, print_blob=True)
@given(body=bodies)
def test_a_verified_frame_with_arbitrary_content_is_decoded_or_reported(tmp_path_factory, body):
    header = fr.SegmentHeader("p", "k", "w", 0, 1, 0.0, 1, "h")
    path = tmp_path_factory.mktemp("fuzz") / "w-000000.seg"
    start = fr.encode_segment_header(header)
    path.write_bytes(start + _op_frame(1) + _frame(body) + _op_frame(3))
    try:
        found, damage = read_segment(path)
    except UnknownOperationError:
        return
    assert found[0][1].op == ops.AssignInt("n", 1)
    if body[:1] == bytes([fr.KIND_END]) and len(body) == fr.PRELUDE.size and fr.PRELUDE.unpack(body)[2] > 1:
        assert len(found) == 1 and damage == []  # a segment's end frame: nothing after it is read
        return
    middle = [entry for _, entry in found if entry.seq == 2]
    if middle:
        claimed = middle[0].last_seq
        if isinstance(middle[0].op, ops.LogFloats):  # a points frame always holds a point
            assert middle[0].op.points, middle[0]
    else:
        assert damage[0].offset == len(start) + len(_op_frame(1))
        claimed = 2
    if claimed < 3:
        assert found[-1][1].op == ops.AssignInt("n", 3)
    else:  # it decoded as a series taking seq 3 and more: the op after it does not follow
        assert found[-1][1].seq == 2 and len(damage) == 1
