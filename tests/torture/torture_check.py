"""The end of every scenario: the store, read through its HTTP read API, against the model of the
journals (torture_model); failures name the seed, the run and each mismatch."""

from __future__ import annotations

from pathlib import Path

from torture_config import figures
from torture_journal import read_journal
from torture_model import Report, build, compare
from torture_procs import StoreReader, diagnosis


def journals(paths: list[Path]) -> list[list]:
    return [read_journal(p, i) for i, p in enumerate(paths) if p.exists()]


def check_store(
    journal_paths: list[Path],
    reader: StoreReader,
    seed: int,
    files: bool = True,
    data_dir: Path | None = None,
    label: str = "",
    **extra: object,
) -> Report:
    """Compare every run the journals name with the store; print the scenario's figures (``label``,
    ``extra`` and the counts), then assert nothing lost, duplicated or invented (the message ends
    with ``diagnosis(data_dir)`` when given)."""
    total = Report()
    for name, model in sorted(build(journals(journal_paths)).items()):
        view = reader.view(name)
        report = compare(model, view)
        if files and view:
            check_blobs(report, model, view, reader)
        if not report.ok:
            total.problems.append(f"run {name}:")
        total.add(report)
    if label:
        figures(label, **extra, checked=total.checked, lost=total.lost, duplicated=total.duplicated,
                invented=total.invented)
    if not total.ok:
        extra = f"\n{diagnosis(data_dir)}" if data_dir else ""
        raise AssertionError(
            f"seed {seed}: the store differs from the journals:\n  " + "\n  ".join(total.problems) + extra
        )
    return total


def caught_up(models: dict, reader: StoreReader) -> bool:
    """Every series holds its last returned step: the cheap test to poll before the full comparison
    (each writer's ops arrive in order, so what was logged before that point is there too).
    ``models``: ``torture_model.build`` of the journals once their children have ended."""
    for name, model in models.items():
        values = {v["path"]: v for v in reader.values(name) or []}
        for path, points in model.points.items():
            steps = [s for s, e in points.items() if e.returned]
            last = values.get(path, {}).get("last_step")
            if steps and (last is None or last < max(steps)):
                return False
    return True


def models_of(journal_paths: list[Path]) -> dict:
    return build(journals(journal_paths))


def check_blobs(report: Report, model, view, reader: StoreReader) -> None:
    """The content of every uploaded file the store holds hashes to what was uploaded."""
    import hashlib

    for path in model.files:
        if path in view and isinstance(view[path][1], dict):
            sha = view[path][1]["sha256"]
            if hashlib.sha256(reader.blob(sha)).hexdigest() != sha:
                report.note("invented", f"{path}: the store's blob {sha[:12]} does not hash to its name")
