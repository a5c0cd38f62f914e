"""The reader API the daemon uses: resuming from a frame offset, and reading a whole run."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from oplog_helpers import assert_same_records, new_writer, records_of
from oplog_strategies import ModelLogger, calls

from neptune_sync.oplog.reader import SegmentReader, read_run, segment_files


@settings(max_examples=40, deadline=None, print_blob=True)
@given(calls=calls)
def test_reading_from_any_frame_offset_yields_exactly_the_frames_from_there(calls):
    tmp = Path(tempfile.mkdtemp(prefix="oplog-reader-"))
    try:
        writer = new_writer(tmp, segment_size=1 << 20)
        logger = ModelLogger(writer)
        for call in calls:
            logger.log(call)
        writer.close()
        (path,) = segment_files(tmp)
        with SegmentReader(path) as reader:
            found = list(reader.entries())
            # a multi-series points frame yields several entries at the same offset
            for offset in dict.fromkeys(offset for offset, _ in found):
                assert list(reader.entries(offset)) == [x for x in found if x[0] >= offset]
        assert_same_records(records_of([e for _, e in found]), logger.model)
    finally:
        shutil.rmtree(tmp)


def test_read_run_reads_every_writer_whole_and_in_order(segments):
    models = {}
    for n in (3000, 10, 1500):  # three writers of one run, with rotations
        writer = new_writer(segments, segment_size=8 << 10)
        logger = ModelLogger(writer)
        for i in range(n):
            logger.log(("point", "loss", i, i / 3, 0.01))
        writer.close()
        models[writer.writer_id] = logger.model
    got: dict[str, list] = {}
    for header, entry in read_run(segments):
        got.setdefault(header.writer_id, []).append(entry)
    assert got.keys() == models.keys()
    for wid, model in models.items():
        assert_same_records(records_of(got[wid]), model)


def test_a_growing_points_frame_reread_from_its_offset_has_the_earlier_points_as_a_prefix(
    writer_factory, segments
):
    writer = writer_factory()
    for i in range(10):
        writer.append_float("loss", i, i * 1.5, 1e9 + i)
    (path,) = segment_files(segments)
    with SegmentReader(path) as reader:
        ((offset, before),) = list(reader.entries())
        for i in range(10, 15):
            writer.append_float("loss", i, i * 1.5, 1e9 + i)
        ((again, after),) = list(reader.entries(offset))
    assert again == offset and after.seq == before.seq == 1
    assert after.op.points[:10] == before.op.points
    assert [p.value for p in after.op.points] == [i * 1.5 for i in range(15)]
