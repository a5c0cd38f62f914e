"""Writing one import into a run directory, so that re-running it changes nothing.

Layout it adds to a run directory (next to ``segments/`` and ``blobs/``)::

    import/<writer_id>.json          record: which source range this writer holds
    import/<writer_id>.kept.jsonl    source records that could not be converted, with reasons
    import/.staging-<writer_id>/     segments being written (invisible to the daemon)
    import/.lock                     held (flock) by the import running in this run

Idempotency, in three layers:
1. The run key is derived from (project, source container id), so a re-import finds the run.
2. Each import covers a range of source versions; ranges already recorded are skipped. Its
   writer id is a digest of (run key, source, first version) and of everything it writes, so the
   same import always produces the same writer id, sequence numbers and operations, and an
   import that came out differently (a file restored since) gets a writer id of its own.
3. Commit order: close the staged segments, write the record, then rename the segments into
   ``segments/`` in index order. A crash before the record leaves only the staging directory
   (thrown away and redone); a crash after it is finished by :func:`finish_pending` on the next
   run. Even if the local record were lost, the store's per-writer sequence dedup would drop a
   replay of the same writer id.
A second import of the same run waits for the lock, then finds the first one's records.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..oplog import layout
from ..oplog.blobs import RunBlobs
from ..oplog.writer import OpLogWriter
from ..wire.ops import AssignString, LogFloats, Op, decode_op, encode_op
from .report import SourceReport

IMPORT_DIR = "import"
_SPOOLED = struct.Struct("<Id")  # operation length, its timestamp; then the msgpack operation


@dataclass(frozen=True)
class ImportRecord:
    source_key: str
    first_version: int
    last_version: int

    def covers(self, version: int) -> bool:
        return self.first_version <= version <= self.last_version


def import_dir(run_path: Path) -> Path:
    return run_path / IMPORT_DIR


def finish_pending(run_path: Path) -> None:
    """Complete commits interrupted by a crash; drop staging dirs that never got a record."""
    base = import_dir(run_path)
    if not base.is_dir():
        return
    for staging in base.glob(".staging-*"):
        writer_id = staging.name.removeprefix(".staging-")
        if (base / f"{writer_id}.json").is_file():
            _move_segments(staging, layout.segments_dir(run_path))
        shutil.rmtree(staging, ignore_errors=True)


def records(run_path: Path, source_key: str) -> list[ImportRecord]:
    """The committed import ranges of one source in this run."""
    out = []
    for path in sorted(import_dir(run_path).glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        if data.get("source_key") == source_key:
            out.append(ImportRecord(source_key, data["first_version"], data["last_version"]))
    return out


class ImportTarget:
    """One import range of one source: spooled while it is converted, written as a log writer
    and made visible in :meth:`commit`.

    The writer id is a digest of the source range and of everything written (operations, their
    times, the records kept aside), so it is known only at the end: operations go to a spool
    file first. The same import always gets the same writer id; an import that came out
    differently (a missing file restored since) gets another one.
    """

    def __init__(self, run_path: Path, identity: layout.RunIdentity, source_key: str, first_version: int):
        self.run_path = run_path
        self.source_key = source_key
        self.first_version = first_version
        self.writer_id = ""  # known at commit
        self._identity = identity
        self._digest = hashlib.sha256(f"import\0{identity.run_key}\0{source_key}\0{first_version}".encode())
        # owned by this object: closed (and so deleted) by commit() or abort()
        self._spool = tempfile.TemporaryFile(dir=import_dir(run_path), prefix=".spool-")  # noqa: SIM115
        self._kept: list[str] = []
        self.ops = 0
        self.points = 0

    @property
    def blobs(self) -> RunBlobs:
        return RunBlobs(layout.blobs_dir(self.run_path))

    def append(self, op: Op, ts: float) -> None:
        """Spool one operation."""
        data = encode_op(op)
        record = _SPOOLED.pack(len(data), ts) + data
        self._digest.update(record)
        self._spool.write(record)
        self.points += len(getattr(op, "points", ()) or ())
        self.ops += 1

    def keep(self, record: dict) -> None:
        """Keep a source record that was not converted (written on commit)."""
        line = json.dumps(record, sort_keys=True, default=str)
        self._digest.update(line.encode())
        self._kept.append(line)

    def commit(self, last_version: int, details: dict) -> Path:
        """Write the spooled operations as one writer's segments and make them visible; returns
        the record's path."""
        self.writer_id = self._digest.hexdigest()[:16]
        staging = import_dir(self.run_path) / f".staging-{self.writer_id}"
        shutil.rmtree(staging, ignore_errors=True)
        self._write_segments(staging)
        base = import_dir(self.run_path)
        kept_path = base / f"{self.writer_id}.kept.jsonl"
        if self._kept:
            _atomic_write(kept_path, "".join(line + "\n" for line in self._kept))
        record = dict(
            details,
            source_key=self.source_key,
            first_version=self.first_version,
            last_version=last_version,
            writer_id=self.writer_id,
            ops=self.ops,
            points=self.points,
            kept=len(self._kept),
            kept_file=str(kept_path) if self._kept else "",
            imported_at=time.time(),
        )
        path = base / f"{self.writer_id}.json"
        _atomic_write(path, json.dumps(record, indent=1, sort_keys=True))
        _move_segments(staging, layout.segments_dir(self.run_path))
        shutil.rmtree(staging, ignore_errors=True)
        return path

    def abort(self) -> None:
        """Throw the import away (nothing becomes visible)."""
        self._spool.close()

    def _write_segments(self, staging: Path) -> None:
        ident = self._identity
        writer = OpLogWriter(
            staging,
            project=ident.project,
            run_key=ident.run_key,
            run_id=ident.run_id,
            custom_run_id=ident.custom_run_id,
            durability="buffered",
            writer_id=self.writer_id,
        )
        try:
            self._spool.seek(0)
            for op, ts in _read_spool(self._spool):
                if isinstance(op, LogFloats):  # float series go point by point into compact frames
                    for p in op.points:
                        writer.append_float(op.path, p.step, p.value, p.ts)
                else:
                    writer.append(op, ts=ts)
        finally:
            writer.close()
            self._spool.close()


