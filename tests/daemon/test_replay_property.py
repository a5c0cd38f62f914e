"""Property: however a sync is interrupted (the daemon dying before or after the store applied a
batch, at any batch), a restarted replicator ends with the store equal to one clean replay."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from store_model import MemorySink, MemoryStore

from neptune_sync.oplog.layout import RunIdentity, claim_identity, run_dir, segments_dir
from neptune_sync.oplog.reader import read_run
from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops as o
from neptune_syncd.batching import BatchPolicy
from neptune_syncd.config import DaemonConfig
from neptune_syncd.gate import ProjectGate
from neptune_syncd.replicator import Replicator

# one type per path, so the expected result does not depend on conflict resolution
ops = st.one_of(
    st.builds(o.AssignInt, st.sampled_from(["i/a", "i/b"]), st.integers(-5, 5)),
    st.builds(o.AssignString, st.sampled_from(["s/a", "s/b"]), st.text(max_size=5)),
    st.builds(o.DeleteField, st.sampled_from(["i/a", "s/b"])),
    st.just("point"),  # one float point of the series "m"
)


class Crash(Exception):
    pass


class CrashingSink(MemorySink):
    """Dies at the given write_batch calls, before or after the store applied the batch."""

    def __init__(self, store: MemoryStore, crashes: dict[int, bool]) -> None:
        super().__init__(store)
        self.crashes = crashes
        self.calls = 0

    async def write_batch(self, run, writer_id, entries, after=None):
        self.calls += 1
        applied_first = self.crashes.pop(self.calls, None)
        if applied_first is False:
            raise Crash
        response = await super().write_batch(run, writer_id, entries)
        if applied_first:
            raise Crash
        return response


def write_log(root: Path, script: list) -> Path:
    path = run_dir("prop", root)
    claim_identity(path, RunIdentity("team/proj", "prop", "RUN-1"))
    w = OpLogWriter(
        segments_dir(path), project="team/proj", run_key="prop", run_id="RUN-1", segment_size=8192
    )
    step = 0
    for op in script:
        if op == "point":
            w.append_float("m", step, step / 2, 1000.0 + step)
            step += 1
        else:
            w.append(op)
    w.close()
    return path


async def sync_with_crashes(
    path: Path, store: MemoryStore, config: DaemonConfig, crashes: dict[int, bool]
) -> int:
    sink = CrashingSink(store, crashes)
    lives = 0
    while True:
        lives += 1
        replicator = Replicator(path, sink, config, gate=ProjectGate(), limiter=anyio.CapacityLimiter(1))
        try:
            result = await replicator.sync_until_done()
        except Crash:
            continue
        assert result.pending == 0
        return lives


@settings(max_examples=40, deadline=None)
@given(
    script=st.lists(ops, min_size=1, max_size=80),
    max_ops=st.integers(1, 30),
    crashes=st.dictionaries(st.integers(1, 12), st.booleans(), max_size=4),
)
def test_interrupted_syncs_end_equal_to_one_clean_replay(script, max_ops, crashes):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_log(Path(tmp), script)
        config = DaemonConfig(data_dir=tmp, batch=BatchPolicy(max_ops=max_ops), backoff_base=0.0)
        store = MemoryStore()
        wanted = dict(crashes)
        lives = anyio.run(sync_with_crashes, path, store, config, crashes)
        expected = MemoryStore()
        expected.apply_log("prop", [e for _, e in read_run(segments_dir(path))])
        assert store.values("prop") == expected.values("prop")
        assert lives == 1 + len(wanted) - len(crashes)  # every crash that was reached cost one life
        assert msgspec.json.decode((path / "sync" / "state.json").read_bytes())["pending_ops"] == 0
