"""NQL filters and table sorting run in SQL, compared with an independent model on both backends.

Random runs (every simple field type, series, string sets, states, a trash) go into a real storage
through ``apply_batch``. Random filters, written here as small tuples, are rendered to NQL text in
varied spellings and run through the store's query; this file's own evaluator (which imports
nothing of the store) says which runs must match, and in what order a sort must list them.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from store_helpers import PROJECT, request

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import RunInfo
from neptune_sync_store.query import TableQuery, parse_nql

pytestmark = pytest.mark.asyncio

UTC = dt.timezone.utc
PATHS = ["a", "b", "p/x", "p/y", "s", "sys/tags", "sys/state", "when"]
FLOATS = [-1.5, 0.0, 0.5, 0.9, 1.0, 2.0, 1e10]
INTS = [-3, 0, 1, 2, 7]
STRINGS = ["", "abc", "abd", "ab", "B", "b", "x.y", "é", "VGG", "a b", "2"]
TAGS = ["x", "y", "z", "é", "a b"]
STATES = ["Active", "Inactive", "running", "idle", "ACTIVE"]
MOMENTS = [
    dt.datetime(2024, 1, 1, tzinfo=UTC),
    dt.datetime(2024, 6, 1, 12, tzinfo=UTC),
    dt.datetime(2025, 1, 1, tzinfo=UTC),
]
PATTERNS = ["^a", "b$", "a.c", "é", "^$", "B|x", "[a-c]+d", "^V"]
TYPES = ["float", "int", "bool", "string", "datetime", "stringSet", "floatSeries", "stringSeries"]

# the model's rules (see the module docstring of neptune_sync_store.query, restated here)
ALLOWED = {
    "float": {"float", "int", "floatSeries"},
    "int": {"float", "int", "floatSeries"},
    "bool": {"bool"},
    "datetime": {"datetime"},
    "string": {"string", "stringSeries"},
    "stringSet": {"stringSet"},
}
NUMERIC = {"float", "int", "bool", "datetime", "floatSeries"}
TEXTUAL = {"string", "stringSeries"}
OPS = {
    "float": ["=", "!=", ">", ">=", "<", "<="],
    "int": ["=", "!=", ">", ">=", "<", "<="],
    "datetime": ["=", "!=", ">", ">=", "<", "<="],
    "bool": ["=", "!="],
    "string": ["=", "!=", ">", ">=", "<", "<=", "MATCHES", "NOT MATCHES", "CONTAINS", "NOT CONTAINS"],
    "stringSet": ["CONTAINS", "NOT CONTAINS"],
    "experimentState": ["=", "!="],
}


# ---------------------------------------------------------------- runs


def random_value(rng: random.Random, ftype: str):
    if ftype in ("float", "floatSeries"):
        return rng.choice(FLOATS)
    if ftype == "int":
        return rng.choice(INTS)
    if ftype == "bool":
        return rng.random() < 0.5
    if ftype in ("string", "stringSeries"):
        return rng.choice(STRINGS)
    if ftype == "datetime":
        return rng.choice(MOMENTS)
    return sorted(set(rng.sample(TAGS, rng.randint(0, 3))))


def random_runs(rng: random.Random, n: int) -> list[dict]:
    runs = []
    created = rng.sample(range(1000, 1000 + 10 * n), n)
    for i in range(n):
        fields = {}
        for path in PATHS:
            if rng.random() < 0.35:
                continue
            if path == "sys/tags":
                ftype = "stringSet"
            elif path == "sys/state":
                ftype, value = "string", rng.choice(STATES)
                fields[path] = (ftype, value)
                continue
            else:
                ftype = rng.choice(TYPES)
            fields[path] = (ftype, random_value(rng, ftype))
        runs.append({"key": f"k{i:03d}", "created": float(created[i]), "fields": fields, "trashed": False})
    return runs


def op_of(path: str, ftype: str, value, ts: float) -> ops.Op:
    if ftype == "float":
        return ops.AssignFloat(path, value)
    if ftype == "int":
        return ops.AssignInt(path, value)
    if ftype == "bool":
        return ops.AssignBool(path, value)
    if ftype == "string":
        return ops.AssignString(path, value)
    if ftype == "datetime":
        return ops.AssignDatetime(path, value)
    if ftype == "stringSet":
        return ops.AddStrings(path, tuple(value))
    if ftype == "floatSeries":  # the last point (highest step) holds the value
        return ops.LogFloats(path, (ops.FloatPoint(0.0, 123.0, ts), ops.FloatPoint(1.0, value, ts + 1)))
    return ops.LogStrings(path, (ops.StringPoint(0.0, "zzz", ts), ops.StringPoint(1.0, value, ts + 1)))


async def load(storage, runs: list[dict]) -> None:
    for run in runs:
        entries, seq = [], 1
        for path, (ftype, value) in run["fields"].items():
            op = op_of(path, ftype, value, run["created"] + 0.5)
            entries.append(Entry(seq, run["created"] + seq * 0.001, op))
            seq += ops.op_point_count(op)
        if not entries:
            entries = [Entry(1, run["created"], ops.AssignFloat("other", 1.0))]
            run["fields"]["other"] = ("float", 1.0)
        await storage.apply_batch(request(entries, run=RunInfo(PROJECT, run["key"], f"R-{run['key']}")))
    own = RunInfo(PROJECT, "project-fields", "project:ws/proj", kind="project")
    await storage.apply_batch(request([Entry(1, 1.0, ops.AssignFloat("a", 1.0))], run=own))
    trashed = [r for r in runs if r["key"].endswith(("3", "7"))]
    await storage.trash(PROJECT, [f"R-{r['key']}" for r in trashed], 5.0)
    for r in trashed:
        r["trashed"] = True


# ---------------------------------------------------------------- filters


def random_condition(rng: random.Random) -> tuple:
    kind = rng.choice([*OPS, None, "trashed"])
    if kind == "trashed":
        return ("cmp", "sys/trashed", "bool", rng.choice(["=", "!="]), rng.random() < 0.5)
    if kind is None:
        return ("cmp", rng.choice(PATHS), rng.choice([None, "float", "string", "stringSet"]), "EXISTS", None)
    if kind == "experimentState":
        return (
            "cmp",
            "sys/state",
            kind,
            rng.choice(OPS[kind]),
            rng.choice(["active", "inactive", "running", "idle"]),
        )
    op = rng.choice(OPS[kind])
    path = rng.choice(PATHS)
    if kind == "stringSet":
        value = rng.choice([*TAGS, "w"])
    elif "MATCHES" in op:
        value = rng.choice(PATTERNS)
    elif "CONTAINS" in op:
        value = rng.choice(["a", "b", "", "é", " ", "x.y"])
    elif kind == "datetime":
        value = rng.choice([*MOMENTS, dt.datetime(2024, 3, 1, tzinfo=UTC)])
    elif kind == "bool":
        value = rng.random() < 0.5
    elif kind == "int":
        value = rng.choice([*INTS, 5])
    elif kind == "float":
        value = rng.choice([*FLOATS, 0.7])
    else:
        value = rng.choice([*STRINGS, "abcd"])
    return ("cmp", path, kind, op, value)


def random_filter(rng: random.Random, depth: int = 0) -> tuple:
    roll = rng.random()
    if depth >= 3 or roll < 0.45:
        return random_condition(rng)
    if roll < 0.6:
        return ("not", random_filter(rng, depth + 1))
    items = [random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    return (rng.choice(["and", "or"]), items)


def render(rng: random.Random, node: tuple) -> str:
    """NQL text of a filter, spelled in one of the ways 1.x users wrote it."""
    if node[0] == "not":
        return f"{rng.choice(['NOT', 'not', 'Not'])} ({render(rng, node[1])})"
    if node[0] in ("and", "or"):
        word = rng.choice([node[0].upper(), node[0]])
        return "(" + f" {word} ".join(render(rng, i) for i in node[1]) + ")"
    _, path, kind, op, value = node
    name = f"`{path}`" if rng.random() < 0.3 else path
    if kind is not None:
        spelled = {"int": rng.choice(["int", "integer"]), "bool": rng.choice(["bool", "boolean"])}.get(
            kind, kind
        )
        name += ":" + spelled if rng.random() < 0.5 else ": " + spelled
    if op == "EXISTS":
        return f"({name} exists)"
    if op == "=" and rng.random() < 0.3:
        op = "=="
    return f"({name} {op} {literal(rng, kind, value)})"


def literal(rng: random.Random, kind: str, value) -> str:
    if isinstance(value, bool):
        return rng.choice(["true", "True", "TRUE"]) if value else rng.choice(["false", "False"])
    if isinstance(value, dt.datetime):
        return '"' + value.isoformat().replace("+00:00", rng.choice(["Z", "+00:00"])) + '"'
    if isinstance(value, (int, float)):
        return repr(value) if rng.random() < 0.7 else f'"{value!r}"'
    text = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# ---------------------------------------------------------------- the model


def matches(run: dict, node: tuple) -> bool:
    if node[0] == "not":
        return not matches(run, node[1])
    if node[0] == "and":
        return all(matches(run, i) for i in node[1])
    if node[0] == "or":
        return any(matches(run, i) for i in node[1])
    _, path, kind, op, value = node
    if path == "sys/trashed":
        return run["trashed"] == value if op == "=" else run["trashed"] != value
    held = run["fields"].get(path)
    if kind == "experimentState":
        active = held is not None and held[0] == "string" and held[1].lower() in ("active", "running")
        wanted = value in ("active", "running")
        return (active == wanted) if op == "=" else (active != wanted)
    if held is None or (kind is not None and held[0] not in ALLOWED[kind]):
        return False
    ftype, stored = held
    if op == "EXISTS":
        return True
    negated = op.startswith("NOT ")
    base = op.removeprefix("NOT ")
    if kind == "stringSet":
        return (value in stored) != negated
    if base == "MATCHES":
        return (re.search(value, stored) is not None) != negated
    if base == "CONTAINS":
        return (value in stored) != negated
    left = number(stored) if kind in ("float", "int", "bool", "datetime") else stored
    right = number(value) if kind in ("float", "int", "bool", "datetime") else value
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[base]


def number(value) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)


def ordered(runs: list[dict], sort_by: str | None, ascending: bool) -> list[str]:
    desc = not ascending
    keyed = sorted(runs, key=lambda r: (r["created"], r["key"]), reverse=desc)
    if sort_by is None:
        return [r["key"] for r in keyed]

    def group(r: dict) -> tuple[int, object]:
        held = r["fields"].get(sort_by)
        if held is not None and held[0] in NUMERIC:
            return 0, number(held[1])
        if held is not None and held[0] in TEXTUAL:
            return 1, held[1]
        return 2, 0

    groups: dict[int, list[dict]] = {0: [], 1: [], 2: []}
    for r in keyed:
        groups[group(r)[0]].append(r)
    out: list[str] = []
    for g in (0, 1, 2):
        out += [r["key"] for r in sorted(groups[g], key=lambda r: group(r)[1], reverse=desc)]
    return out


# ---------------------------------------------------------------- the test


@pytest.mark.parametrize("seed", [1, 2])
async def test_random_filters_and_sorts_agree_with_the_model(storage, seed):
    rng = random.Random(seed)
    runs = random_runs(rng, 80)
    await load(storage, runs)
    for _ in range(250):
        tree = random_filter(rng)
        text = render(rng, tree)
        trashed = rng.choice([False, True, None])
        sort_by = rng.choice([None, "sys/creation_time", *PATHS])
        ascending = rng.random() < 0.5
        kept = [r for r in runs if matches(r, tree) and (trashed is None or r["trashed"] == trashed)]
        expected = ordered(kept, sort_by, ascending)
        query = TableQuery(
            PROJECT,
            filter=parse_nql(text),
            trashed=trashed,
            sort_by=sort_by,
            ascending=ascending,
            columns=["a"],
            limit=1000,
        )
        rows, total = await storage.table_page(query)
        assert [r.run.run_key for r in rows] == expected, (text, sort_by, ascending)
        assert total == len(expected), text
        offset, limit = rng.randint(0, 10), rng.randint(1, 10)
        page, page_total = await storage.table_page(
            TableQuery(
                PROJECT,
                filter=query.filter,
                trashed=trashed,
                sort_by=sort_by,
                ascending=ascending,
                limit=limit,
                offset=offset,
            )
        )
        assert [r.run.run_key for r in page] == expected[offset : offset + limit], text
        assert page_total == len(expected), text
