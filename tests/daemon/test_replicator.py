"""The replicator against the in-memory store: delivery, resumption, damage, quarantine, conflicts."""

from __future__ import annotations

import threading
import time

import anyio
import msgspec
import pytest
from store_model import MemorySink, MemoryStore

from neptune_sync.exceptions import AuthError
from neptune_sync.oplog import framing as fr
from neptune_sync.oplog.reader import SegmentReader, segment_files
from neptune_sync.rules import REFUSED_FIELD
from neptune_sync.wire import ops as o
from neptune_sync.wire.sync_state import read_state
from neptune_syncd.batching import BatchPolicy
from neptune_syncd.gate import ProjectGate
from neptune_syncd.replicator import Replicator
from neptune_syncd.sync_state import read_quarantine


def replicator(run_path, store, config, **kw):
    return Replicator(
        run_path, MemorySink(store), config, gate=ProjectGate(), limiter=anyio.CapacityLimiter(2), **kw
    )


@pytest.mark.asyncio
async def test_offline_run_with_all_types_reaches_store_field_by_field(runs, config):
    run = runs.create("r1")
    w = runs.all_types(run, points=3000)
    store = MemoryStore()
    config = msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_ops=500))
    result = await replicator(run, store, config).sync_until_done()
    assert result.pending == 0
    key = run.name
    assert store.values(key) == runs.expected(run)
    assert len(store.values(key)["train/loss"][1]) == 3000
    assert store.batches >= 3  # a 1024-point frame is one entry: batches are cut between entries
    assert len(store.blobs) == 2
    state = read_state(run)
    assert state.writers[w.writer_id].acked_seq == w.last_seq


class ScriptedSink(MemorySink):
    """A memory sink that raises the scripted errors first, one per write_batch."""

    def __init__(self, store, errors):
        super().__init__(store)
        self.errors = list(errors)
        self.calls = 0

    async def write_batch(self, run, writer_id, entries, after=None):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return await super().write_batch(run, writer_id, entries)


def small(config, **kw):
    return msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_ops=20), **kw)


def ints(runs, run, n, **kw):
    w = runs.writer(run, **kw)
    for i in range(n):
        w.append(o.AssignInt(f"v/{i}", i))
    return w


@pytest.mark.asyncio
@pytest.mark.parametrize("whole_batch", [True, False], ids=["batch-refused", "entry-refused"])
async def test_refused_op_is_isolated_quarantined_and_the_rest_syncs(runs, config, whole_batch):
    run = runs.create("bad")
    w = ints(runs, run, 50)
    w.close()
    store = MemoryStore(
        reject=lambda e: "too big" if e.op.path == "v/17" else None, reject_whole_batch=whole_batch
    )
    result = await replicator(run, store, small(config)).sync_until_done()
    assert result.pending == 0
    values = store.values(run.name)
    held = {f"v/{i}" for i in range(50)} - {"v/17"}
    if whole_batch:
        assert set(values) == held
    else:  # a per-op refusal is recorded on the run, for the local read-back to skip it
        assert set(values) == held | {REFUSED_FIELD}
        assert values[REFUSED_FIELD][1] == {f"{w.writer_id}:18-18"}
    records = read_quarantine(run)
    assert [(r.seq, r.path) for r in records] == [(18, "v/17")] and "too big" in records[0].reason
    state = read_state(run)
    assert state.quarantined == 1 and state.writers[w.writer_id].acked_seq == 50


@pytest.mark.asyncio
async def test_refused_last_op_does_not_block_or_repeat_after_restart(runs, config):
    run = runs.create("badlast")
    ints(runs, run, 5).close()
    store = MemoryStore(reject=lambda e: "no" if e.op.path == "v/4" else None, reject_whole_batch=True)
    await replicator(run, store, config).sync_until_done()
    result = await replicator(run, store, config).sync_until_done()  # a restarted daemon
    assert result.pending == 0
    assert len(read_quarantine(run)) == 1


