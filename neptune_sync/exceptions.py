"""The one error hierarchy of neptune-sync.

::

    NeptuneSyncError                      base of everything we raise (alias: NeptuneException)
    ├── NeptuneUserError                  bad input from the caller; raised at once, nothing logged
    │   ├── ValidationError (ValueError)  a value or path breaks a documented rule (names field + rule)
    │   │   ├── InvalidPathError          empty segment, too long, bad characters
    │   │   ├── ValueRuleError            string too long, NaN policy, step not increasing, ...
    │   │   └── FieldLimitExceededError   more than the allowed number of fields (NeptuneFieldCountLimitExceedException)
    │   ├── MetadataInconsistency (ValueError)
    │   │   └── TypeConflictError (TypeError)  write of another type to an existing field
    │   ├── NeptuneInvalidQueryException (ValueError)  an NQL query the store refuses (names the column)
    │   ├── MissingFieldError             fetch of a path that holds nothing (MissingFieldException;
    │   │                                 also KeyError and AttributeError, as in neptune 1.x)
    │   ├── InactiveContainerException    a write to a stopped run or project
    │   │   └── InactiveRunError          (InactiveRunException), InactiveProjectException, ...
    │   ├── MetadataContainerNotFound     ``with_id`` names no run (RunNotFound, ProjectNotFound, ...)
    │   ├── NeptuneMissingProjectNameException  no ``project=`` and no NEPTUNE_PROJECT
    │   ├── IntegrationArgumentError (TypeError)  an integration given an argument of the wrong type
    │   ├── NeedsStoreError               the mode or call needs a configured store
    │   │   └── NeptuneMissingApiTokenException  ... and no API token was given
    │   └── CommandError                  a ``neptune-sync`` command that cannot go on (carries its exit code)
    ├── OpLogError                        the on-disk operation log
    │   ├── SegmentHeaderError            not a segment, damaged header
    │   ├── CorruptRecordError            a damaged frame (carries file + offset); reader reports, skips
    │   │   └── MissingRecordsError       a writer's records no segment holds (deleted or cut segment)
    │   ├── UnknownOperationError         newer data: an op tag, frame kind or segment format version
    │   │                                 this version does not know (the reader stops, skips nothing)
    │   └── UnreadableFileError           a file of a run this process may not read (also PermissionError)
    ├── StoreError                        talking to or running the store (NeptuneApiException);
    │   │                                 the store's HTTP errors (neptune_sync_store.errors) too
    │   ├── ClientHttpError
    │   │   ├── Unauthorized              (the store's 401 errors are these)
    │   │   │   └── AuthError             the store refused the token (401 / 403), or it cannot be read
    │   │   └── Forbidden                 (the store's 403 errors are these)
    │   ├── StoreUnavailableError         transient: connect error, timeout, 408 / 429 / 5xx; retry
    │   ├── BatchRejectedError            the store refuses a batch for good (4xx); split, quarantine
    │   ├── NoCredentialsError            no API token covers a run's project (the daemon's config)
    │   └── ProtocolError                 the store's answer is not what the protocol says
    └── LoggingDisabledError              the log could not be written (disk full, I/O); data kept where possible

Every exception name neptune 1.x exports from ``neptune.exceptions`` is importable from here, with
the same base classes (see ``NEPTUNE_1X_NAMES`` at the end): code that catches one keeps working,
even for names neptune-sync never raises.
"""

from __future__ import annotations

import os

from .messages import a


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


class FileNotFound(ValueRuleError):
    """``upload`` / ``upload_files`` / ``track_files`` of a path that does not exist (rule ``file-exists``)."""


class FieldLimitExceededError(ValidationError):
    pass


class MetadataInconsistency(NeptuneUserError, ValueError):
    """What the caller wrote or asked for does not fit what the run holds."""


class TypeConflictError(MetadataInconsistency, TypeError):
    """A field's type is fixed by its first write; this write has another type."""

    def __init__(self, path: str, existing: str, attempted: str) -> None:
        self.path = path
        self.existing = existing
        self.attempted = attempted
        super().__init__(
            f"{path!r} is {_field_words(existing)}; cannot write {_field_words(attempted)} there "
            f"(a field's type is fixed by its first write; delete the field or use another path)"
        )


def _field_words(type_: str) -> str:
    """"an int field", "a floatSeries field"; "a namespace" and "a series" as they are."""
    return a(type_) if type_ in ("namespace", "series") else a(f"{type_} field")


