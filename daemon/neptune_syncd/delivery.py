"""Getting one batch of one writer into the store: blobs first, retries, splitting, conflicts.

- Transient failures (:class:`StoreUnavailableError`) are retried for ever with backoff; the
  data stays on disk meanwhile. An :class:`AuthError` pauses the whole project, loudly.
- A batch refused as a whole (:class:`BatchRejectedError`) is halved until the refused entry is
  alone; that entry goes to the run's quarantine file with the reason, the rest is sent.
- A batch (or blob upload) the store answers 500 ``isolate_after`` times in a row is treated as
  refused (``retry.suspects_batch``): one op that makes the store fail never blocks the run.
- Entries refused one by one (``BatchResponse.rejected``) are quarantined the same way.
- Conflicts (``BatchResponse.conflicts``) are resolved by :mod:`neptune_syncd.conflicts`;
  the replacement ops are appended to the run's log by a writer of the daemon's own, so they are
  replayed, crash-safe, like any other op. With them goes the list of the records the store
  refused (conflicts and rejections, ``rules.REFUSED_FIELD``), which the local read-back skips.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import msgspec

from neptune_sync.exceptions import (
    AuthError,
    BatchRejectedError,
    StoreUnavailableError,
    UnreadableFileError,
)
from neptune_sync.oplog.blobs import RunBlobs
from neptune_sync.oplog.layout import blobs_dir, segments_dir
from neptune_sync.oplog.writer import OpLogWriter, new_writer_id
from neptune_sync.rules import REFUSED_FIELD, RESOLVER_PREFIX, refused_item
from neptune_sync.wire.ops import AddStrings, Entry, FileRef, Op, blob_refs
from neptune_sync.wire.protocol import BatchResponse, RunInfo
from neptune_sync.wire.sync_state import ConflictRecord, RunSyncState

from . import conflicts, sync_state
from .batching import split
from .config import DaemonConfig
from .gate import ProjectGate
from .retry import Backoff, suspects_batch
from .sinks.base import Sink

log = logging.getLogger(__name__)
T = TypeVar("T")
BLOBS_MISSING = 409  # a batch refused because the store lacks blobs it references


class Sent(msgspec.Struct):
    """What became of a batch: the store's applied seq, and the highest seq quarantined."""

    applied_seq: int = 0
    quarantined_to: int = 0
    run_id: str = ""  # the run's id in the store, when the store answered


