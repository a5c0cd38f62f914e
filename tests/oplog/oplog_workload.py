"""A deterministic logging workload: what is logged at each sequence number is a function of it.

A child process drives a writer with :func:`log_next` as fast as it can; after it is killed, the
parent checks every record read back against :func:`expected_at` without any channel but the log.
"""

from __future__ import annotations

from neptune_sync.oplog import ops
from neptune_sync.oplog.writer import OpLogWriter

T0 = 1_700_000_000.0
RUN_LENGTH = 50  # consecutive points of one series before the workload switches series
JUMP_EVERY = 5000  # every this many seqs, timestamps jump ahead by more than 71 minutes
JUMP = 5000.0


def ts_at(seq: int) -> float:
    return T0 + seq * 1e-3 + (seq // JUMP_EVERY) * JUMP


def _mix(seq: int) -> int:
    return (seq * 2654435761 >> 7) % 100


def expected_at(seq: int) -> tuple[str, str, float, float] | ops.Op:
    """What the workload logs at ``seq``: a float point ``("point", path, step, value)`` or an op.

    A series op with n points (LogStrings) occupies ``seq .. seq + n - 1``.
    """
    kind = _mix(seq)
    if kind < 85:
        series = (seq // RUN_LENGTH) % 4
        step = seq / 4 if series == 3 else seq  # series 3 has float steps, some of them whole
        return ("point", f"train/m{series}", step, seq * 0.001 - series)
    ts = ts_at(seq)
    if kind < 89:
        return ops.AssignFloat(f"params/f{seq % 7}", seq * 0.25)
    if kind < 93:
        return ops.AssignString(f"params/s{seq % 5}", f"value {seq}")
    if kind < 96:
        return ops.AddStrings("sys/tags", (f"tag{seq}", f"t{seq % 3}"))
    if kind < 98:
        return ops.AssignInt("params/epoch", seq)
    n = 1 + seq % 3
    return ops.LogStrings(
        "logs/text", tuple(ops.StringPoint(seq + i, f"line {seq + i}", ts) for i in range(n))
    )


def log_next(writer: OpLogWriter) -> int:
    """Log what the workload logs at the writer's next sequence number; returns the last seq used."""
    seq = writer.last_seq + 1
    what = expected_at(seq)
    if isinstance(what, tuple):
        return writer.append_float(what[1], what[2], what[3], ts_at(seq))
    return writer.append(what, ts_at(seq))


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
