"""Tables of a project's containers as neptune 1.x returned them: ``fetch_runs_table``,
``fetch_models_table`` (and, over the same call, model versions): :func:`fetch_table`.

A :class:`Table` holds the matching rows, fetched from the store page by page (filtering, sorting
and paging run in the store's SQL, ``GET /v1/table``). ``to_rows()`` gives :class:`TableEntry`
objects (``get_attribute_value(path)``, ``entry["path"].get()`` / ``.download()``), ``to_pandas()``
a DataFrame with one column per field path (``sys/id``, ``sys/name``, ``params/lr``, ...), ``sys/*``
first and ``monitoring/*`` last, as 1.x built it. Values: a series gives its last value, a string
set its members joined by ","; files, file sets and file series are left out of the DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .exceptions import MetadataInconsistency
from .readback import to_millis
from .wire.ops import FieldType
from .wire.protocol import FieldValue, RunRecord, TableRow

if TYPE_CHECKING:
    import pandas

ID_PATH = "sys/id"
DEFAULT_SORT = "sys/creation_time"
PAGE = 1000  # rows per request
KINDS = ("run", "model", "model_version")
_FILES = (FieldType.FILE, FieldType.FILE_SET, FieldType.FILE_SERIES)


def fetch_table(
    kind: str,
    project: str,
    client: Any,
    *,
    query: str | None = None,
    id: str | Iterable[str] | None = None,
    state: str | Iterable[str] | None = None,
    owner: str | Iterable[str] | None = None,
    tag: str | Iterable[str] | None = None,
    columns: Iterable[str] | None = None,
    trashed: bool | None = False,
    limit: int | None = None,
    sort_by: str = DEFAULT_SORT,
    ascending: bool = False,
    progress_bar: Any = None,
) -> Table:
    """Containers of ``kind`` ("run", "model", "model_version") of ``project`` matching every given
    criterion, through ``client`` (a :class:`neptune_sync.store_client.StoreClient`).

    ``query`` is NQL (docs/compat.md, *Tables*); ``id`` / ``state`` / ``owner`` match any of their
    values, ``tag`` all of them. Unlike 1.x, ``query`` may be combined with the other criteria (all
    must hold). ``columns`` None: every field; else those, with ``sys/id`` and ``sort_by``.
    ``progress_bar`` is accepted and ignored.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    _check("query", query, (str, type(None)))
    _check("trashed", trashed, (bool, type(None)))
    _check("limit", limit, (int, type(None)))
    _check("sort_by", sort_by, (str,))
    _check("ascending", ascending, (bool,))
    if isinstance(limit, bool) or (limit is not None and limit <= 0):
        raise ValueError(f"Parameter 'limit' must be a positive integer or None. Got {limit}.")
    states = [s.lower() for s in _listed("state", state)]
    for s in states:
        if s not in ("active", "inactive"):
            raise ValueError(f"state must be 'active' or 'inactive', got {s!r}")
    wanted = (
        None if columns is None else list(dict.fromkeys([ID_PATH, sort_by, *_listed("columns", columns)]))
    )
    rows: list[TableRow] = []
    while limit is None or len(rows) < limit:
        size = PAGE if limit is None else min(PAGE, limit - len(rows))
        page = client.table(
            project,
            kind=kind,
            query=query or "",
            ids=_listed("id", id),
            states=states,
            owners=_listed("owner", owner),
            tags=_listed("tag", tag),
            columns=wanted,
            trashed=trashed,
            sort_by=sort_by,
            ascending=ascending,
            limit=size,
            offset=len(rows),
        )
        rows += page.rows
        if len(page.rows) < size:
            break
    return Table(client, project, rows)


