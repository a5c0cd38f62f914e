"""Property: whatever lines of a queue file are damaged, the reader yields exactly the intact
records, in order, and reports each damaged line once, at its byte offset."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from neptune_sync.importers.neptune1_queue import describe_queue, read_queue

# a damaged line has some non-blank byte (a blank line carries nothing and is skipped silently)
GARBAGE = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"{", b"(") + b"#")


def _line(version: int) -> bytes:
    obj = {"type": "AssignInt", "path": ["v", str(version)], "value": version}
    return json.dumps({"obj": obj, "version": version, "at": 1.0 * version}).encode() + b"\n"


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=30),
    damaged=st.sets(st.integers(min_value=0, max_value=29)),
    garbage=GARBAGE,
    torn_at=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
)
def test_reader_yields_exactly_the_intact_lines(n, damaged, garbage, torn_at):
    damaged = {i for i in damaged if i < n}
    lines = [garbage + b"\n" if i in damaged else _line(i + 1) for i in range(n)]
    if torn_at is not None and n - 1 not in damaged:  # the last record cut short by a crash mid-write
        lines[-1] = lines[-1][: min(torn_at, len(lines[-1]) - 2)]
        damaged.add(n - 1)
    with tempfile.TemporaryDirectory() as tmp:
        queue_dir = Path(tmp) / ".neptune" / "offline" / "run__abc__1__k"
        queue_dir.mkdir(parents=True)
        (queue_dir / "data-1.log").write_bytes(b"".join(lines))
        problems = []

        got = [op.version for op in read_queue(describe_queue(queue_dir), problems.append)]

    assert got == [i + 1 for i in range(n) if i not in damaged]
    offsets = [sum(len(x) for x in lines[:i]) for i in sorted(damaged)]
    assert [p.offset for p in problems] == offsets
