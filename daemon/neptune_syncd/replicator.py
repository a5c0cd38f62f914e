"""One run's replicator: read each writer's log from where the store is, batch it, deliver it.

Position: the store's applied sequence number per writer is the truth. It is asked once per
writer (and again after any error); the resume point in the segments (``segment``/``offset`` in
the state file) is only a shortcut, trusted while the store has not gone backwards. A points frame
can grow after it was read, so reading resumes at the frame of the last entry sent and drops the
points the store already has (:func:`neptune_syncd.batching.trim`).

A run's writers are synced side by side: the store's content does not depend on the order in
which their batches arrive. The state file is written after every acknowledged batch, so
``wait_synced`` sees progress.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import msgspec

from neptune_sync.exceptions import AuthError, CorruptRecordError, NoCredentialsError, StoreError
from neptune_sync.oplog.layout import read_identity, segments_dir
from neptune_sync.wire.protocol import RunInfo
from neptune_sync.wire.sync_state import WriterState

from . import sync_state
from .batching import Batch
from .config import DaemonConfig
from .delivery import Delivery
from .gate import ProjectGate
from .reading import Chunk, read_ahead, read_batches, read_range
from .segments import by_writer, first_needed, floor, prune
from .sinks.base import Sink

log = logging.getLogger(__name__)
READ_ERROR = "cannot read the run's files"
MAX_AUDIT_GAP = 4  # batches: a larger unrecorded gap was synced by someone else, not lost by us
WRITERS_AT_ONCE = 4  # writers of one run synced side by side


class PassResult(msgspec.Struct):
    """What one pass over a run found."""

    live: bool = False  # some writer still holds its active segment
    pending: int = 0  # ops read but not yet acknowledged (or quarantined)
    sent: int = 0  # batches delivered
    appended: int = 0  # conflict replacements appended to the log (read by the next pass)
    stopped: bool = False  # a writer's log cannot be read further (unknown op)


class Replicator:
    """Keeps one run directory in step with the store."""

    def __init__(
        self,
        run_path: Path,
        sink: Sink,
        config: DaemonConfig,
        *,
        gate: ProjectGate,
        limiter: anyio.CapacityLimiter,
        stopping: anyio.Event | None = None,
        give_up_on_auth: bool = False,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.run_path = Path(run_path)
        self.sink = sink
        self.config = config
        self.state = sync_state.load(self.run_path)
        self.delivery = Delivery(
            self.run_path,
            self.state,
            sink,
            config,
            gate=gate,
            limiter=limiter,
            give_up_on_auth=give_up_on_auth,
            sleep=sleep,
            rand=rand,
        )
        self.stopping = stopping or anyio.Event()
        self._acked: dict[str, int] = {}  # confirmed this session; forgotten on error
        self._reported: set[tuple[str, int]] = set()
        self._stopped: dict[str, str] = {}  # writer id -> why its log cannot be read further
        self._wake = anyio.Event()
        self._saved = b""

    def nudge(self) -> None:
        """Something changed on disk: run a pass soon."""
        self._wake.set()

    async def run(self) -> None:
        """Pass after pass until ``stopping`` is set: at the poll interval while there is work."""
        while not self.stopping.is_set():
            self._wake = anyio.Event()  # a nudge during the pass means: pass again at once
            try:
                result = await self.sync_pass()
                if self.state.last_error.startswith(READ_ERROR):
                    self.state.last_error = ""
            except OSError as exc:
                if not (self.run_path / "run.json").exists():
                    log.info("%s: run directory gone; replicator ends", self.run_path.name)
                    return
                # a segment deleted under us, or files we may not read: try again later, loudly
                self.state.last_error = f"{READ_ERROR}: {exc}"
                log.error("%s: %s", self.run_path.name, self.state.last_error)
                with contextlib.suppress(OSError):  # so that `neptune-sync status` shows it
                    self._save()
                result = PassResult()
            except StoreError as exc:  # no token for its project, or the store refuses this run for good
                self.refused(exc)
                result = PassResult()
            busy = result.live or result.pending or result.sent  # progress: more may be waiting
            with anyio.move_on_after(self.config.poll_interval if busy else self.config.rescan_interval):
                await self._wake.wait()

    def refused(self, exc: StoreError) -> None:
        """Record why the run cannot be synced now; logged when the reason changes, not every pass."""
        why = (
            str(exc) if isinstance(exc, (NoCredentialsError, AuthError)) else f"store refuses this run: {exc}"
        )
        if why != self.state.last_error:
            log.error("%s: %s", self.run_path.name, why)
        self.state.last_error = why
        self._acked.clear()
        with contextlib.suppress(OSError):  # so that `neptune-sync status` shows it
            self._save()

    async def sync_until_done(self) -> PassResult:
        """One-shot: pass until everything readable is acknowledged or no pass makes progress."""
        while True:
            result = await self.sync_pass(final=True)
            progressed = result.sent or result.appended
            if not result.pending or not progressed or self.stopping.is_set():
                return result

    async def sync_pass(self, final: bool = False) -> PassResult:
        """Read every writer of the run once and deliver what the store lacks.

        ``final`` sends partial batches at once instead of waiting for ``max_latency``.
        """
        identity = read_identity(self.run_path)
        run = RunInfo(
            identity.project,
            identity.run_key,
            identity.run_id,
            identity.custom_run_id,
            identity.kind,
            identity.model_id,
        )
        result = PassResult(stopped=bool(self._stopped))
        self.state.pending_bytes = 0
        self.state.lag = 0.0
        appended = self.delivery.appended
        await self._sync_writers(run, by_writer(segments_dir(self.run_path)), result, final)
        if run.kind == "model_version" and not self.state.store_id:
            await self._learn_store_id(run)
        result.appended = self.delivery.appended - appended
        result.pending += result.appended
        self.state.pending_ops = result.pending
        self._save()
        return result

    async def _sync_writers(
        self, run: RunInfo, writers: dict[str, list[Path]], result: PassResult, final: bool
    ) -> None:
        """Sync the run's writers side by side (at most ``WRITERS_AT_ONCE``): the store's content does
        not depend on the order writers arrive in (docs/sync-protocol.md, "Merge of writers"), so
        one writer waiting for a large blob does not hold back the others. The first failure is
        raised after all have stopped."""
        limit = anyio.CapacityLimiter(WRITERS_AT_ONCE)
        failures: list[Exception] = []

        async def one(writer_id: str, paths: list[Path]) -> None:
            async with limit:
                if writer_id in self._stopped or self.stopping.is_set() or failures:
                    return
                try:
                    await self._sync_writer(run, writer_id, paths, result, final)
                except Exception as exc:  # re-raised below, not wrapped in an exception group
                    failures.append(exc)

        async with anyio.create_task_group() as tg:
            for writer_id, paths in writers.items():
                tg.start_soon(one, writer_id, paths)
        if failures:
            raise failures[0]

    async def _learn_store_id(self, run: RunInfo) -> None:
        """A model version whose batches were all acknowledged before this state file knew its
        number (the state was lost): ask the store for the number it assigned."""
        if any(ws.store_acked for ws in self.state.writers.values()):
            found = await self.delivery.call(run.project, lambda: self.sink.store_id(run))
            self.state.store_id = found or ""

    async def _acked_of(self, run: RunInfo, writer_id: str) -> int:
        """The writer's acknowledged seq: from the store when not confirmed this session."""
        ws = self.state.writers.setdefault(writer_id, WriterState())
        if writer_id not in self._acked:
            store_acked = await self.delivery.call(run.project, lambda: self.sink.acked_seq(run, writer_id))
            if store_acked < ws.store_acked:
                log.warning(
                    "%s: store reports writer %s at seq %d, below the %d it acknowledged before; resending",
                    self.run_path.name,
                    writer_id,
                    store_acked,
                    ws.store_acked,
                )
                ws.segment, ws.offset, ws.quarantined_to = "", 0, 0
            elif store_acked > ws.store_acked:
                await self._recover_gap(run, writer_id, ws, store_acked)
            ws.store_acked = store_acked
            ws.acked_seq = max(store_acked, ws.quarantined_to)
            self._acked[writer_id] = ws.acked_seq
        return self._acked[writer_id]

    async def _recover_gap(self, run: RunInfo, writer_id: str, ws: WriterState, store_acked: int) -> None:
        """The store applied ops this state file never recorded (the daemon died before it could):
        look for the type conflicts their lost answer carried."""
        if store_acked - ws.store_acked > MAX_AUDIT_GAP * self.config.batch.max_ops:
            log.warning(
                "%s: %s synced elsewhere up to %d; its type conflicts are not re-checked",
                self.run_path.name,
                writer_id,
                store_acked,
            )
            return
        paths = by_writer(segments_dir(self.run_path)).get(writer_id, [])
        start = _start_index(paths, ws, ws.store_acked)
        entries = await anyio.to_thread.run_sync(
            read_range, paths[start:], (ws.segment, ws.offset), ws.store_acked, store_acked, self._damage
        )
        await self.delivery.recover_lost_answer(run, writer_id, entries)

    async def _sync_writer(
        self, run: RunInfo, writer_id: str, paths: list[Path], result: PassResult, final: bool
    ) -> None:
        acked = await self._acked_of(run, writer_id)
        ws = self.state.writers[writer_id]
        if writer_id not in self.delivery.floors:
            self.delivery.floors[writer_id] = await anyio.to_thread.run_sync(floor, paths)
        start = _start_index(paths, ws, acked)
        resume = (ws.segment, ws.offset)
        chunks = read_batches(paths[start:], resume, acked, self.config.batch, self._damage)
        last = Chunk(Batch(self.config.batch), resume, 0, at_end=True)
        send, receive = anyio.create_memory_object_stream[Chunk](1)
        failure: Exception | None = None  # raised after the task group, not wrapped in a group
        try:
            async with anyio.create_task_group() as tg, receive:
                tg.start_soon(read_ahead, chunks, send, last)
                try:
                    async for chunk in receive:
                        ws.seen_seq = max(ws.seen_seq, chunk.seen_seq)
                        if chunk.at_end:
                            last = chunk
                        elif not await self._deliver(run, writer_id, chunk, result) or self.stopping.is_set():
                            tg.cancel_scope.cancel()
                            return
                except Exception as exc:
                    failure = exc
                    tg.cancel_scope.cancel()
        finally:
            chunks.close()
        if failure is not None or last.failure is not None:
            raise failure or last.failure
        if last.error:
            self._stop_writer(writer_id, last.error, result)
        await self._finish_writer(run, writer_id, paths, last, result, final)

    async def _finish_writer(
        self, run: RunInfo, writer_id: str, paths: list[Path], last: Chunk, result: PassResult, final: bool
    ) -> None:
        """The end of the log: send or hold the partial batch, count what is pending, prune."""
        ws = self.state.writers[writer_id]
        batch = last.batch
        if batch.due(time.time(), last.alive and not final):
            await self._deliver(run, writer_id, last, result)
        elif batch:
            self.state.pending_bytes += batch.bytes
            self.state.lag = max(self.state.lag, time.time() - (batch.oldest_ts or time.time()))
        result.live |= last.alive
        result.pending += max(0, ws.seen_seq - ws.acked_seq)
        if self.config.retention == "delete":
            done = not last.alive and ws.acked_seq >= ws.seen_seq and writer_id not in self._stopped
            prune(paths, ws.acked_seq, last_done=done)

    async def _deliver(self, run: RunInfo, writer_id: str, chunk: Chunk, result: PassResult) -> bool:
        """Send a chunk's batch and record the ack; False if the store did not take all of it."""
        batch = chunk.batch
        sent = await self.delivery.send(run, writer_id, batch.entries)
        ws = self.state.writers[writer_id]
        ws.store_acked = max(ws.store_acked, sent.applied_seq)
        ws.quarantined_to = max(ws.quarantined_to, sent.quarantined_to)
        ws.acked_seq = max(ws.store_acked, ws.quarantined_to)
        ws.segment, ws.offset = chunk.position
        self.state.store_id = sent.run_id or self.state.store_id
        result.sent += 1
        if ws.acked_seq < batch.last_seq:
            log.warning(
                "%s: store applied %s only up to %d of %d",
                run.run_key,
                writer_id,
                ws.acked_seq,
                batch.last_seq,
            )
            self._acked.pop(writer_id, None)  # ask the store again next pass
            self._save()
            return False
        self._acked[writer_id] = ws.acked_seq
        self._save()
        return True

    def _save(self) -> None:
        """Write the state file if anything but its timestamp changed (idle live runs pass often)."""
        updated, self.state.updated = self.state.updated, 0.0
        snapshot = msgspec.json.encode(self.state)
        self.state.updated = updated
        if snapshot != self._saved:
            sync_state.save(self.run_path, self.state)
            self._saved = snapshot

    def _damage(self, err: CorruptRecordError) -> None:
        if (err.file, err.offset) in self._reported or str(err) in self.state.damaged:
            return
        self._reported.add((err.file, err.offset))
        self.state.damaged.append(str(err))
        self.state.lost_records += err.lost_count or 0
        log.error("%s: corrupt log record skipped: %s", self.run_path.name, err)

    def _stop_writer(self, writer_id: str, why: str, result: PassResult) -> None:
        self._stopped[writer_id] = why
        self.state.last_error = why
        result.stopped = True
        log.error("%s: writer %s stops here: %s", self.run_path.name, writer_id, why)


def _start_index(paths: list[Path], ws: WriterState, acked: int) -> int:
    """Where to start reading: the resume point if its segment is still there (everything before
    it is acknowledged), else the first segment that may hold a seq above ``acked``."""
    names = [p.name for p in paths]
    return names.index(ws.segment) if ws.segment in names else first_needed(paths, acked)