class NeptuneInvalidQueryException(NeptuneUserError, ValueError):
    """A table query (NQL) the store cannot run; the message names the column."""


class MissingFieldError(NeptuneUserError, AttributeError, KeyError):
    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path!r}: no field at this path")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class InactiveContainerException(NeptuneUserError):
    """A write to a stopped run or project."""


class InactiveRunError(InactiveContainerException):
    pass


class InactiveProjectException(InactiveContainerException):
    pass


class InactiveModelException(InactiveContainerException):
    pass


class InactiveModelVersionException(InactiveContainerException):
    pass


class MetadataContainerNotFound(NeptuneUserError):
    """``with_id`` names no run, project, model or model version that exists."""


class ProjectNotFound(MetadataContainerNotFound):
    pass


class RunNotFound(MetadataContainerNotFound):
    pass


class ModelNotFound(MetadataContainerNotFound):
    pass


class ModelVersionNotFound(MetadataContainerNotFound):
    pass


class ExceptionWithProjectsWorkspacesListing(NeptuneUserError):
    pass


class NeptuneMissingProjectNameException(ExceptionWithProjectsWorkspacesListing):
    """No ``project=`` was given and ``NEPTUNE_PROJECT`` is not set."""


class NeedExistingExperimentForReadOnlyMode(NeptuneUserError):
    """``mode="read-only"`` without ``with_id`` / ``custom_run_id``."""


class NeedExistingRunForReadOnlyMode(NeedExistingExperimentForReadOnlyMode):
    pass


class NeedsStoreError(NeptuneUserError):
    pass


class NeptuneMissingApiTokenException(NeedsStoreError):
    """The call needs the store, and neither ``api_token=`` nor ``NEPTUNE_API_TOKEN`` names one."""


class CommandError(NeptuneUserError):
    """A ``neptune-sync`` command that cannot be carried out; the message names the fix.

    The CLI's error boundary (``neptune_sync.cli.main``) prints it as one line and exits with
    ``exit_code`` (2: bad usage or configuration; 1: the command ran but could not finish).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class OpLogError(NeptuneSyncError):
    """Trouble with the on-disk operation log."""


class SegmentHeaderError(OpLogError):
    """A file in ``segments/`` that is not a segment, or whose header is damaged."""

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
    """A verified record this version cannot read: written by a newer neptune-sync, not damage."""

    def __init__(self, file: str, offset: int, detail: str) -> None:
        self.file = file
        self.offset = offset
        super().__init__(
            f"{file} @ offset {offset}: unknown operation ({detail}); "
            "this log was written by a newer neptune-sync - upgrade to read it"
        )


class UnreadableFileError(OpLogError, PermissionError):
    """A file of a run directory (segment, blob, run.json) that this process may not read.

    Typically a daemon running as another user than the training job, where the job's umask or
    the directory's group keeps the daemon out: the message says which file and how to fix it.
    """

    def __init__(self, path: str, what: str = "file") -> None:
        self.path = path
        super().__init__(
            f"{what} {path} is not readable by this process (uid {os.getuid()}): permission denied. "
            "A daemon running as another user needs the run's files group-readable: log with "
            "umask 002 or 007 into a setgid data directory of the daemon's group (docs/daemon.md)"
        )

    def __str__(self) -> str:  # OSError's own str would drop the message
        return str(self.args[0])


class StoreError(NeptuneSyncError):
    """Talking to, or running, the store server."""


class ClientHttpError(StoreError):
    pass


class Unauthorized(ClientHttpError):
    pass


class Forbidden(ClientHttpError):
    pass


class NeptuneInvalidApiTokenException(NeptuneSyncError):
    pass


class AuthError(Unauthorized, NeptuneInvalidApiTokenException):
    """The store refused the API token (401 / 403), or the token cannot be read."""


class ProtocolError(StoreError):
    """The store's answer is not what the protocol says (a body that does not decode as the
    documented type): a proxy in the way, or a store of another version."""


class StoreUnavailableError(StoreError):
    """A transient failure; try again later (after ``retry_after`` seconds if the store said).

    ``status`` is the HTTP status the store answered, 0 when it did not answer (connection, timeout).
    """

    def __init__(self, detail: str, retry_after: float | None = None, status: int = 0) -> None:
        self.retry_after = retry_after
        self.status = status
        super().__init__(detail)


class BatchRejectedError(StoreError):
    """The store will never accept this batch as it is (a 4xx other than auth / rate limits)."""

    def __init__(self, detail: str, status: int = 0) -> None:
        self.status = status
        super().__init__(detail)


class NoCredentialsError(StoreError):
    """No API token covers a run's project: its runs wait, the message names the fix."""


