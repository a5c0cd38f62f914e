"""Operation records: the vocabulary of the operation log, the sync protocol and the store.

Every logging call becomes one operation. Each operation is a ``msgspec.Struct`` in one tagged
union (:data:`Op`), encoded as a msgpack array whose first element is the tag. Tags are explicit
short strings and are part of the on-disk contract (docs/oplog-format.md): a class may be
renamed, a tag never changes. New fields get defaults and go last; a new operation gets a new tag,
and a reader that meets an unknown tag reports it loudly instead of skipping it.

``Struct.__init__`` does not validate: the client validates user input before it builds an
operation (neptune_sync.validation); operations read from disk or the network are validated by
:func:`decode_op` / the decoders built here.
"""

from __future__ import annotations

import datetime as _dt

import msgspec

from ..rules import SERIES_TYPES as SERIES_TYPES  # which types are series is a field rule


class FileRef(msgspec.Struct, array_like=True, frozen=True):
    """A file stored in the content-addressed blob store: ``sha256`` names the content."""

    sha256: str
    size: int
    name: str = ""  # original file name, used for download()
    extension: str = ""  # without the dot, as neptune 1.x's File.extension


class FileSetEntry(msgspec.Struct, array_like=True, frozen=True):
    """One file of a FileSet: its path relative to the set, and its content."""

    relpath: str
    file: FileRef


class ArtifactEntry(msgspec.Struct, array_like=True, frozen=True):
    """One tracked file of an Artifact: metadata and hash only, never the content."""

    relpath: str
    sha256: str
    size: int
    mtime: float
    source: str = ""  # absolute path or URL it was tracked from


class FloatPoint(msgspec.Struct, array_like=True, frozen=True):
    step: float
    value: float
    ts: float


class StringPoint(msgspec.Struct, array_like=True, frozen=True):
    step: float
    value: str
    ts: float


class FilePoint(msgspec.Struct, array_like=True, frozen=True):
    step: float
    value: FileRef
    ts: float


class _Op(msgspec.Struct, array_like=True, frozen=True, tag_field="op"):
    path: str


class AssignFloat(_Op, tag="af"):
    value: float


class AssignInt(_Op, tag="ai"):
    value: int


class AssignBool(_Op, tag="ab"):
    value: bool


class AssignString(_Op, tag="as"):
    value: str


class AssignDatetime(_Op, tag="at"):
    value: _dt.datetime  # always timezone-aware (UTC)


class AssignFile(_Op, tag="afi"):
    value: FileRef


class LogFloats(_Op, tag="lf"):
    points: tuple[FloatPoint, ...]


class LogStrings(_Op, tag="ls"):
    points: tuple[StringPoint, ...]


class LogFiles(_Op, tag="lfi"):
    points: tuple[FilePoint, ...]


class ClearSeries(_Op, tag="cs"):
    """Remove every point of a series (``run[path].clear()``); the field keeps its type."""


class AddStrings(_Op, tag="sa"):
    values: tuple[str, ...]


class RemoveStrings(_Op, tag="sr"):
    values: tuple[str, ...]


class ClearStringSet(_Op, tag="sc"):
    pass


class UploadFileSet(_Op, tag="fs"):
    files: tuple[FileSetEntry, ...]
    reset: bool = False


class DeleteFileSetFiles(_Op, tag="fd"):
    relpaths: tuple[str, ...]


class TrackArtifact(_Op, tag="ar"):
    files: tuple[ArtifactEntry, ...]
    sha256: str  # hash of the sorted (relpath, sha256, size) list: the artifact's identity


class DeleteField(_Op, tag="del"):
    pass


Op = (
    AssignFloat
    | AssignInt
    | AssignBool
    | AssignString
    | AssignDatetime
    | AssignFile
    | LogFloats
    | LogStrings
    | LogFiles
    | ClearSeries
    | AddStrings
    | RemoveStrings
    | ClearStringSet
    | UploadFileSet
    | DeleteFileSetFiles
    | TrackArtifact
    | DeleteField
)

ALL_OPS: tuple[type, ...] = Op.__args__  # type: ignore[attr-defined]


class Entry(msgspec.Struct, array_like=True, frozen=True):
    """One operation with its place in a writer's log: as read back from the log, as sent to the store.

    ``seq`` is the sequence number of the operation, or of its first point for a series op; a
    series op with n points occupies ``seq .. seq + n - 1``.
    """

    seq: int
    ts: float
    op: Op

    @property
    def last_seq(self) -> int:
        points = getattr(self.op, "points", None)
        return self.seq + (len(points) - 1 if points else 0)


class FieldType:
    """Names of field types, as neptune 1.x names its attribute types."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"
    DATETIME = "datetime"
    FILE = "file"
    FLOAT_SERIES = "floatSeries"
    STRING_SERIES = "stringSeries"
    FILE_SERIES = "fileSeries"
    STRING_SET = "stringSet"
    FILE_SET = "fileSet"
    ARTIFACT = "artifact"


FIELD_TYPE_OF_OP: dict[type, str | None] = {
    AssignFloat: FieldType.FLOAT,
    AssignInt: FieldType.INT,
    AssignBool: FieldType.BOOL,
    AssignString: FieldType.STRING,
    AssignDatetime: FieldType.DATETIME,
    AssignFile: FieldType.FILE,
    LogFloats: FieldType.FLOAT_SERIES,
    LogStrings: FieldType.STRING_SERIES,
    LogFiles: FieldType.FILE_SERIES,
    ClearSeries: None,  # applies to any series type
    AddStrings: FieldType.STRING_SET,
    RemoveStrings: FieldType.STRING_SET,
    ClearStringSet: FieldType.STRING_SET,
    UploadFileSet: FieldType.FILE_SET,
    DeleteFileSetFiles: FieldType.FILE_SET,
    TrackArtifact: FieldType.ARTIFACT,
    DeleteField: None,  # applies to any type
}

def field_type_of(op: Op) -> str | None:
    """The field type an operation writes, or None for type-agnostic ops (delete, clear)."""
    return FIELD_TYPE_OF_OP[type(op)]


def op_point_count(op: Op) -> int:
    """How many sequence numbers an operation occupies in the log (one per series point)."""
    points = getattr(op, "points", None)
    return len(points) if points is not None else 1


def blob_refs(op: Op) -> list[FileRef]:
    """Every blob an operation references (they must reach the store before the op)."""
    if isinstance(op, AssignFile):
        return [op.value]
    if isinstance(op, LogFiles):
        return [p.value for p in op.points]
    if isinstance(op, UploadFileSet):
        return [f.file for f in op.files]
    return []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Op)


def encode_op(op: Op) -> bytes:
    """Encode one operation to msgpack."""
    return _encoder.encode(op)


def decode_op(data: bytes | memoryview) -> Op:
    """Decode and validate one operation; raises ``msgspec.ValidationError`` naming the location."""
    return _decoder.decode(data)