class Table:
    """Rows of a project table; iterate it, or use ``to_rows()`` / ``to_pandas()``."""

    def __init__(self, client: Any, project: str, rows: list[TableRow]) -> None:
        self._client, self._project, self._rows = client, project, rows

    def __iter__(self) -> Iterator[TableEntry]:
        return (TableEntry(self._client, self._project, row) for row in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def to_rows(self) -> list[TableEntry]:
        return list(self)

    def to_pandas(self) -> pandas.DataFrame:
        import pandas as pd

        frame = pd.DataFrame.from_dict(
            {n: _frame_row(row.fields) for n, row in enumerate(self._rows)}, orient="index"
        )
        return frame.reindex(sorted(frame.columns, key=_column_order), axis="columns")


class TableEntry:
    """One row: a container and the values of the table's columns."""

    def __init__(self, client: Any, project: str, row: TableRow) -> None:
        self._client, self._project = client, project
        self._record: RunRecord = row.run
        self._fields = {f.path: f for f in row.fields}

    def __repr__(self) -> str:
        return f"<TableEntry {self._record.run_id}>"

    def __getitem__(self, path: str) -> LeaderboardHandler:
        return LeaderboardHandler(self, path)

    def _field(self, path: str) -> FieldValue:
        found = self._fields.get(path)
        if found is None:
            raise ValueError(f"Could not find {path} attribute")
        return found

    def get_attribute_type(self, path: str) -> str:
        return self._field(path).type

    def get_attribute_value(self, path: str) -> Any:
        """The value as 1.x gave it: a series' last value, a string set as a set; files raise."""
        field = self._field(path)
        if field.type in _FILES:
            raise MetadataInconsistency(
                f"Cannot get value for {field.type} attribute. Use download() instead."
            )
        if field.type == FieldType.STRING_SET:
            return set(field.value or ())
        return _plain(field)

    def download_file_attribute(self, path: str, destination: str | None = None) -> Any:
        return self._download(path, (FieldType.FILE,), destination)

    def download_file_set_attribute(self, path: str, destination: str | None = None) -> Any:
        return self._download(path, (FieldType.FILE_SET,), destination)

    def _download(self, path: str, types: tuple[str, ...], destination: str | None) -> Any:
        field = self._field(path)
        if field.type not in types:
            raise MetadataInconsistency(f"Cannot download file from attribute of type {field.type}")
        from .remote import ReadOnlyRun

        return ReadOnlyRun(self._client, self._project, self._record.run_key)[path].download(destination)


class LeaderboardHandler:
    """``entry["a/b"]``: the field at a path of a table row."""

    def __init__(self, entry: TableEntry, path: str) -> None:
        self._entry, self._path = entry, path

    def __getitem__(self, path: str) -> LeaderboardHandler:
        return LeaderboardHandler(self._entry, f"{self._path}/{path}")

    def get(self) -> Any:
        return self._entry.get_attribute_value(self._path)

    def download(self, destination: str | None = None) -> Any:
        kind = self._entry.get_attribute_type(self._path)
        if kind == FieldType.FILE_SET:
            return self._entry.download_file_set_attribute(self._path, destination)
        return self._entry.download_file_attribute(self._path, destination)


def _plain(field: FieldValue) -> Any:
    if field.type == FieldType.DATETIME and field.value is not None:
        return to_millis(field.value)  # type: ignore[arg-type]
    if field.type == FieldType.ARTIFACT:
        return (field.value or {}).get("sha256")  # type: ignore[union-attr]
    return field.value


def _frame_row(fields: list[FieldValue]) -> dict[str, Any]:
    row = {}
    for field in fields:
        if field.type in _FILES or field.value is None:
            continue
        row[field.path] = ",".join(field.value) if field.type == FieldType.STRING_SET else _plain(field)  # type: ignore[arg-type]
    return row


def _column_order(path: str) -> tuple[int, str]:
    top = path.split("/", 1)[0]
    return (0 if top == "sys" else 2 if top == "monitoring" else 1), path


def _listed(name: str, value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        _check(name, item, (str,))
    return items


def _check(name: str, value: Any, types: tuple[type, ...]) -> None:
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types and int in types):
        allowed = " or ".join("None" if t is type(None) else t.__name__ for t in types)
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")


class ProjectTables:
    """``fetch_runs_table`` / ``fetch_models_table`` of a project, writable or read-only."""

    def _tables_source(self) -> tuple[Any, str]:
        """(store client, project name)."""
        raise NotImplementedError

    def fetch_runs_table(
        self,
        *,
        query: str | None = None,
        id: str | Iterable[str] | None = None,
        state: str | Iterable[str] | None = None,
        owner: str | Iterable[str] | None = None,
        tag: str | Iterable[str] | None = None,
        columns: Iterable[str] | None = None,
        trashed: bool | None = False,
        limit: int | None = None,
        sort_by: str = DEFAULT_SORT,
        ascending: bool = False,
        progress_bar: Any = None,
    ) -> Table:
        """The project's runs (neptune 1.x ``Project.fetch_runs_table``; see :func:`fetch_table`)."""
        client, project = self._tables_source()
        return fetch_table(
            "run",
            project,
            client,
            query=query,
            id=id,
            state=state,
            owner=owner,
            tag=tag,
            columns=columns,
            trashed=trashed,
            limit=limit,
            sort_by=sort_by,
            ascending=ascending,
        )

    def fetch_models_table(
        self,
        *,
        query: str | None = None,
        columns: Iterable[str] | None = None,
        trashed: bool | None = False,
        limit: int | None = None,
        sort_by: str = DEFAULT_SORT,
        ascending: bool = False,
        progress_bar: Any = None,
    ) -> Table:
        """The project's models (neptune 1.x ``Project.fetch_models_table``)."""
        client, project = self._tables_source()
        return fetch_table(
            "model",
            project,
            client,
            query=query,
            columns=columns,
            trashed=trashed,
            limit=limit,
            sort_by=sort_by,
            ascending=ascending,
        )
