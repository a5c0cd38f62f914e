"""Segment header and frame layout of the operation log (docs/oplog-format.md, format version 2).

A segment file::

    0   magic  b"NSYNCLOG"
    8   u16 format version, u16 reserved, u32 header body length
    16  u32 crc32 of header body, u32 reserved
    24  header body: msgpack SegmentHeader
    ..  zero padding to a multiple of 8, then frames

A frame starts at a multiple of 8::

    0   commit word: u32 body length, u32 crc32(body)     (one aligned 8-byte store)
    8   body: prelude (24 bytes) + payload
        prelude = u8 kind, 3 pad, u32 reserved, u64 first sequence number, f64 base timestamp

Invariants the writer keeps and the reader relies on:
- The body is written before the commit word, and the commit word is one 8-byte store, so a
  process killed at any instant leaves either the old commit word or the new one: never a torn one.
- A zero commit word means "nothing here yet": segments are preallocated with zeros.
- A points frame (kinds 2 and 3) may grow in place: the writer appends a point after the body,
  then stores a new commit word (longer length, crc extended over the new bytes). Readers that
  saw a shorter version of the frame see a prefix of its points.
- Sequence numbers are per writer, strictly increasing by one for each operation or point.
- A finished segment (format 2) ends with an end frame (kind 5) whose sequence number is the
  first one of the writer's next segment, so a reader tells a cut or a missing segment from the
  end of the log. Format 1 segments (no end frame) are still read.
"""

from __future__ import annotations

import struct
import zlib

import msgspec

from ..wire.ops import Entry, FloatPoint, LogFloats, decode_op

MAGIC = b"NSYNCLOG"
FORMAT_VERSION = 2  # what the writer writes
READABLE_VERSIONS = frozenset({1, 2})  # 1: the same, without end frames and the header's size

SEGMENT_PREFIX = struct.Struct("<8sHHIII")  # magic, version, reserved, header len, header crc, reserved
COMMIT = struct.Struct("<II")  # body length, crc32(body)
PRELUDE = struct.Struct("<BxxxIQd")  # kind, reserved, first seq, base ts
PATH_LEN = struct.Struct("<H")

KIND_OP = 1  # payload: one msgpack-encoded Op
KIND_FLOATS_INT_STEP = 2  # payload: u16 path length, path, then POINT_INT_STEP points
KIND_FLOATS_FLOAT_STEP = 3  # payload: u16 path length, path, then POINT_FLOAT_STEP points
KIND_FLOATS_MULTI = 4  # payload: u16 path count, (u16 length, path) each, then POINT_MULTI points
KIND_END = 5  # no payload; its sequence number is the first of the writer's next segment
END_CONTINUES = 1  # an end frame's flag: the writer went on in its next segment (it closed otherwise)
KNOWN_KINDS = frozenset({KIND_OP, KIND_FLOATS_INT_STEP, KIND_FLOATS_FLOAT_STEP, KIND_FLOATS_MULTI, KIND_END})
END_FRAME_SIZE = 8 + 24  # commit word + prelude
# Room every segment keeps at its end: its end frame, and 8 bytes more, so that a finished (trimmed)
# segment is always shorter than its preallocation and a file still at that size was never finished.
END_RESERVE = END_FRAME_SIZE + 8

# Points: step, µs since the frame's base timestamp, value.
POINT_INT_STEP = struct.Struct("<IId")  # step u32, offset u32, value f64
POINT_FLOAT_STEP = struct.Struct("<dId")  # step f64, offset u32, value f64
POINT_MULTI = struct.Struct("<HIId")  # index into the frame's path table u16, step, offset, value
POINT_STRUCTS = {KIND_FLOATS_INT_STEP: POINT_INT_STEP, KIND_FLOATS_FLOAT_STEP: POINT_FLOAT_STEP}

MAX_TS_OFFSET_US = 0xFFFFFFFF  # a points frame spans at most ~71 minutes of timestamps
MAX_INT_STEP = 0xFFFFFFFF
MAX_BODY = 64 << 20  # a frame larger than this is damage, not data


class SegmentHeader(msgspec.Struct, frozen=True):
    """What a segment file says about itself: whose log it is and where it starts."""

    project: str
    run_key: str  # the run directory's name: stable identity of the run on this machine
    writer_id: str  # unique per writing process (and per fork)
    index: int  # segment number within this writer, from 0
    first_seq: int  # sequence number of the first record in this segment
    created: float
    pid: int
    hostname: str
    run_id: str = ""
    custom_run_id: str = ""
    size: int = 0  # bytes preallocated for the segment (0: it grows as written, or format 1)
    # A resumed writer's causal floor: its records' order times start above every record of the log
    # it resumed from (docs/sync-protocol.md, "Clocks"). None: no floor.
    after: float | None = None


_header_encoder = msgspec.msgpack.Encoder()
_header_decoder = msgspec.msgpack.Decoder(SegmentHeader)


class UnsupportedVersion(ValueError):
    """A segment in a format version this code does not read (written by a newer version)."""


def align8(n: int) -> int:
    return (n + 7) & ~7


def encode_segment_header(header: SegmentHeader) -> bytes:
    """The bytes that open a segment, padded so the first frame starts at a multiple of 8."""
    body = _header_encoder.encode(header)
    prefix = SEGMENT_PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(body), zlib.crc32(body), 0)
    raw = prefix + body
    return raw + b"\0" * (align8(len(raw)) - len(raw))