class Delivery:
    """Sends batches of one run. ``sleep`` and ``rand`` are seams for tests."""

    def __init__(
        self,
        run_path: Path,
        run_state: RunSyncState,
        sink: Sink,
        config: DaemonConfig,
        *,
        gate: ProjectGate,
        limiter: anyio.CapacityLimiter,
        give_up_on_auth: bool = False,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.run_path = run_path
        self.give_up_on_auth = give_up_on_auth
        self.state = run_state
        self.sink = sink
        self.config = config
        self.gate = gate
        self.limiter = limiter
        self._sleep = sleep
        self._rand = rand
        self._blobs = RunBlobs(blobs_dir(run_path))
        self._known_blobs: set[str] = set()
        self.appended = 0  # replacement ops appended to the log (they need another pass)
        self.floors: dict[str, float | None] = {}  # writer -> causal floor sent with its batches

    async def call(self, project: str, fn: Callable[[], Awaitable[T]], *, isolate: bool = False) -> T:
        """Run one store request, retrying transient failures and waiting out auth pauses.

        With ``isolate``, ``isolate_after`` answers in a row that suspect the request itself
        (``retry.suspects_batch``) raise :class:`BatchRejectedError`, so the caller splits the batch.
        """
        backoff = Backoff(self.config.backoff_base, self.config.backoff_cap, rand=self._rand)
        failures = suspect = 0
        while True:
            await self.gate.wait(project)
            try:
                async with self.limiter:
                    result = await fn()
            except StoreUnavailableError as exc:
                failures += 1
                suspect = suspect + 1 if suspects_batch(exc.status) else 0
                if isolate and suspect >= self.config.isolate_after:
                    raise BatchRejectedError(
                        f"the store failed {suspect} times in a row on this request: {exc}", exc.status
                    ) from exc
                delay = backoff.next_delay(exc.retry_after)
                self._failed(f"store unavailable: {exc}", failures, logging.WARNING)
                await self._sleep(delay)
            except AuthError as exc:
                failures += 1
                if self.give_up_on_auth:  # one-shot sync: no one will fix the token while it waits
                    self.state.last_error = _auth_message(project, exc)
                    raise AuthError(self.state.last_error) from exc
                self.gate.pause(project, self.config.auth_pause)
                self._failed(
                    f"{_auth_message(project, exc)}; project paused for {self.config.auth_pause:g} s",
                    failures,
                    logging.ERROR,
                )
            else:
                if failures:
                    log.info("%s: store reachable again after %d failures", self.run_path.name, failures)
                    self.state.last_error = ""
                return result

    def _failed(self, message: str, attempt: int, level: int) -> None:
        self.state.last_error = message
        if attempt <= 1 or attempt & (attempt - 1) == 0:  # rate-limited: 1st, 2nd, 4th, 8th ...
            log.log(level, "%s: %s (failure %d)", self.run_path.name, message, attempt)
            with contextlib.suppress(OSError):  # so that `status` and a waiting stop() can say why
                sync_state.save(self.run_path, self.state)

    async def upload_blobs(self, run: RunInfo, entries: list[Entry]) -> None:
        """Make sure the store holds every blob the entries reference, before they are sent.

        A blob the store refuses (bad name, local copy no longer matching its hash, too large) is
        logged; the ops referencing it are then refused (409) and end in quarantine.
        """
        for entry in entries:
            for ref in blob_refs(entry.op):
                if ref.sha256 in self._known_blobs:
                    continue
                try:
                    if not await self._upload_blob(run, ref):
                        continue
                except BatchRejectedError as exc:
                    self.state.last_error = f"blob {ref.sha256} refused: {exc}"
                    log.error("%s: %s", self.run_path.name, self.state.last_error)
                    continue
                self._known_blobs.add(ref.sha256)

    async def _upload_blob(self, run: RunInfo, ref: FileRef) -> bool:
        """Upload one blob unless the store has it; False if there is no local copy to upload."""
        if await self.call(run.project, lambda: self.sink.has_blob(run, ref)):
            return True
        path = self._blobs.path_of(ref.sha256)
        if not path.is_file():
            log.error("%s: blob %s is missing from the run directory", self.run_path.name, ref.sha256)
            return False
        try:
            await self.call(run.project, lambda: self.sink.put_blob(run, ref, path), isolate=True)
        except PermissionError:
            raise UnreadableFileError(str(path), "blob") from None
        return True

    async def send(self, run: RunInfo, writer_id: str, entries: list[Entry]) -> Sent:
        """Deliver entries; returns how far the writer is applied or quarantined."""
        await self.upload_blobs(run, entries)
        ambiguous = False

        async def attempt() -> BatchResponse:
            nonlocal ambiguous
            try:
                return await self.sink.write_batch(run, writer_id, entries, self.floors.get(writer_id))
            except StoreUnavailableError:
                ambiguous = True  # the store may have applied it and lost only its answer
                raise

        try:
            response = await self._write(run, entries, attempt)
        except BatchRejectedError as exc:
            if len(entries) == 1:
                self._quarantine(writer_id, entries[0], str(exc))
                return Sent(0, entries[0].last_seq)
            first, rest = split(entries)
            a = await self.send(run, writer_id, first)
            b = await self.send(run, writer_id, rest)
            return Sent(
                max(a.applied_seq, b.applied_seq), max(a.quarantined_to, b.quarantined_to), a.run_id or b.run_id
            )
        if ambiguous:
            response = await self.audit(run, entries, response)
        return Sent(response.applied_seq, self._handle(run, writer_id, entries, response), response.run_id)

    async def _write(
        self, run: RunInfo, entries: list[Entry], attempt: Callable[[], Awaitable[BatchResponse]]
    ) -> BatchResponse:
        """Send the batch; a 409 means the store lacks a blob it references (docs/sync-protocol.md):
        check and upload its blobs again, then send it once more."""
        try:
            return await self.call(run.project, attempt, isolate=True)
        except BatchRejectedError as exc:
            if exc.status != BLOBS_MISSING:
                raise
            log.warning("%s: store lacks blobs of a batch; uploading them again", self.run_path.name)
            self._known_blobs.difference_update(ref.sha256 for e in entries for ref in blob_refs(e.op))
            await self.upload_blobs(run, entries)
            return await self.call(run.project, attempt, isolate=True)

    async def recover_lost_answer(self, run: RunInfo, writer_id: str, entries: list[Entry]) -> None:
        """Entries the store applied without the daemon seeing its answer (it died in between):
        resolve the type conflicts that answer carried."""
        response = await self.audit(run, entries, BatchResponse(entries[-1].last_seq if entries else 0))
        self._handle(run, writer_id, entries, response)

    async def audit(self, run: RunInfo, entries: list[Entry], response: BatchResponse) -> BatchResponse:
        """Add the conflicts an answer lost to ``response``, from the store's field types."""
        types = await self.call(run.project, lambda: self.sink.field_types(run))
        if types is None:
            log.warning(
                "%s: cannot read field types (token lacks the read scope): a lost answer's "
                "type conflicts stay unresolved",
                self.run_path.name,
            )
            return response
        known = {c.seq for c in response.conflicts} | {r.seq for r in response.rejected}
        found = conflicts.audit(entries, types, known)
        return (
            msgspec.structs.replace(response, conflicts=[*response.conflicts, *found]) if found else response
        )

    def _handle(self, run: RunInfo, writer_id: str, entries: list[Entry], response: BatchResponse) -> int:
        """Quarantine refused entries, resolve conflicts; returns the highest seq quarantined."""
        if not (response.rejected or response.conflicts):
            return 0
        top = 0
        refused: list[str] = []
        for rejection in response.rejected:
            entry = _entry_at(entries, rejection.seq)
            self._quarantine(writer_id, entry, rejection.reason)
            top = max(top, entry.last_seq)
            refused += _refused(writer_id, entry)
        replacements: list[Op] = []
        for conflict in response.conflicts:
            entry = _entry_at(entries, conflict.seq)
            refused += _refused(writer_id, entry)
            resolution = conflicts.resolve(entry.op, conflict, self.config.conflict_policy)
            if resolution.quarantine:
                self._quarantine(writer_id, entry, f"type conflict: {conflict}")
            replacements.extend(resolution.ops)
            self.state.conflicts.append(
                ConflictRecord(
                    writer_id,
                    conflict.seq,
                    conflict.path,
                    conflict.existing_type,
                    conflict.attempted_type,
                    resolution.action,
                )
            )
            log.warning("%s: type conflict on %r: %s", self.run_path.name, conflict.path, resolution.action)
        if refused:
            replacements.append(AddStrings(REFUSED_FIELD, tuple(refused)))
        if replacements:
            self._append_resolutions(run, replacements)
        return top

    def _quarantine(self, writer_id: str, entry: Entry, reason: str) -> None:
        sync_state.quarantine(self.run_path, writer_id, entry, reason)
        self.state.quarantined += 1
        log.error("%s: op %s (seq %d) quarantined: %s", self.run_path.name, entry.op.path, entry.seq, reason)

    def _append_resolutions(self, run: RunInfo, ops: list[Op]) -> None:
        """Append replacement ops to the run's log as the daemon's own writer (fsynced on close)."""
        writer = OpLogWriter(
            segments_dir(self.run_path),
            project=run.project,
            run_key=run.run_key,
            run_id=run.run_id,
            custom_run_id=run.custom_run_id,
            durability="buffered",
            segment_size=1 << 20,
            writer_id=f"{RESOLVER_PREFIX}{new_writer_id()}",
        )
        try:
            for op in ops:
                writer.append(op)
                self.appended += 1
        finally:
            writer.close()


def _auth_message(project: str, exc: AuthError) -> str:
    return (
        f"the store refused the API token for project {project!r} ({exc}): use a token of that project "
        f"(`neptune-sync server token create --project {project}`) in NEPTUNE_API_TOKEN or in the "
        f'daemon config\'s [projects."{project}"] (docs/daemon.md)'
    )


def _refused(writer_id: str, entry: Entry) -> list[str]:
    """The record of a refused entry; none for a refused record of refusals (that would loop)."""
    if entry.op.path == REFUSED_FIELD:
        return []
    return [refused_item(writer_id, entry.seq, entry.last_seq)]


def _entry_at(entries: list[Entry], seq: int) -> Entry:
    """The entry holding ``seq`` (the store may name a series entry by any of its points)."""
    return next(e for e in entries if e.seq <= seq <= e.last_seq)
