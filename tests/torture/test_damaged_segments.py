"""Damaged copies of finished runs (bit flips, truncations, zeroed ranges, zeroed tails, deleted
segments), then ``neptune-sync verify`` and ``neptune-sync sync``: every record outside the damage
arrives in the store, nothing is invented, and every copy that lost records is reported by both
(non-zero exit, naming the run).

Which records a damage touched is computed by torture_segments, an independent reading of the
documented segment format, from the segments as they were before the damage.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field

import pytest
from torture_check import journals
from torture_config import count, figures, seed
from torture_model import build
from torture_procs import StoreProcess, StoreReader, run_cli, start_child
from torture_segments import KINDS, Damage, damage, data_start, frames

PROJECT = "torture/damage"


@dataclass
class Copy:
    run: str
    run_key: str
    damage: Damage
    lost_intact: list = field(default_factory=list)
    lost_damaged: int = 0
    invented: list = field(default_factory=list)
    duplicated: int = 0


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """Log the runs, damage each, verify and sync them all once; the copies and the two outputs."""
    tmp = tmp_path_factory.mktemp("damage")
    s = seed("damaged segments")
    rng = random.Random(s)
    n = count("damaged_copies", 10, 300)
    data, journal = tmp / "data", tmp / "journal"
    (tmp / "work").mkdir()
    spec = {
        "journal": str(journal), "project": PROJECT, "runs": [f"d{i}" for i in range(n)], "tag": "p0",
        "seed": s, "calls": 3000, "segment_size": 16 << 10, "upload_every": 0, "scratch": False,
        "workdir": str(tmp / "work"),
    }
    child = start_child(spec, data)
    assert child.wait(600) == 0, child.stderr.read().decode()
    child.stderr.close()
    copies = []
    for run_json in sorted(data.glob("runs/*/run.json")):
        identity = json.loads(run_json.read_text())
        segments = sorted(run_json.parent.glob("segments/*.seg"))
        kind = KINDS[len(copies) % len(KINDS)]
        target = rng.choice(segments[:-1] if kind == "zero-tail" and len(segments) > 1 else segments)
        original = target.read_bytes()
        copy = Copy(identity["custom_run_id"], run_json.parent.name, damage(target, kind, rng))
        copy.frames, copy.header_end = frames(original), data_start(original)
        copy.others = [f for seg in segments if seg != target for f in frames(seg.read_bytes())]
        copies.append(copy)
    store = StoreProcess(tmp / "store", PROJECT)
    store.start()
    try:
        verify = run_cli(["verify"], data, timeout=600)
        sync = run_cli(["sync", "-q", "--timeout", "300"], data, store.token, timeout=600)
        reader = StoreReader(store.url, store.token, PROJECT)
        models = build(journals([journal]))
        for copy in copies:
            compare_copy(copy, models[copy.run], reader.view(copy.run) or {})
    finally:
        store.close()
    figures("damaged segments", copies=len(copies), kinds=dict(Counter(c.damage.kind for c in copies)),
            lost_records=sum(c.lost_damaged for c in copies),
            copies_that_lost=sum(c.lost_damaged > 0 for c in copies),
            lost_intact=sum(len(c.lost_intact) for c in copies),
            invented=sum(len(c.invented) for c in copies), duplicated=sum(c.duplicated for c in copies))
    return s, copies, verify, sync


def compare_copy(copy: Copy, model, view: dict) -> None:
    """Series points of one damaged run: the store against the journal and the damage."""
    damaged_keys = {k for f in copy.frames if copy.damage.touches(f, copy.header_end) for k in f.keys}
    known = {k for f in copy.frames for k in f.keys} | {k for f in copy.others for k in f.keys}
    for path, points in model.points.items():
        got = view.get(path, (None, []))[1]
        steps = Counter(float(p[0]) for p in got)
        copy.duplicated += sum(c - 1 for c in steps.values())
        for step, value, _ in got:
            event = points.get(float(step))
            if event is None or event.value != value:
                copy.invented.append((path, step, value))
        for step in points:
            key = ("pt", path, step)
            assert key in known, f"{key} is in the journal but in no frame: the test's decoder is wrong"
            if step not in steps:
                if key in damaged_keys:
                    copy.lost_damaged += 1
                else:
                    copy.lost_intact.append(key)


def unreported_summary(unreported: list[Copy], copies: list[Copy]) -> str:
    lost = [c for c in copies if c.lost_damaged]
    by_kind = dict(Counter(c.damage.kind for c in unreported))
    return f"{len(unreported)} of {len(lost)} copies that lost records are not reported (by kind: {by_kind}):"


def describe(copy: Copy) -> str:
    return f"{copy.run} ({copy.damage.kind} of {copy.damage.segment.name} at {copy.damage.ranges[:3]})"


def test_every_record_outside_the_damage_arrives_and_nothing_is_invented(damaged):
    s, copies, _, _ = damaged
    bad = [
        f"{describe(c)}: {len(c.lost_intact)} intact points lost (e.g. {c.lost_intact[:3]}), "
        f"{len(c.invented)} invented (e.g. {c.invented[:3]}), {c.duplicated} duplicated"
        for c in copies
        if c.lost_intact or c.invented or c.duplicated
    ]
    assert not bad, f"seed {s}:\n" + "\n".join(bad)


def test_verify_reports_every_copy_that_lost_records(damaged):
    s, copies, (code, out), _ = damaged
    lines = out.splitlines()
    unreported = [
        c
        for c in copies
        if c.lost_damaged and not any(c.run_key in line and not line.endswith(", ok") for line in lines)
    ]
    assert code != 0 or not any(c.lost_damaged for c in copies), f"seed {s}: verify exited 0:\n{out[-2000:]}"
    assert not unreported, f"seed {s}: verify: {unreported_summary(unreported, copies)}\n" + "\n".join(
        f"{describe(c)}: {c.lost_damaged} records lost" for c in unreported
    )


def test_sync_exits_non_zero_naming_every_copy_that_lost_records(damaged):
    s, copies, _, (code, out) = damaged
    clean = {line.split(":")[0] for line in out.splitlines() if line.endswith(": synced")}
    unreported = [c for c in copies if c.lost_damaged and c.run_key in clean]
    assert not unreported, f"seed {s}: sync: {unreported_summary(unreported, copies)}\n" + "\n".join(
        f"{describe(c)}: {c.lost_damaged} records lost, yet 'synced'" for c in unreported
    )
    assert code != 0 or not any(c.lost_damaged for c in copies), f"seed {s}: sync exited 0:\n{out[-2000:]}"
