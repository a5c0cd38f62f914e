"""Starting logging children and SIGKILLing them at random moments: at any call, in the middle of a
segment rotation (small segments rotate every few thousand points) or inside ``run.stop()``."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from torture_procs import kill, start_child
from torture_segments import frames

SEGMENT_SIZES = (8 << 10, 32 << 10, 256 << 10)  # ~400 to ~16,000 points: rotations are frequent


@dataclass
class Fate:
    """What happens to one child: ``kill`` after ``delay`` s of logging (counted from the return of
    ``init_run``), ``kill-early`` ``delay`` s after its start (in start-up or ``init_run``),
    ``kill-in-stop`` ``delay`` s after it entered ``stop()``, or ``stop`` (it ends on its own)."""

    kind: str
    delay: float
    calls: int


def random_fate(rng: random.Random) -> Fate:
    r = rng.random()
    if r < 0.05:
        return Fate("kill-early", rng.uniform(0.05, 0.4), -1)
    if r < 0.6:
        return Fate("kill", rng.choice([rng.uniform(0, 0.05), rng.uniform(0, 0.4)]), -1)
    if r < 0.85:
        return Fate("kill-in-stop", rng.uniform(0, 0.004), rng.randint(50, 3000))
    return Fate("stop", 0.0, rng.randint(50, 3000))


def _last_line(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            tail = os.pread(f.fileno(), 200, max(0, size - 200))
    except FileNotFoundError:
        return b""
    return tail.rstrip(b"\n").rpartition(b"\n")[2]


@dataclass
class Tally:
    kills: int = 0
    in_stop: int = 0
    early: int = 0  # killed before init_run returned
    children: int = 0
    at_rotation: int = 0  # killed writers whose log shows a rotation under way (see rotation_under_way)


def run_children(specs: list[dict], fates: list[Fate], data_dir: Path, tally: Tally, timeout: float = 120) -> None:
    """Start every spec at once and carry out its fate; returns when all have ended."""
    before = set(data_dir.glob("runs/*/segments/*.seg"))
    procs, started, since = [], time.monotonic(), {}
    for spec, fate in zip(specs, fates, strict=True):
        spec["calls"] = fate.calls
        procs.append(start_child(spec, data_dir))
    tally.children += len(procs)
    live = set(range(len(procs)))
    while live:
        now = time.monotonic()
        assert now - started < timeout, f"children {sorted(live)} still running after {timeout} s"
        for i in sorted(live):
            proc, fate, journal = procs[i], fates[i], Path(specs[i]["journal"])
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")
                assert proc.returncode == 0, f"child {specs[i]['tag']} failed ({proc.returncode}): {err[-2000:]}"
                live.discard(i)
                kill(proc)
                continue
            last = _last_line(journal)
            if fate.kind == "kill-early" or (fate.kind == "kill" and last and b'"init"' not in last):
                since.setdefault(i, now)
            if fate.kind == "kill-in-stop" and b'"stop"' in last:
                since.setdefault(i, now)
            due = i in since and now - since[i] >= fate.delay
            if due:
                kill(proc)
                live.discard(i)
                tally.kills += 1
                last = _last_line(journal)
                tally.in_stop += b'"stop"' in last
                tally.early += last == b"" or b'"init"' in last
        time.sleep(0.001)
    tally.at_rotation += rotations_under_way(data_dir, before)


def rotations_under_way(data_dir: Path, before: set[Path]) -> int:
    """Writers (of segments not in ``before``) killed in a rotation: a segment left under its
    temporary name, a newest segment without a frame yet, or an older one not trimmed yet."""
    writers: dict[str, list[Path]] = {}
    for seg in set(data_dir.glob("runs/*/segments/*.seg")) - before:
        writers.setdefault(seg.name.rpartition("-")[0], []).append(seg)
    caught = 0
    for writer, segments in writers.items():
        segments.sort()
        sizes = {seg.stat().st_size for seg in segments[:-1]}
        tmp = any(segments[0].parent.glob(f".{writer}-*.tmp"))
        newest_empty = len(segments) > 1 and not frames(segments[-1].read_bytes())
        caught += tmp or newest_empty or len(sizes) > 0 and max(sizes) in SEGMENT_SIZES
    return caught