def decode_segment_header(data: bytes | memoryview) -> tuple[SegmentHeader, int]:
    """Parse a segment header; returns it and the offset of the first frame. Raises ValueError
    (UnsupportedVersion for a format version this code does not read)."""
    if len(data) < SEGMENT_PREFIX.size:
        raise ValueError("file too short for a segment header")
    magic, version, _, length, crc, _ = SEGMENT_PREFIX.unpack_from(data, 0)
    if magic != MAGIC:
        raise ValueError(f"not a neptune-sync segment (magic {bytes(magic)!r})")
    if version not in READABLE_VERSIONS:
        raise UnsupportedVersion(
            f"segment format version {version}; this neptune-sync reads versions "
            f"{', '.join(map(str, sorted(READABLE_VERSIONS)))}"
        )
    end = SEGMENT_PREFIX.size + length
    body = bytes(data[SEGMENT_PREFIX.size : end])
    if len(data) < align8(end):
        raise ValueError("file too short for its segment header")
    if len(body) != length or zlib.crc32(body) != crc:
        raise ValueError("segment header damaged (checksum mismatch)")
    try:
        header = _header_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(f"segment header undecodable: {exc}") from None
    return header, align8(end)


def segment_version(data: bytes | memoryview) -> int:
    """The format version of a segment whose header :func:`decode_segment_header` accepted."""
    return SEGMENT_PREFIX.unpack_from(data, 0)[1]


def segment_name(writer_id: str, index: int) -> str:
    """A segment's file name: the writer's id and the segment's index within that writer."""
    return f"{writer_id}-{index:06d}.seg"


def parse_segment_name(name: str) -> tuple[str, int] | None:
    """(writer id, index) of a file named by :func:`segment_name`; None for any other name."""
    stem, dot, ext = name.rpartition(".")
    writer_id, dash, index = stem.rpartition("-")
    if not (dot and ext == "seg" and dash and writer_id and index.isascii() and index.isdigit()):
        return None
    return writer_id, int(index)


def encode_end_body(next_seq: int, ts: float, continues: bool) -> bytes:
    """The body of a segment's end frame: the first sequence number of the next segment, and in the
    prelude's reserved word whether the writer continues in a next segment (END_CONTINUES)."""
    return PRELUDE.pack(KIND_END, END_CONTINUES if continues else 0, next_seq, ts)


def encode_op_body(seq: int, ts: float, op_bytes: bytes) -> bytes:
    return PRELUDE.pack(KIND_OP, 0, seq, ts) + op_bytes


def encode_points_prelude(kind: int, seq: int, base_ts: float, path: bytes) -> bytes:
    return PRELUDE.pack(kind, 0, seq, base_ts) + PATH_LEN.pack(len(path)) + path


def encode_multi_prelude(seq: int, base_ts: float, paths: list[bytes]) -> bytes:
    table = b"".join(PATH_LEN.pack(len(p)) + p for p in paths)
    return PRELUDE.pack(KIND_FLOATS_MULTI, 0, seq, base_ts) + PATH_LEN.pack(len(paths)) + table


def decode_body(body: bytes | memoryview) -> list[Entry]:
    """Turn a verified frame body into its entries, in sequence order.

    One entry for an op frame or a single-series points frame; for a multi-series points frame,
    one LogFloats entry per run of consecutive points of the same series. Raises ValueError /
    msgspec errors on bad content.
    """
    kind, _, seq, ts = PRELUDE.unpack_from(body, 0)
    if kind == KIND_OP:
        return [Entry(seq, ts, decode_op(body[PRELUDE.size :]))]
    if kind == KIND_FLOATS_MULTI:
        return _decode_multi(body, seq, ts)
    point = POINT_STRUCTS.get(kind)
    if point is None:
        raise ValueError(f"unknown frame kind {kind}")
    (plen,) = PATH_LEN.unpack_from(body, PRELUDE.size)
    start = PRELUDE.size + PATH_LEN.size + plen
    path = bytes(body[PRELUDE.size + PATH_LEN.size : start]).decode("utf-8")
    _check_points(body, start, point)
    points = tuple(
        FloatPoint(step, value, ts + off / 1e6) for step, off, value in point.iter_unpack(body[start:])
    )
    return [Entry(seq, ts, LogFloats(path, points))]


def _check_points(body: bytes | memoryview, start: int, point: struct.Struct) -> None:
    if len(body) <= start or (len(body) - start) % point.size:
        raise ValueError("points frame does not hold a whole number of points, at least one")


def _decode_multi(body: bytes | memoryview, seq: int, ts: float) -> list[Entry]:
    pos = PRELUDE.size
    (count,) = PATH_LEN.unpack_from(body, pos)
    pos += PATH_LEN.size
    paths = []
    for _ in range(count):
        (plen,) = PATH_LEN.unpack_from(body, pos)
        paths.append(bytes(body[pos + PATH_LEN.size : pos + PATH_LEN.size + plen]).decode("utf-8"))
        pos += PATH_LEN.size + plen
    _check_points(body, pos, POINT_MULTI)
    entries: list[Entry] = []
    run: list[FloatPoint] = []
    run_index = -1
    for index, step, off, value in POINT_MULTI.iter_unpack(body[pos:]):
        if index != run_index:
            if run:
                entries.append(Entry(seq, run[0].ts, LogFloats(paths[run_index], tuple(run))))
                seq += len(run)
            if index >= count:
                raise ValueError(f"point refers to path {index} of a table of {count}")
            run, run_index = [], index
        run.append(FloatPoint(step, value, ts + off / 1e6))
    entries.append(Entry(seq, run[0].ts, LogFloats(paths[run_index], tuple(run))))
    return entries
