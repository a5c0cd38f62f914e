"""Debug mode's stand-ins for the op-log writer and the blob store: memory only, nothing on disk."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import BinaryIO

from .state import FieldTree
from .wire.ops import FloatPoint, LogFloats, Op, op_point_count


class DebugWriter:
    """Applies every operation to a value-keeping FieldTree instead of writing it."""

    durability = "memory"
    writer_id = "memory"

    def __init__(self) -> None:
        self.tree = FieldTree(keep_values=True)
        self.last_seq = 0
        self.closed = False

    def append(self, op: Op, ts: float | None = None) -> int:
        self.tree.apply(op)
        self.last_seq += op_point_count(op)
        return self.last_seq

    def append_float(self, path: str, step: float, value: float, ts: float) -> int:
        return self.append(LogFloats(path, (FloatPoint(float(step), value, ts),)))

    def flush(self) -> None:
        pass

    def fsync(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class DebugBlobs:
    """Blob contents by sha256, held in memory."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        self._blobs[sha] = data
        return sha, len(data)

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        return self.put_bytes(b"".join(chunks))

    def put_file(self, path: str) -> tuple[str, int]:
        with open(path, "rb") as f:
            return self.put_bytes(f.read())

    def open(self, sha256: str) -> BinaryIO:
        return io.BytesIO(self._blobs[sha256])
