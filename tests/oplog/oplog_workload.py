"""A deterministic logging workload: what is logged at each sequence number is a function of it.

A child process drives a writer with :func:`log_block` as fast as it can; after it is killed, the
parent checks every record read back against :func:`expected_at` without any channel but the log.
The workload comes in blocks of 64 seqs, as a training loop logs: a run of points of one series
(a growing points frame, the hot path), then a few ops.
"""

from __future__ import annotations

from neptune_sync.oplog.writer import OpLogWriter
from neptune_sync.wire import ops

T0 = 1_700_000_000.0
BLOCK = 64
POINTS_PER_BLOCK = 59
JUMP_EVERY = 5000  # every this many seqs, timestamps jump ahead by more than 71 minutes
JUMP = 5000.0
PATHS = tuple(f"train/m{series}" for series in range(4))


def ts_at(seq: int) -> float:
    return T0 + seq * 1e-3 + (seq // JUMP_EVERY) * JUMP


def _step(seq: int, series: int) -> float:
    return seq / 4 if series == 3 else seq  # series 3 has float steps, every fourth one whole


def expected_at(seq: int) -> tuple[str, str, float, float] | ops.Op:
    """What the workload logs at ``seq``: a float point ``("point", path, step, value)`` or an op.

    A series op with n points (LogStrings) occupies ``seq .. seq + n - 1``.
    """
    block, i = divmod(seq - 1, BLOCK)
    series = block % 4
    if i < POINTS_PER_BLOCK:
        return ("point", PATHS[series], _step(seq, series), seq * 0.001 - series)
    if i == POINTS_PER_BLOCK:
        return ops.AssignFloat(f"params/f{block % 7}", seq * 0.25)
    if i == POINTS_PER_BLOCK + 1:
        return ops.AssignString(f"params/s{block % 5}", f"value {seq}")
    if i == POINTS_PER_BLOCK + 2:
        return ops.AddStrings("sys/tags", (f"tag{seq}", f"t{block % 3}"))
    n = BLOCK - i if block % 2 else 1  # the rest of the block, or one point and then an int
    if n == 1 and i == BLOCK - 1:
        return ops.AssignInt("params/epoch", block)
    ts = ts_at(seq)
    return ops.LogStrings(
        "logs/text", tuple(ops.StringPoint(seq + k, f"line {seq + k}", ts) for k in range(n))
    )


def log_block(writer: OpLogWriter, block: int) -> int:
    """Log block ``block`` (seqs ``64 * block + 1`` on) with a fresh writer's seqs; returns the last."""
    first = block * BLOCK + 1
    series = block % 4
    path = PATHS[series]
    for seq in range(first, first + POINTS_PER_BLOCK):
        writer.append_float(path, _step(seq, series), seq * 0.001 - series, ts_at(seq))
    seq = first + POINTS_PER_BLOCK
    while seq < first + BLOCK:
        seq = writer.append(expected_at(seq), ts_at(seq)) + 1
    return seq - 1


def check_records(entries: list) -> int:
    """Assert ``entries`` are exactly the workload from seq 1 on, without gaps; returns the last seq."""
    seq = 1
    for entry in entries:
        assert entry.seq == seq, f"expected seq {seq}, read {entry.seq}"
        if isinstance(entry.op, ops.LogFloats):
            for i, point in enumerate(entry.op.points):
                want = expected_at(seq + i)
                got = ("point", entry.op.path, point.step, point.value)
                assert got == want, f"seq {seq + i}: read {got}, logged {want}"
                assert abs(point.ts - ts_at(seq + i)) < 2e-6, f"seq {seq + i}: ts {point.ts}"
            seq += len(entry.op.points)
        else:
            assert entry.op == expected_at(seq), f"seq {seq}: read {entry.op}, logged {expected_at(seq)}"
            assert entry.ts == ts_at(seq), f"seq {seq}: ts {entry.ts}"
            seq = entry.last_seq + 1
    return seq - 1