class LoggingDisabledError(NeptuneSyncError):
    """The operation log could not be written; raised only when strict logging was asked for."""


# --------------------------------------------------------------------------- neptune 1.x names
# Every name neptune 1.x exports from ``neptune.exceptions``, with its 1.x base classes. The ones
# neptune-sync raises are the classes above; the rest exist so that code catching them (or
# integration packages importing them) keeps working.

NeptuneException = NeptuneSyncError
NeptuneApiException = StoreError
MissingFieldException = MissingFieldError
InactiveRunException = InactiveRunError
NeptuneFieldCountLimitExceedException = FieldLimitExceededError


class InternalClientError(NeptuneSyncError):
    pass


class InternalServerError(StoreError):
    pass


class NeptuneConnectionLostException(NeptuneSyncError):
    pass


class NeptuneSSLVerificationError(NeptuneSyncError):
    pass


class CannotResolveHostname(NeptuneSyncError):
    pass


class TypeDoesNotSupportAttributeException(NeptuneSyncError, AttributeError):
    pass


class MalformedOperation(NeptuneSyncError):
    pass


class FileUploadError(NeptuneSyncError):
    pass


class FileSetUploadError(NeptuneSyncError):
    pass


class ContainerUUIDNotFound(NeptuneSyncError):
    pass


RunUUIDNotFound = ContainerUUIDNotFound


class ProjectNotFoundWithSuggestions(ExceptionWithProjectsWorkspacesListing, ProjectNotFound):
    pass


class AmbiguousProjectName(ExceptionWithProjectsWorkspacesListing):
    pass


class CannotSynchronizeOfflineRunsWithoutProject(NeptuneSyncError):
    pass


class NeedExistingModelForReadOnlyMode(NeedExistingExperimentForReadOnlyMode):
    pass


class NeedExistingModelVersionForReadOnlyMode(NeedExistingExperimentForReadOnlyMode):
    pass


class NeptuneParametersCollision(NeptuneSyncError):
    pass


class NeptuneWrongInitParametersException(NeptuneSyncError):
    pass


class NeptuneRunResumeAndCustomIdCollision(NeptuneWrongInitParametersException):
    pass


class NeptuneMissingRequiredInitParameter(NeptuneWrongInitParametersException):
    pass


class NeptunePossibleLegacyUsageException(NeptuneWrongInitParametersException):
    pass


class NeptuneClientUpgradeRequiredError(NeptuneSyncError):
    pass


class NeptuneOfflineModeException(NeptuneSyncError):
    pass


class NeptuneOfflineModeFetchException(NeptuneOfflineModeException):
    pass


class NeptuneOfflineModeChangeStageException(NeptuneOfflineModeException):
    pass


class NeptuneProtectedPathException(NeptuneSyncError):
    pass


class NeptuneCannotChangeStageManually(NeptuneProtectedPathException):
    pass


class OperationNotSupported(NeptuneSyncError):
    pass


class NeptuneLegacyProjectException(NeptuneSyncError):
    pass


class NeptuneUninitializedException(NeptuneSyncError):
    pass


class NeptuneIntegrationNotInstalledException(NeptuneSyncError):
    pass


class NeptuneLimitExceedException(NeptuneSyncError):
    pass


class NeptuneStorageLimitException(NeptuneSyncError):
    pass


class FetchAttributeNotFoundException(MetadataInconsistency):
    pass


class ArtifactNotFoundException(MetadataInconsistency):
    pass


class PlotlyIncompatibilityException(Exception):
    pass


class NeptuneLegacyIncompatibilityException(NeptuneSyncError):
    pass


class IntegrationArgumentError(NeptuneUserError, TypeError):
    """An integration was constructed with an argument of the wrong type (a TypeError, as in 1.x)."""


class NeptuneUnhandledArtifactSchemeException(NeptuneSyncError):
    pass


class NeptuneUnhandledArtifactTypeException(NeptuneSyncError):
    pass


