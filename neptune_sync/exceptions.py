"""The one error hierarchy of neptune-sync.

::

    NeptuneSyncError                      base of everything we raise (alias: NeptuneException)
    ├── NeptuneUserError                  bad input from the caller; raised at once, nothing logged
    │   ├── ValidationError               a value or path breaks a documented rule (names field + rule)
    │   │   ├── InvalidPathError          empty segment, too long, bad characters
    │   │   ├── ValueRuleError            string too long, NaN policy, step not increasing, ...
    │   │   └── FieldLimitExceededError   more than the allowed number of fields in a run
    │   ├── TypeConflictError             write of another type to an existing field (MetadataInconsistency)
    │   ├── MissingFieldError             fetch of a path that holds nothing (MissingFieldException)
    │   ├── InactiveRunError              a call on a stopped run (InactiveRunException)
    │   └── NeedsStoreError               the mode or call needs a configured store
    ├── OpLogError                        the on-disk operation log
    │   ├── SegmentHeaderError            not a segment, unknown format version, damaged header
    │   ├── CorruptRecordError            a damaged frame (carries file + offset); reader reports, skips
    │   │   └── MissingRecordsError       a writer's records no segment holds (deleted or cut segment)
    │   └── UnknownOperationError         a frame holds an op tag this version does not know
    ├── StoreError                        talking to or running the store
    │   ├── AuthError                     401 / 403
    │   ├── StoreUnavailableError         transient: connect error, timeout, 408 / 429 / 5xx; retry
    │   ├── BatchRejectedError            the store refuses a batch for good (4xx); split, quarantine
    │   └── ProtocolError                 unexpected response / version mismatch
    └── LoggingDisabledError              the log could not be written (disk full, I/O); data kept where possible

Where Neptune 1.x users catch a Neptune exception name, that name stays importable from
``neptune_sync.exceptions`` (see the aliases at the end).
"""

from __future__ import annotations


class NeptuneSyncError(Exception):
    """Base of every error neptune-sync raises."""


class NeptuneUserError(NeptuneSyncError):
    """The caller did something the API does not allow; nothing was logged."""


class ValidationError(NeptuneUserError, ValueError):
    """A value or path breaks a documented rule. ``path`` and ``rule`` say which."""

    def __init__(self, path: str, rule: str, detail: str) -> None:
        self.path = path
        self.rule = rule
        super().__init__(f"{path!r}: {detail} [rule: {rule}]")


class InvalidPathError(ValidationError):
    pass


class ValueRuleError(ValidationError):
    pass


class FieldLimitExceededError(ValidationError):
    pass


class TypeConflictError(NeptuneUserError, TypeError):
    """A field's type is fixed by its first write; this write has another type."""

    def __init__(self, path: str, existing: str, attempted: str) -> None:
        self.path = path
        self.existing = existing
        self.attempted = attempted
        super().__init__(
            f"{path!r} is a {existing} field; cannot write a {attempted} to it "
            f"(a field's type is fixed by its first write; delete the field or use another path)"
        )


class MissingFieldError(NeptuneUserError, KeyError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path!r}: no field at this path")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class InactiveRunError(NeptuneUserError):
    pass


class NeedsStoreError(NeptuneUserError):
    pass


class OpLogError(NeptuneSyncError):
    """Trouble with the on-disk operation log."""


class SegmentHeaderError(OpLogError):
    def __init__(self, file: str, detail: str) -> None:
        self.file = file
        super().__init__(f"{file}: {detail}")


class CorruptRecordError(OpLogError):
    """A frame failed its checksum or could not be decoded; only that frame is lost.

    ``lost`` is the range of sequence numbers lost with it, ``(first, last)``, when the reader can
    tell (``last`` None: everything after ``first`` up to the end of the writer's log).
    """

    def __init__(
        self,
        file: str,
        offset: int,
        detail: str,
        skipped_to: int | None = None,
        lost: tuple[int, int | None] | None = None,
    ) -> None:
        self.file = file
        self.offset = offset
        self.detail = detail
        self.skipped_to = skipped_to
        self.lost = lost
        where = f"; resumed at offset {skipped_to}" if skipped_to is not None else ""
        super().__init__(f"{file} @ offset {offset}: {detail}{where}{_lost_text(lost)}")

    @property
    def lost_count(self) -> int | None:
        """How many records were lost (None: not known, or an unknown number at the end)."""
        if self.lost is None or self.lost[1] is None:
            return None
        return self.lost[1] - self.lost[0] + 1


class MissingRecordsError(CorruptRecordError):
    """Records of a writer that no segment holds: a segment deleted, cut short or zeroed at its end."""


def _lost_text(lost: tuple[int, int | None] | None) -> str:
    if lost is None:
        return ""
    first, last = lost
    if last is None:
        return f"; records from seq {first} on lost (how many is unknown)"
    return f"; seq {first}..{last} lost ({last - first + 1} records)"


class UnknownOperationError(OpLogError):
    def __init__(self, file: str, offset: int, detail: str) -> None:
        self.file = file
        self.offset = offset
        super().__init__(
            f"{file} @ offset {offset}: unknown operation ({detail}); "
            "this log was written by a newer neptune-sync - upgrade to read it"
        )


class StoreError(NeptuneSyncError):
    """Talking to, or running, the store server."""


class AuthError(StoreError):
    pass


class ProtocolError(StoreError):
    pass


class StoreUnavailableError(StoreError):
    """A transient failure; try again later (after ``retry_after`` seconds if the store said)."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class BatchRejectedError(StoreError):
    """The store will never accept this batch as it is (a 4xx other than auth / rate limits)."""

    def __init__(self, detail: str, status: int = 0) -> None:
        self.status = status
        super().__init__(detail)


class LoggingDisabledError(NeptuneSyncError):
    """The operation log could not be written; raised only when strict logging was asked for."""


# Neptune 1.x names, kept importable for code that catches them.
NeptuneException = NeptuneSyncError
MetadataInconsistency = TypeConflictError
MissingFieldException = MissingFieldError
InactiveRunException = InactiveRunError
NeptuneFieldCountLimitExceedException = FieldLimitExceededError
NeptuneOfflineModeFetchException = NeedsStoreError
