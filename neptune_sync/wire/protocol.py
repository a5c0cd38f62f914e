"""Wire messages of the sync protocol between the daemon and the store (docs/sync-protocol.md).

Bodies are msgpack; these Structs are the contract. The protocol is versioned by
``PROTOCOL_VERSION`` (sent as the ``X-Neptune-Sync-Protocol`` header and echoed by the store).
Idempotency: the store keeps, per (project, run_key, writer_id), the highest applied sequence
number. An entry whose last sequence number is not above it changes nothing; a series entry that
straddles it is applied from the first point above it. Each batch is applied atomically.
"""

from __future__ import annotations

import msgspec

from .ops import Entry

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Neptune-Sync-Protocol"
CONTAINER_KINDS = ("run", "project", "model", "model_version")


class RunInfo(msgspec.Struct, frozen=True):
    """Who a batch belongs to; the store creates the run on first sight."""

    project: str
    run_key: str
    run_id: str
    custom_run_id: str = ""
    kind: str = "run"  # one of CONTAINER_KINDS
    model_id: str = ""  # a model version's model ("PROJ-KEY"); the store numbers versions per model


class BatchRequest(msgspec.Struct, frozen=True):
    run: RunInfo
    writer_id: str
    entries: list[Entry]
    after: float | None = None  # the writer's causal floor (its segment headers' ``after``)


class OpConflict(msgspec.Struct, frozen=True):
    """An entry that was not applied because of what its path holds: another type, fields under
    it (``existing_type`` "namespace"), or a field above it (``path`` names that field,
    ``attempted_type`` is "namespace")."""

    seq: int
    path: str
    existing_type: str
    attempted_type: str


class OpRejection(msgspec.Struct, frozen=True):
    """An entry the store can never apply (breaks a rule); the daemon quarantines it."""

    seq: int
    path: str
    reason: str


class BatchResponse(msgspec.Struct, frozen=True):
    applied_seq: int  # highest sequence number of this writer the store has applied
    conflicts: list[OpConflict] = []
    rejected: list[OpRejection] = []
    run_id: str = ""  # the container's id in the store (a model version's is assigned there)


class AckResponse(msgspec.Struct, frozen=True):
    applied_seq: int


batch_request_encoder = msgspec.msgpack.Encoder()
batch_request_decoder = msgspec.msgpack.Decoder(BatchRequest)
batch_response_decoder = msgspec.msgpack.Decoder(BatchResponse)


# --- Read API (JSON bodies; docs/openapi.yaml). Shared by the store and neptune_sync.store_client. ---


class RunRecord(msgspec.Struct, frozen=True):
    """A run as the store knows it; ``created`` is the client timestamp of its first entry."""

    project: str
    run_key: str
    run_id: str
    custom_run_id: str = ""
    kind: str = "run"
    created: float = 0.0


class FieldInfo(msgspec.Struct, frozen=True):
    path: str
    type: str


class FieldValue(msgspec.Struct, frozen=True):
    """A field's value; for a series its last value and ``last_step``.

    Values in JSON: numbers, strings, ISO-8601 datetimes, files as ``{sha256, size, name, extension}``,
    string sets as sorted lists, file sets as ``{relpath: file}``, artifacts as ``{sha256, files}``.
    """

    path: str
    type: str
    value: object = None
    last_step: float | None = None


class SeriesPoint(msgspec.Struct, array_like=True, frozen=True):
    step: float
    value: object
    ts: float


class SeriesPage(msgspec.Struct, frozen=True):
    """One page of a series, ordered by step; pass ``next_after`` as ``after`` for the next page."""

    path: str
    type: str
    points: list[SeriesPoint]
    next_after: float | None = None


class RunRow(msgspec.Struct, frozen=True):
    run: RunRecord
    fields: dict[str, object] = {}


class RunsTable(msgspec.Struct, frozen=True):
    rows: list[RunRow]


class TableRow(msgspec.Struct, frozen=True):
    """A row of a table (runs, models, ...): the container and the values of the asked columns."""

    run: RunRecord
    fields: list[FieldValue] = []


class TablePage(msgspec.Struct, frozen=True):
    """A page of ``GET /v1/table``; ``total`` counts every matching row."""

    rows: list[TableRow]
    total: int


class TrashRequest(msgspec.Struct, frozen=True):
    """``POST /v1/trash`` and ``/v1/trash/restore``: containers by run_id (``sys/id``) or run_key;
    ``/v1/trash/clear``: ``ids`` None clears the whole trash."""

    project: str
    ids: list[str] | None = None


class TrashResult(msgspec.Struct, frozen=True):
    found: list[str]  # run_ids of the containers the request named
    missing: list[str]  # ids the project has no container for


class ClearResult(msgspec.Struct, frozen=True):
    deleted: int  # containers deleted for good


class ErrorBody(msgspec.Struct, frozen=True):
    """Every 4xx / 5xx of the store carries this JSON body."""

    error: str  # a stable code, e.g. "bad_request", "unauthorized", "too_large"
    message: str