@pytest.mark.asyncio
async def test_type_conflict_is_coerced_or_renamed_and_recorded(runs, config):
    run = runs.create("conflict")
    a = runs.writer(run, writer_id="a" * 16)
    a.append(o.AssignFloat("lr", 0.5))
    a.append(o.AssignString("name", "x"))
    a.close()
    store = MemoryStore()
    await replicator(run, store, config).sync_until_done()  # the first write fixes a field's type
    b = runs.writer(run, writer_id="b" * 16)
    b.append(o.AssignInt("lr", 3))  # exact in a float field: coerced
    b.append(o.AssignFloat("name", 1.5))  # no lossless way: sibling field
    b.close()
    result = await replicator(run, store, config).sync_until_done()
    assert result.pending == 0
    values = store.values(run.name)
    assert values["lr"] == ("float", 3.0)
    assert values["name"] == ("string", "x")
    assert values["name__conflict_float"] == ("float", 1.5)
    recorded = values["sys/sync/conflicts"][1]
    assert len(recorded) == 2 and any("coerced" in r for r in recorded)
    state = read_state(run)
    assert sorted(c.action for c in state.conflicts) == ["coerced", "renamed to name__conflict_float"]


@pytest.mark.asyncio
async def test_growing_points_frame_is_resent_without_duplicates(runs, config):
    run = runs.create("live")
    w = runs.writer(run)
    store = MemoryStore()
    rep = replicator(run, store, config)
    for i in range(10):
        w.append_float("loss", i, float(i), 1000.0)
    assert (await rep.sync_pass(final=True)).live
    for i in range(10, 25):
        w.append_float("loss", i, float(i), 1000.0)  # same frame, grown in place
    await rep.sync_pass(final=True)
    points = store.values(run.name)["loss"][1]
    assert [p[0] for p in points] == list(range(25))
    assert store.applied[(run.name, w.writer_id)] == 25
    w.close()


@pytest.mark.asyncio
async def test_partial_batch_of_live_writer_waits_for_max_latency(runs, config):
    run = runs.create("latency")
    w = runs.writer(run)
    store = MemoryStore()
    config = msgspec.structs.replace(config, batch=msgspec.structs.replace(config.batch, max_latency=0.3))
    rep = replicator(run, store, config)
    w.append(o.AssignInt("x", 1))
    result = await rep.sync_pass()
    assert (result.pending, store.batches) == (1, 0)  # too fresh: wait for company
    await anyio.sleep(0.35)
    result = await rep.sync_pass()
    assert (result.pending, store.batches) == (0, 1)
    w.close()


@pytest.mark.asyncio
async def test_corrupt_record_is_reported_and_only_it_is_lost(runs, config):
    run = runs.create("damaged")
    w = ints(runs, run, 30)
    w.close()
    seg = segment_files(run / "segments")[0]
    with SegmentReader(seg) as reader:
        offsets = [off for off, _ in reader.entries()]
    data = bytearray(seg.read_bytes())
    data[offsets[10] + 20] ^= 0xFF  # flip a bit in the body of the 11th op: checksum mismatch
    seg.write_bytes(bytes(data))
    store = MemoryStore()
    result = await replicator(run, store, config).sync_until_done()
    assert result.pending == 0
    assert set(store.values(run.name)) == {f"v/{i}" for i in range(30)} - {"v/10"}
    state = read_state(run)
    assert len(state.damaged) == 1 and f"offset {offsets[10]}" in state.damaged[0]


@pytest.mark.asyncio
async def test_restart_resumes_from_store_and_sends_each_seq_once(runs, config):
    run = runs.create("restart")
    w = runs.writer(run, segment_size=64 << 10)
    for i in range(20_000):
        w.append_float("loss", i, float(i), 1000.0 + i / 1e4)
    w.close()
    store = MemoryStore()
    sent = []
    orig = store.write_batch

    def spy(run_info, writer_id, entries):
        sent.extend(range(entries[0].seq, entries[-1].last_seq + 1))
        stopping.set()  # the first replicator stops after this batch
        return orig(run_info, writer_id, entries)

    store.write_batch = spy
    stopping = anyio.Event()
    first = replicator(
        run, store, msgspec.structs.replace(config, batch=BatchPolicy(max_ops=2000)), stopping=stopping
    )
    await first.sync_pass(final=True)
    assert 0 < len(sent) < 20_000
    await replicator(
        run, store, msgspec.structs.replace(config, batch=BatchPolicy(max_ops=2000))
    ).sync_until_done()
    assert sorted(sent) == list(range(1, 20_001))  # each seq sent exactly once, over both lives
    assert len(store.values(run.name)["loss"][1]) == 20_000


