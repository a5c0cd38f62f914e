"""An independent model of a run's content when several writers log to it.

It imports nothing of neptune-sync: records are plain tuples, and the result is plain Python in
the shapes of the store's read API. The rule it encodes (docs/sync-protocol.md, "Merge of
writers"): every record gets the key (order time, writer id, seq), where the order time is the
largest timestamp of the writer's records so far; all records of all writers are applied in
ascending key, series points one by one.

Records of one writer, in log order (each op takes one seq, each series point one):

    ("assign", path, type, value, ts)          type: float int bool string datetime file
    ("points", path, type, [(step, value, ts)]) type: floatSeries stringSeries fileSeries
    ("clear", path, ts)        ("delete", path, ts)
    ("sadd" | "sremove", path, (str, ...), ts) ("sclear", path, ts)
    ("fsup", path, ((relpath, file), ...), reset, ts)   ("fsdel", path, (relpath, ...), ts)
    ("art", path, sha256, (file_entry_dict, ...), ts)

``file`` values are read-API dicts (sha256, size, name, extension).
"""

from __future__ import annotations

from typing import Any

SERIES = {"floatSeries", "stringSeries", "fileSeries"}


def keyed(
    writers: dict[str, list[tuple]], floors: dict[str, float] | None = None
) -> list[tuple[tuple[float, str, int], tuple]]:
    """Every record (series points split one per record) with its key; a writer's order time
    starts at its floor, if it has one."""
    out = []
    for writer, records in writers.items():
        t, seq = (floors or {}).get(writer, float("-inf")), 0
        for rec in records:
            if rec[0] == "points":
                for step, value, ts in rec[3]:
                    seq += 1
                    t = max(t, ts)
                    out.append(((t, writer, seq), ("point", rec[1], rec[2], step, value, ts)))
            else:
                seq += 1
                t = max(t, rec[-1])
                out.append(((t, writer, seq), rec))
    return sorted(out, key=lambda kr: kr[0])


def content(writers: dict[str, list[tuple]], floors: dict[str, float] | None = None) -> dict[str, tuple[str, Any]]:
    """{path: (type, value)}; a series' value is its [(step, value, ts)] points."""
    fields: dict[str, list] = {}  # path -> [type, value]
    for _, rec in keyed(writers, floors):
        kind, path = rec[0], rec[1]
        field = fields.get(path)
        if kind == "delete":
            fields.pop(path, None)
        elif kind == "clear":
            if field is not None and field[0] in SERIES:
                field[1] = []
        elif kind == "point":
            _, _, ftype, step, value, ts = rec
            field = fields.setdefault(path, [ftype, []])
            if not field[1] or step > max(s for s, _, _ in field[1]):
                field[1].append((step, value, ts))
        elif kind == "assign":
            fields[path] = [rec[2], rec[3]]
        elif kind in ("sadd", "sremove", "sclear"):
            values = fields.setdefault(path, ["stringSet", set()])[1]
            if kind == "sadd":
                values.update(rec[2])
            elif kind == "sremove":
                values.difference_update(rec[2])
            else:
                values.clear()
        elif kind in ("fsup", "fsdel"):
            field = fields.setdefault(path, ["fileSet", {}])
            if kind == "fsup":
                if rec[3]:
                    field[1] = {}
                field[1].update(dict(rec[2]))
            else:
                for rel in rec[2]:
                    field[1].pop(rel, None)
        elif kind == "art":
            fields[path] = ["artifact", {"sha256": rec[2], "files": list(rec[3])}]
        else:
            raise ValueError(f"unknown record {rec!r}")
    return {path: _shaped(ftype, value) for path, (ftype, value) in sorted(fields.items())}


def _shaped(ftype: str, value: Any) -> tuple[str, Any]:
    if ftype == "stringSet":
        return ftype, sorted(value)
    if ftype == "fileSet":
        return ftype, dict(sorted(value.items()))
    return ftype, value
