"""What an import did, per source: counts, what was skipped and why. Printed by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LISTED = 50  # problems printed per source; the count is always complete


@dataclass
class SourceReport:
    """The outcome of importing one source (a neptune queue dir, or one exported run)."""

    source: str
    run_key: str = ""
    container_id: str = ""
    imported_ops: int = 0  # source operations converted and written
    imported_points: int = 0
    acknowledged: int = 0  # of those, how many the old service had already acknowledged
    skipped_acknowledged: int = 0  # left out on request (--skip-acknowledged)
    already_imported: int = 0  # covered by an earlier import of the same source
    ignored: dict[str, int] = field(default_factory=dict)  # type -> count, by design (no equivalent)
    problems: list[str] = field(default_factory=list)  # damage and kept-aside records
    notes: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        """True when something on disk did not make it into the log."""
        return bool(self.problems)

    def render(self) -> str:
        head = f"{self.source}\n  -> run {self.run_key or '-'} (neptune id {self.container_id or '-'})"
        counts = f"  imported {self.imported_ops} operations ({self.imported_points} series points)"
        if self.acknowledged:
            counts += f"; {self.acknowledged} of them had been acknowledged by the old service"
        lines = [head, counts]
        if self.already_imported:
            lines.append(f"  {self.already_imported} operations were already imported earlier (unchanged)")
        if self.skipped_acknowledged:
            lines.append(
                f"  {self.skipped_acknowledged} acknowledged operations left out (--skip-acknowledged)"
            )
        lines += [f"  ignored {n} x {kind}" for kind, n in sorted(self.ignored.items())]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  SKIPPED: {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(
                f"  SKIPPED: ... and {len(self.problems) - MAX_LISTED} more (kept-aside records are in import/)"
            )
        return "\n".join(lines)


@dataclass
class ImportReport:
    sources: list[SourceReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # not tied to one source

    @property
    def skipped(self) -> bool:
        return bool(self.problems) or any(s.skipped for s in self.sources)

    def render(self) -> str:
        parts = [s.render() for s in self.sources] + [f"SKIPPED: {p}" for p in self.problems]
        total = sum(s.imported_ops for s in self.sources)
        bad = sum(len(s.problems) for s in self.sources) + len(self.problems)
        parts.append(
            f"{len(self.sources)} source(s), {total} operations imported, {bad} problem(s)"
            + ("; see SKIPPED lines above" if bad else "")
        )
        return "\n".join(parts)
