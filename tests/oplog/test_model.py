"""State-machine test of the writer against a list model: appends of ops and float points
(several series, int and float steps, timestamps that go back and jump past a frame's span),
rotations into tiny segments, flushes, and closing and reopening with a new writer. After every
step the log is read back (while the writer is alive) and compared with the model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from oplog_helpers import assert_same_records, new_writer, read_writers, records_of
from oplog_strategies import T0, ModelLogger, paths, points, single_ops

from neptune_sync.oplog.points import MAX_POINTS_PER_FRAME
from neptune_sync.wire import ops


class WriterMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="oplog-model-"))
        self.segments = self.tmp / "segments"
        self.writer = None
        self.logger: ModelLogger | None = None
        self.model: dict[str, list[tuple[int, object]]] = {}  # writer id -> (seq, record)
        self.flushed: dict[str, int] = {}  # buffered mode: records sure to be in the file

    @initialize(durability=st.sampled_from(["mmap", "buffered"]), size=st.sampled_from([4608, 8192]))
    def open_first(self, durability: str, size: int) -> None:
        self.durability, self.segment_size = durability, size
        self.reopen()

    @rule(call=points)
    def append_point(self, call: tuple) -> None:
        self.logger.log(call)

    @rule(calls=st.lists(points, min_size=20, max_size=300), flush_every=st.sampled_from([0, 7, 60]))
    def append_many_points(self, calls: list[tuple], flush_every: int) -> None:
        for i, call in enumerate(calls, 1):
            self.logger.log(call)
            if flush_every and i % flush_every == 0:
                self.flush()

    @rule(
        path=paths,
        n=st.integers(1, 1500),
        float_steps=st.booleans(),
        dt=st.sampled_from([0.0, 1e-3, 1.0]),
        flush_every=st.sampled_from([0, 500]),
    )
    def append_run(self, path: str, n: int, float_steps: bool, dt: float, flush_every: int) -> None:
        """A training loop: many points of one series in a row (fills frames and segments)."""
        first = len(self.logger.model)
        for i in range(1, n + 1):
            self.logger.log(("point", path, first + i + (0.5 if float_steps else 0), i * 0.1, dt))
            if flush_every and i % flush_every == 0:
                self.flush()

    @rule(op=single_ops)
    def append_op(self, op) -> None:
        self.logger.log(("op", op))

    @rule()
    def flush(self) -> None:
        self.writer.flush()
        self.flushed[self.writer.writer_id] = len(self.logger.model)

    @precondition(lambda self: len(self.model) < 4)
    @rule()
    def reopen(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.flushed[self.writer.writer_id] = len(self.logger.model)
        self.writer = new_writer(self.segments, durability=self.durability, segment_size=self.segment_size)
        self.logger = ModelLogger(self.writer)
        self.model[self.writer.writer_id] = self.logger.model
        self.flushed[self.writer.writer_id] = 0

    @invariant()
    def log_reads_back_as_modelled(self) -> None:
        if self.writer is None:
            return
        runs = read_writers(self.segments)
        for entries in runs.values():  # the unit of damage stays small
            assert all(len(getattr(e.op, "points", ())) <= MAX_POINTS_PER_FRAME for e in entries)
        read = {wid: records_of(entries) for wid, entries in runs.items()}
        for wid, model in self.model.items():
            got = read.get(wid, [])
            if self.durability == "mmap":  # every returned call is in the file at once
                assert_same_records(got, model)
            else:  # flushed calls are; later ones may be (a rotation writes them out)
                assert self.flushed[wid] <= len(got) <= len(model)
                assert_same_records(got, model[: len(got)])

    def teardown(self) -> None:
        if self.writer is not None:
            self.writer.close()
        shutil.rmtree(self.tmp)


WriterMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=20, deadline=None, print_blob=True
)
test_writer_matches_list_model = WriterMachine.TestCase


def test_a_long_series_is_cut_into_frames_of_at_most_max_points(writer_factory, segments):
    writer = writer_factory(segment_size=1 << 20)
    for i in range(5000):
        writer.append_float("loss", i, i * 0.25, T0 + i)
    writer.close()
    ((_, entries),) = read_writers(segments).items()
    assert [len(e.op.points) for e in entries] == [1024] * 4 + [904]
    assert all(isinstance(e.op, ops.LogFloats) for e in entries)
    assert [p.value for e in entries for p in e.op.points] == [i * 0.25 for i in range(5000)]
