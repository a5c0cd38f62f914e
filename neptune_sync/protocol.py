"""Wire messages of the sync protocol between the daemon and the store (docs/sync-protocol.md).

Bodies are msgpack; these Structs are the contract. The protocol is versioned by
``PROTOCOL_VERSION`` (sent as the ``X-Neptune-Sync-Protocol`` header and echoed by the store).
Idempotency: the store keeps, per (project, run_key, writer_id), the highest applied sequence
number. An entry whose last sequence number is not above it changes nothing; a series entry that
straddles it is applied from the first point above it. Each batch is applied atomically.
"""

from __future__ import annotations

import msgspec

from .oplog.framing import Entry

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Neptune-Sync-Protocol"


class RunInfo(msgspec.Struct, frozen=True):
    """Who a batch belongs to; the store creates the run on first sight."""

    project: str
    run_key: str
    run_id: str
    custom_run_id: str = ""
    kind: str = "run"  # "run" or "project"


class BatchRequest(msgspec.Struct, frozen=True):
    run: RunInfo
    writer_id: str
    entries: list[Entry]


class OpConflict(msgspec.Struct, frozen=True):
    """An entry that was not applied because its path holds another type."""

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


class AckResponse(msgspec.Struct, frozen=True):
    applied_seq: int


batch_request_encoder = msgspec.msgpack.Encoder()
batch_request_decoder = msgspec.msgpack.Decoder(BatchRequest)
batch_response_decoder = msgspec.msgpack.Decoder(BatchResponse)