@pytest.mark.asyncio
async def test_retention_deletes_only_synced_segments_never_the_live_one(runs, config):
    run = runs.create("retention")
    w = runs.writer(run, segment_size=8 << 10)
    for i in range(3000):
        w.append_float("loss", i, float(i), 1000.0)
    segs = sorted((run / "segments").glob("*.seg"))
    assert len(segs) > 3
    store = MemoryStore()
    rep = replicator(run, store, msgspec.structs.replace(config, retention="delete"))
    await rep.sync_pass(final=True)
    left = sorted((run / "segments").glob("*.seg"))
    assert left == segs[-1:]  # the live writer's active segment stays
    assert len(store.values(run.name)["loss"][1]) == 3000
    w.close()
    await rep.sync_pass(final=True)
    assert list((run / "segments").glob("*.seg")) == []


@pytest.mark.asyncio
async def test_auth_error_pauses_the_project_then_retries(runs, config):
    run = runs.create("auth")
    ints(runs, run, 3).close()
    store = MemoryStore()
    sink = ScriptedSink(store, [AuthError("401 unknown token")])
    gate = ProjectGate()
    rep = Replicator(
        run,
        sink,
        msgspec.structs.replace(config, auth_pause=0.2),
        gate=gate,
        limiter=anyio.CapacityLimiter(1),
    )
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(rep.sync_until_done)
            await anyio.sleep(0.1)
            assert gate.paused("team/proj") and "refused the API token" in rep.state.last_error
            assert store.batches == 0
    assert store.batches == 1 and sink.calls == 2 and rep.state.last_error == ""


@pytest.mark.asyncio
async def test_unreadable_segment_is_reported_and_the_replicator_keeps_running(runs, config):
    run = runs.create("unreadable")
    ints(runs, run, 3).close()
    bad = run / "segments" / "ffffffffffffffff-000000.seg"
    bad.mkdir()  # reading it fails with an OSError
    rep = replicator(run, MemoryStore(), msgspec.structs.replace(config, rescan_interval=0.05))
    with anyio.move_on_after(0.3):
        await rep.run()
    assert "cannot read the run's files" in rep.state.last_error
    bad.rmdir()
    with anyio.move_on_after(0.2):
        await rep.run()
    assert rep.state.last_error == ""


@pytest.mark.asyncio
async def test_live_writer_at_full_speed_is_mirrored_exactly_while_it_writes(runs, config):
    run = runs.create("tail")
    w = runs.writer(run, segment_size=256 << 10)
    store = MemoryStore()
    rep = replicator(run, store, config)
    total = 60_000
    finished = threading.Event()

    def write() -> None:
        for i in range(total):
            w.append_float("loss", i, float(i), 1000.0 + i / 1e5)
            if i % 2000 == 0:
                w.append(o.AssignInt("progress", i))
                time.sleep(0.005)  # let the reader catch up with the tail now and then
        finished.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, write)
            passes = 0
            while not finished.is_set() or store.applied.get((run.name, w.writer_id), 0) < w.last_seq:
                await rep.sync_pass(final=True)
                passes += 1
    w.close()
    await rep.sync_pass(final=True)
    assert passes > 3, "the replicator ran while the writer wrote"
    assert store.values(run.name) == runs.expected(run)
    assert [p[0] for p in store.values(run.name)["loss"][1]] == list(range(total))
    assert read_state(run).damaged == []


@pytest.mark.asyncio
async def test_damage_in_a_live_segment_is_held_back_until_the_writer_is_gone(runs, config):
    run = runs.create("held")
    w = ints(runs, run, 10)  # still open: its segment is live
    seg = segment_files(run / "segments")[0]
    with SegmentReader(seg) as reader:
        offsets = [off for off, _ in reader.entries(live=True)]
    with open(seg, "r+b") as f:  # flip a byte in the 5th op's body (the mapping sees it)
        f.seek(offsets[4] + 20)
        byte = f.read(1)
        f.seek(offsets[4] + 20)
        f.write(bytes([byte[0] ^ 0xFF]))
    store = MemoryStore()
    rep = replicator(run, store, config)
    result = await rep.sync_pass(final=True)
    assert set(store.values(run.name)) == {f"v/{i}" for i in range(4)}  # stops before the damage
    assert result.live and read_state(run).damaged == []  # polled again soon, nothing skipped
    w.close()
    result = await rep.sync_pass(final=True)
    assert set(store.values(run.name)) == {f"v/{i}" for i in range(10)} - {"v/4"}
    assert result.pending == 0 and len(read_state(run).damaged) == 1


