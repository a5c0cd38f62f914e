"""An independent reading of the segment format (docs/oplog-format.md) and the damage the suite does
to segment copies. Imports nothing of neptune_sync: it decodes what the documentation specifies,
so that which records a damage touched is known without asking the code under test.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

MAGIC = b"NSYNCLOG"
SERIES_TAGS = ("lf", "ls", "lfi")
END_KIND = 5


def align8(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class Frame:
    offset: int
    end: int  # one past its last byte
    seq: int
    keys: tuple  # ("pt", path, step) per series point, ("op", tag, path) per other operation


def data_start(data: bytes) -> int:
    assert data[:8] == MAGIC, "not a segment"
    (length,) = struct.unpack_from("<I", data, 12)
    return align8(24 + length)


def frames(data: bytes) -> list[Frame]:
    """Every committed frame of an undamaged segment, in order."""
    out, offset = [], data_start(data)
    while offset + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, offset)
        body = data[offset + 8 : offset + 8 + length]
        if length == 0 or len(body) < length or zlib.crc32(body) != crc:
            break  # preallocated zeros, or the torn tail of a killed writer
        seq = struct.unpack_from("<Q", body, 8)[0]
        if body[0] == END_KIND:  # format 2: closes a finished segment, holds no record
            break
        out.append(Frame(offset, offset + 8 + length, seq, tuple(_keys(body[0], body[24:]))))
        offset = align8(offset + 8 + length)
    return out


def _keys(kind: int, payload: bytes):
    if kind == 1:
        op = msgspec.msgpack.decode(payload)
        if op[0] in SERIES_TAGS:
            yield from (("pt", op[1], float(point[0])) for point in op[2])
        else:
            yield ("op", op[0], op[1])
        return
    if kind in (2, 3):
        (n,) = struct.unpack_from("<H", payload)
        path, at = payload[2 : 2 + n].decode(), 2 + n
        size, step_fmt = (16, "<I") if kind == 2 else (20, "<d")
        for p in range(at, len(payload) - size + 1, size):
            yield ("pt", path, float(struct.unpack_from(step_fmt, payload, p)[0]))
        return
    assert kind == 4, f"unknown frame kind {kind}"
    (count,) = struct.unpack_from("<H", payload)
    paths, at = [], 2
    for _ in range(count):
        (n,) = struct.unpack_from("<H", payload, at)
        paths.append(payload[at + 2 : at + 2 + n].decode())
        at += 2 + n
    for p in range(at, len(payload) - 18 + 1, 18):
        index, step = struct.unpack_from("<HI", payload, p)
        yield ("pt", paths[index], float(step))


@dataclass
class Damage:
    kind: str  # bitflip, truncate, zero, zero-tail, delete
    segment: Path
    ranges: list[tuple[int, int]]  # damaged byte ranges [start, end)

    def touches(self, frame: Frame, header_end: int) -> bool:
        if self.kind == "delete" or any(a < header_end for a, _ in self.ranges):
            return True  # a segment without its header is unreadable as a whole
        return any(a < frame.end and frame.offset < b for a, b in self.ranges)


KINDS = ("bitflip", "truncate", "zero", "zero-tail", "delete")


def damage(segment: Path, kind: str, rng: random.Random) -> Damage:
    """Damage ``segment`` in place."""
    data = bytearray(segment.read_bytes())
    size = len(data)
    if kind == "delete":
        segment.unlink()
        return Damage(kind, segment, [(0, size)])
    if kind == "bitflip":
        ranges = []
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(size)
            data[at] ^= 1 << rng.randrange(8)
            ranges.append((at, at + 1))
    elif kind == "truncate":
        at = rng.randrange(size)
        del data[at:]
        ranges = [(at, size)]
    else:
        length = rng.randint(1, min(size, 4096))
        start = size - length if kind == "zero-tail" else rng.randrange(size - length + 1)
        data[start : start + length] = bytes(length)
        ranges = [(start, start + length)]
    segment.write_bytes(bytes(data))
    return Damage(kind, segment, ranges)