class NeptuneLocalStorageAccessException(NeptuneSyncError):
    pass


class NeptuneRemoteStorageCredentialsException(NeptuneSyncError):
    pass


class NeptuneRemoteStorageAccessException(NeptuneSyncError):
    pass


class ArtifactUploadingError(NeptuneSyncError):
    pass


class NeptuneUnsupportedArtifactFunctionalityException(NeptuneSyncError):
    pass


class NeptuneEmptyLocationException(NeptuneSyncError):
    pass


class NeptuneFeatureNotAvailableException(NeptuneSyncError):
    pass


class NeptuneObjectCreationConflict(NeptuneSyncError):
    pass


class NeptuneModelKeyAlreadyExistsError(NeptuneObjectCreationConflict):
    pass


class NeptuneSynchronizationAlreadyStoppedException(NeptuneSyncError):
    pass


class StreamAlreadyUsedException(NeptuneSyncError):
    pass


class NeptuneUserApiInputException(NeptuneSyncError):
    pass


class NeptuneUnsupportedFunctionalityException(NeptuneSyncError):
    pass


NEPTUNE_1X_NAMES = (
    "InternalClientError",
    "NeptuneException",
    "NeptuneInvalidApiTokenException",
    "NeptuneApiException",
    "MetadataInconsistency",
    "MissingFieldException",
    "TypeDoesNotSupportAttributeException",
    "MalformedOperation",
    "FileNotFound",
    "FileUploadError",
    "FileSetUploadError",
    "ClientHttpError",
    "MetadataContainerNotFound",
    "ProjectNotFound",
    "RunNotFound",
    "ModelNotFound",
    "ModelVersionNotFound",
    "ExceptionWithProjectsWorkspacesListing",
    "ContainerUUIDNotFound",
    "RunUUIDNotFound",
    "ProjectNotFoundWithSuggestions",
    "AmbiguousProjectName",
    "NeptuneMissingProjectNameException",
    "InactiveContainerException",
    "InactiveRunException",
    "InactiveModelException",
    "InactiveModelVersionException",
    "InactiveProjectException",
    "NeptuneMissingApiTokenException",
    "CannotSynchronizeOfflineRunsWithoutProject",
    "NeedExistingExperimentForReadOnlyMode",
    "NeedExistingRunForReadOnlyMode",
    "NeedExistingModelForReadOnlyMode",
    "NeedExistingModelVersionForReadOnlyMode",
    "NeptuneParametersCollision",
    "NeptuneWrongInitParametersException",
    "NeptuneRunResumeAndCustomIdCollision",
    "NeptuneClientUpgradeRequiredError",
    "NeptuneMissingRequiredInitParameter",
    "CannotResolveHostname",
    "NeptuneSSLVerificationError",
    "NeptuneConnectionLostException",
    "InternalServerError",
    "Unauthorized",
    "Forbidden",
    "NeptuneOfflineModeException",
    "NeptuneOfflineModeFetchException",
    "NeptuneOfflineModeChangeStageException",
    "NeptuneProtectedPathException",
    "NeptuneCannotChangeStageManually",
    "OperationNotSupported",
    "NeptuneLegacyProjectException",
    "NeptuneUninitializedException",
    "NeptuneIntegrationNotInstalledException",
    "NeptuneLimitExceedException",
    "NeptuneFieldCountLimitExceedException",
    "NeptuneStorageLimitException",
    "FetchAttributeNotFoundException",
    "ArtifactNotFoundException",
    "PlotlyIncompatibilityException",
    "NeptunePossibleLegacyUsageException",
    "NeptuneLegacyIncompatibilityException",
    "NeptuneUnhandledArtifactSchemeException",
    "NeptuneUnhandledArtifactTypeException",
    "NeptuneLocalStorageAccessException",
    "NeptuneRemoteStorageCredentialsException",
    "NeptuneRemoteStorageAccessException",
    "ArtifactUploadingError",
    "NeptuneUnsupportedArtifactFunctionalityException",
    "NeptuneEmptyLocationException",
    "NeptuneFeatureNotAvailableException",
    "NeptuneObjectCreationConflict",
    "NeptuneModelKeyAlreadyExistsError",
    "NeptuneSynchronizationAlreadyStoppedException",
    "StreamAlreadyUsedException",
    "NeptuneUserApiInputException",
    "NeptuneUnsupportedFunctionalityException",
)