def _read_spool(spool: BinaryIO) -> Iterator[tuple[Op, float]]:
    while head := spool.read(_SPOOLED.size):
        length, ts = _SPOOLED.unpack(head)
        yield decode_op(spool.read(length)), ts


def _lock_imports(run_path: Path) -> int:
    """Hold an exclusive lock on the run's imports until the returned fd is closed."""
    import_dir(run_path).mkdir(parents=True, exist_ok=True)
    fd = os.open(import_dir(run_path) / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _move_segments(staging: Path, segments: Path) -> None:
    segments.mkdir(parents=True, exist_ok=True)
    for seg in sorted(staging.glob("*.seg")):
        if not seg.name.startswith("."):
            os.replace(seg, segments / seg.name)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, "utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def labels(**values: str) -> list[Op]:
    """``import/neptune/<name>`` string fields for the non-empty ``values``."""
    return [AssignString(f"import/neptune/{name}", value) for name, value in values.items() if value]


def claim_run(
    project: str, run_id: str, data_root: Path | None, custom_run_id: str = "", **identity: object
) -> tuple[layout.RunIdentity, Path]:
    """The run directory of (project, run_id) — keyed by ``custom_run_id`` if there is one, as
    the client keys it — created with ``identity`` fields if new."""
    run_key = layout.run_key_for(project, run_id=run_id, custom_run_id=custom_run_id)
    run_path = layout.run_dir(run_key, data_root)
    fresh = layout.RunIdentity(
        project=project, run_key=run_key, run_id=run_id, custom_run_id=custom_run_id, **identity
    )
    return layout.claim_identity(run_path, fresh), run_path


class RangeImport:
    """Feeds the numbered items of one source into a run: items recorded by an earlier import
    are counted and skipped; the first new item opens an :class:`ImportTarget`, which is
    committed when the ``with`` block ends normally and thrown away if it raises.

    ``header`` operations (where the data came from) are written first by every import writer.
    """

    def __init__(
        self,
        run_path: Path,
        identity: layout.RunIdentity,
        source_key: str,
        report: SourceReport,
        *,
        header: list[Op],
        details: dict,
    ) -> None:
        self._lock = _lock_imports(run_path)  # a second import of this run waits, then skips
        finish_pending(run_path)
        self._run_path, self._identity, self._source_key = run_path, identity, source_key
        self._done = records(run_path, source_key)
        self._report, self._header, self._details = report, header, details
        self.target: ImportTarget | None = None
        self.last = 0

    def __enter__(self) -> RangeImport:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            self._finish(exc_type is not None)
        finally:
            os.close(self._lock)

    def _finish(self, failed: bool) -> None:
        if self.target is None:
            return
        if failed:
            self.target.abort()
            return
        self.target.commit(self.last, self._details)
        older = [r.last_version for r in self._done if r.last_version > self.target.first_version]
        if older:
            self._report.notes.append(
                "items older than an earlier import were added now; where both set a field, "
                "the older value may win"
            )

    def is_new(self, number: int) -> bool:
        """Whether item ``number`` still needs importing (else it is counted as already imported)."""
        self.last = number
        if any(r.covers(number) for r in self._done):
            self._report.already_imported += 1
            return False
        return True

    def append(self, number: int, ops: list[Op], ts: float) -> None:
        """Write the operations converted from item ``number``."""
        target = self._open(number, ts)
        for op in ops:
            target.append(op, ts)
            self._report.imported_points += len(getattr(op, "points", ()))
        self._report.imported_ops += 1

    def keep(self, number: int, where: str, reason: str, record: dict, **context: object) -> None:
        """Keep an item that could not be converted (with ``context`` saying where it was), and
        report it."""
        kept = {**context, "number": number, "reason": reason, "record": record}
        self._open(number, 0.0).keep(kept)
        self._report.problems.append(f"{where}: {reason}; kept aside")

    def _open(self, number: int, ts: float) -> ImportTarget:
        if self.target is None:
            self.target = ImportTarget(self._run_path, self._identity, self._source_key, number)
            for op in self._header:
                self.target.append(op, ts)
        return self.target
