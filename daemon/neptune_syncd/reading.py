"""Reading one writer's log into batches, in a worker thread, one batch ahead of the sender.

File reads and decoding are blocking CPU work; they run in a thread (:func:`read_ahead`) while
the event loop waits for the store, so reading the next batch overlaps sending the last one.

Damage in a segment whose writer is alive is never skipped: a frame being rewritten in place
(a growing points frame) can read as torn. Reading stops before it and tries again next pass;
once the writer is gone, real damage is reported and skipped as far as it goes. Records that no
segment holds (a deleted segment, a cut or zeroed end) are reported with their sequence numbers;
the records after them are delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from neptune_sync.exceptions import CorruptRecordError, SegmentHeaderError, UnknownOperationError
from neptune_sync.oplog.reader import DamageHandler, SegmentReader, SequenceCheck
from neptune_sync.wire.ops import Entry

from .batching import Batch, BatchPolicy, trim


@dataclass
class Chunk:
    """A batch read from the log, where its last entry's frame is, and what was seen so far.

    The last chunk of a pass has ``at_end`` set; it holds the (maybe empty) partial batch, whether
    the writer is alive, and why reading stopped early (``error``) or failed (``failure``).
    """

    batch: Batch
    position: tuple[str, int]
    seen_seq: int
    at_end: bool = False
    alive: bool = False
    error: str = ""
    failure: Exception | None = None


class _HoldBack(Exception):
    """Damage met in a live writer's segment: stop this pass before it."""


def _open(path: Path, on_damage: DamageHandler) -> SegmentReader | None:
    """A reader for the segment, or None (reported as damage) if its header is unreadable."""
    try:
        return SegmentReader(path)
    except SegmentHeaderError as exc:
        on_damage(CorruptRecordError(str(path), 0, str(exc)))
        return None


def read_batches(
    paths: list[Path], resume: tuple[str, int], acked: int, policy: BatchPolicy, on_damage: DamageHandler
) -> Iterator[Chunk]:
    """Batches of the entries above ``acked``, from ``resume`` (segment name, frame offset) on."""
    batch, position, seen, alive = Batch(policy), resume, 0, False
    check = SequenceCheck(on_damage, acked)
    for path in paths:
        try:  # an unknown op, frame kind or format version (a newer writer) stops this writer here
            reader = _open(path, on_damage)
            if reader is None:
                check.unreadable(path)
                continue
            with reader:
                alive = reader.writer_alive()
                offset = resume[1] if path.name == resume[0] else None
                damage = _hold_back if alive else on_damage
                check.begin(path, reader.header)
                for frame_offset, raw in reader.entries(offset, on_damage=damage, live=alive):
                    seen = max(seen, raw.last_seq)
                    entry = trim(raw, acked)
                    if entry is None:
                        continue
                    batch.add(entry)
                    position = (path.name, frame_offset)
                    if batch.full():
                        yield Chunk(batch, position, seen)
                        batch = Batch(policy)
                check.end(reader)
        except UnknownOperationError as exc:
            yield Chunk(batch, position, seen, at_end=True, alive=alive, error=str(exc))
            return
        except _HoldBack:
            yield Chunk(batch, position, seen, at_end=True, alive=True)
            return
    check.finish()
    yield Chunk(batch, position, seen, at_end=True, alive=alive)


def _hold_back(err: CorruptRecordError) -> None:
    raise _HoldBack(str(err))


async def read_ahead(chunks: Iterator[Chunk], send: MemoryObjectSendStream[Chunk], empty: Chunk) -> None:
    """Feed chunks read in a worker thread into ``send``; a read failure ends the stream as a chunk."""
    async with send:
        try:
            while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
                await send.send(chunk)
        except Exception as exc:  # handed to the consumer, which raises it outside the task group
            empty.failure = exc
            await send.send(empty)


def read_range(
    paths: list[Path], resume: tuple[str, int], lo: int, hi: int, on_damage: DamageHandler
) -> list[Entry]:
    """The entries with sequence numbers in ``lo < seq <= hi`` (from ``resume`` on)."""
    found: list[Entry] = []
    for path in paths:
        try:
            reader = _open(path, on_damage)
            if reader is None:
                continue
            with reader:
                offset = resume[1] if path.name == resume[0] else None
                for _, raw in reader.entries(offset, on_damage=on_damage, live=reader.writer_alive()):
                    if raw.seq > hi:
                        return found
                    entry = trim(raw, lo)
                    if entry is not None:
                        found.append(entry)
        except UnknownOperationError:
            return found  # the pass that follows reports it and stops the writer there
    return found