class Killed(Exception):
    """Stands for the daemon dying right after the store applied a batch."""


class DyingSink(MemorySink):
    """Applies the n-th batch, then 'dies' before the answer reaches the daemon."""

    def __init__(self, store, die_at):
        super().__init__(store)
        self.die_at = die_at
        self.calls = 0

    async def write_batch(self, run, writer_id, entries, after=None):
        self.calls += 1
        response = await super().write_batch(run, writer_id, entries)
        if self.calls == self.die_at:
            raise Killed
        return response


@pytest.mark.asyncio
async def test_conflicts_of_a_batch_applied_just_before_a_crash_are_resolved_after_restart(runs, config):
    run = runs.create("crash-conflict")
    a = runs.writer(run, writer_id="a" * 16)
    a.append(o.AssignFloat("lr", 0.5))
    a.close()
    store = MemoryStore()
    await replicator(run, store, config).sync_until_done()  # lr is a float in the store first
    b = runs.writer(run, writer_id="b" * 16)
    b.append(o.AssignInt("lr", 3))
    b.append(o.AssignInt("epochs", 3))
    b.close()
    dying = Replicator(
        run, DyingSink(store, die_at=1), config, gate=ProjectGate(), limiter=anyio.CapacityLimiter(1)
    )
    with pytest.raises(Killed):
        await dying.sync_pass(final=True)
    assert store.applied[(run.name, b.writer_id)] == 2  # applied, but the state file never knew
    known = read_state(run).writers.get(b.writer_id)
    assert known is None or known.store_acked == 0
    result = await replicator(run, store, config).sync_until_done()
    assert result.pending == 0
    values = store.values(run.name)
    assert values["lr"] == ("float", 3.0) and values["epochs"] == ("int", 3)
    assert any("coerced" in r for r in values["sys/sync/conflicts"][1])


@pytest.mark.asyncio
async def test_unknown_operation_stops_only_that_writer_loudly(runs, config):
    run = runs.create("newer")
    w = runs.writer(run, writer_id="a" * 16)
    w.append(o.AssignInt("a", 1))
    # a frame a newer client would write: an op tag this version does not know (single-threaded
    # here, so no need for the writer's turn)
    w._write_frame(fr.encode_op_body(2, 1.0, msgspec.msgpack.encode(["zz", "x"])), 2)
    w.append(o.AssignInt("b", 2))
    w.close()
    other = ints(runs, run, 2)
    other.close()
    store = MemoryStore()
    result = await replicator(run, store, config).sync_until_done()
    assert result.stopped
    assert set(store.values(run.name)) == {"a", "v/0", "v/1"}  # nothing after the unknown op is skipped to
    assert "unknown operation" in read_state(run).last_error


class SlowBlobSink(MemorySink):
    """A memory sink whose blob uploads finish only once another writer's batch was written."""

    def __init__(self, store, slow_writer):
        super().__init__(store)
        self.slow_writer = slow_writer
        self.other_written = anyio.Event()

    async def put_blob(self, run, ref, path):
        await self.other_written.wait()
        await super().put_blob(run, ref, path)

    async def write_batch(self, run, writer_id, entries, after=None):
        if writer_id != self.slow_writer:
            self.other_written.set()
        return await super().write_batch(run, writer_id, entries)


@pytest.mark.asyncio
async def test_a_writer_waiting_for_a_large_blob_does_not_hold_back_the_others(runs, config):
    run = runs.create("slow-blob")
    a = runs.writer(run, writer_id="a" * 16)  # synced first, and its blob is slow
    a.append(o.AssignFile("model", runs.file_ref(run, b"big weights")))
    a.close()
    b = runs.writer(run, writer_id="b" * 16)
    b.append(o.AssignString("note", "B"))
    b.close()
    store = MemoryStore()
    rep = Replicator(
        run, SlowBlobSink(store, a.writer_id), config, gate=ProjectGate(), limiter=anyio.CapacityLimiter(4)
    )
    with anyio.fail_after(20):
        result = await rep.sync_until_done()
    assert result.pending == 0
    assert set(store.values(run.name)) == {"model", "note"}
