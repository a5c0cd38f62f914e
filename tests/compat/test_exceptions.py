"""Every exception name neptune 1.x exports is importable from ``neptune.exceptions`` with 1.x's base
classes, and the errors neptune-sync raises for 1.x situations carry the 1.x names."""

from __future__ import annotations

import neptune
import neptune.exceptions as exc
import pytest

# neptune 1.x neptune/exceptions.py __all__ (plus two names later 1.x releases export), written out
# here as an independent model: a name missing from neptune_sync.exceptions fails this test.
NEPTUNE_1X = [
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
]

# (class, 1.x base it must be a subclass of) where 1.x's base is not plain NeptuneException
BASES = [
    ("MissingFieldException", AttributeError),
    ("MissingFieldException", KeyError),
    ("TypeDoesNotSupportAttributeException", AttributeError),
    ("MetadataInconsistency", ValueError),
    ("FetchAttributeNotFoundException", "MetadataInconsistency"),
    ("ArtifactNotFoundException", "MetadataInconsistency"),
    ("ProjectNotFound", "MetadataContainerNotFound"),
    ("RunNotFound", "MetadataContainerNotFound"),
    ("ModelNotFound", "MetadataContainerNotFound"),
    ("ModelVersionNotFound", "MetadataContainerNotFound"),
    ("ProjectNotFoundWithSuggestions", "ProjectNotFound"),
    ("ProjectNotFoundWithSuggestions", "ExceptionWithProjectsWorkspacesListing"),
    ("AmbiguousProjectName", "ExceptionWithProjectsWorkspacesListing"),
    ("NeptuneMissingProjectNameException", "ExceptionWithProjectsWorkspacesListing"),
    ("InactiveRunException", "InactiveContainerException"),
    ("InactiveModelException", "InactiveContainerException"),
    ("InactiveModelVersionException", "InactiveContainerException"),
    ("InactiveProjectException", "InactiveContainerException"),
    ("NeedExistingRunForReadOnlyMode", "NeedExistingExperimentForReadOnlyMode"),
    ("NeedExistingModelForReadOnlyMode", "NeedExistingExperimentForReadOnlyMode"),
    ("NeedExistingModelVersionForReadOnlyMode", "NeedExistingExperimentForReadOnlyMode"),
    ("NeptuneRunResumeAndCustomIdCollision", "NeptuneWrongInitParametersException"),
    ("NeptuneMissingRequiredInitParameter", "NeptuneWrongInitParametersException"),
    ("NeptunePossibleLegacyUsageException", "NeptuneWrongInitParametersException"),
    ("NeptuneOfflineModeFetchException", "NeptuneOfflineModeException"),
    ("NeptuneOfflineModeChangeStageException", "NeptuneOfflineModeException"),
    ("NeptuneCannotChangeStageManually", "NeptuneProtectedPathException"),
    ("NeptuneModelKeyAlreadyExistsError", "NeptuneObjectCreationConflict"),
    ("InternalServerError", "NeptuneApiException"),
]


@pytest.mark.parametrize("name", NEPTUNE_1X)
def test_every_1x_exception_name_is_importable_and_a_class(name):
    cls = getattr(exc, name)
    assert isinstance(cls, type) and issubclass(cls, Exception)
    if name != "PlotlyIncompatibilityException":  # 1.x derives it from Exception only
        assert issubclass(cls, exc.NeptuneException), name


@pytest.mark.parametrize(("name", "base"), BASES)
def test_1x_base_classes(name, base):
    base_cls = getattr(exc, base) if isinstance(base, str) else base
    assert issubclass(getattr(exc, name), base_cls)


def test_a_missing_field_is_caught_as_attribute_error_and_key_error():
    run = neptune.init_run(mode="debug")
    for caught in (AttributeError, KeyError, exc.MissingFieldException, exc.NeptuneException):
        with pytest.raises(caught):
            run["no/such/field"].fetch()
    run.stop()


def test_a_type_conflict_is_metadata_inconsistency_and_value_error():
    run = neptune.init_run(mode="debug")
    run["x"] = 1
    for caught in (ValueError, exc.MetadataInconsistency):
        with pytest.raises(caught):
            run["x"].append("text")
    run.stop()


def test_missing_project_token_and_run_raise_the_1x_names(monkeypatch):
    with pytest.raises(exc.NeptuneMissingProjectNameException, match="NEPTUNE_PROJECT"):
        neptune.init_run(mode="async")
    with pytest.raises(exc.NeptuneMissingApiTokenException, match="NEPTUNE_API_TOKEN"):
        neptune.init_run(with_id="X-1", project="ws/p", mode="read-only")
    with pytest.raises(exc.NeptuneMissingApiTokenException):
        neptune.init_run(
            project="ws/p", mode="read-only", with_id="X-1", api_token=neptune.ANONYMOUS_API_TOKEN
        )
    with pytest.raises(exc.RunNotFound, match="no run with id 'P-404'"):
        neptune.init_run(with_id="P-404", project="ws/p", mode="offline")
    with pytest.raises(exc.NeedExistingRunForReadOnlyMode):
        neptune.init_run(project="ws/p", mode="read-only", api_token="t")


def test_writes_after_stop_raise_the_containers_inactive_exception():
    run = neptune.init_run(mode="debug")
    run.stop()
    with pytest.raises(exc.InactiveRunException):
        run["x"] = 1
    project = neptune.init_project(project="ws/p", mode="debug")
    project.stop()
    with pytest.raises(exc.InactiveProjectException):
        project["x"] = 1


def test_a_missing_upload_raises_file_not_found_naming_the_field(tmp_path):
    run = neptune.init_run(mode="debug")
    with pytest.raises(exc.FileNotFound, match="'model'.*rule: file-exists"):
        run["model"].upload(str(tmp_path / "nope.pt"))
    run.stop()
