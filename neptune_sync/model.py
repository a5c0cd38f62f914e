"""``init_model`` / ``Model`` and ``init_model_version`` / ``ModelVersion``: the model registry.

Models and model versions are containers like runs: the same op log, daemon and store, with
``kind`` "model" / "model_version" in their identity. A model's id is ``<project key>-<key>``
(``PROJ-MOD``), the same on every machine, so its directory and its row in the store are found by
it. A model version is created offline under a local id (``PROJ-MOD-local-<hex>``); the store
numbers it ``PROJ-MOD-<n>`` when it first syncs, and the daemon records that id in the version's
sync state, where :attr:`ModelVersion.id` reads it (docs/models.md).
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from . import config as cfg
from . import connect
from .container import ContainerType
from .exceptions import (
    InactiveModelException,
    InactiveModelVersionException,
    ModelNotFound,
    ModelVersionNotFound,
    NeedExistingModelForReadOnlyMode,
    NeedExistingModelVersionForReadOnlyMode,
    NeptuneCannotChangeStageManually,
    NeptuneMissingRequiredInitParameter,
    NeptuneModelKeyAlreadyExistsError,
    NeptuneProtectedPathException,
    NeptuneUserError,
    StoreError,
    ValueRuleError,
)
from .oplog import layout
from .remote import ReadOnlyRun
from .run import NEPTUNE_OPTIONS, Run, _user, claim_dir, fresh_identity, project_key
from .state import FieldTree
from .types.model_version_stage import ModelVersionStage
from .validation import MODEL_ID, check_model_key
from .wire.ops import AssignString, Op

logger = logging.getLogger("neptune_sync")

LOCAL_MARK = "-local-"  # a model version's id before the store numbers it: PROJ-MOD-local-<hex>
LOOKUP_TIMEOUT = 5.0  # seconds init_model / init_model_version wait for the store to say what exists
DEFAULT_NAME = "Untitled"
_OPTIONS = NEPTUNE_OPTIONS | {"fail_on_logging_error"}


def check_stage(stage: object) -> str:
    """A stage name (rule ``stage``): one of none, staging, production, archived."""
    try:
        return ModelVersionStage(stage).value
    except ValueError:
        names = ", ".join(s.value for s in ModelVersionStage)
        raise ValueRuleError("sys/stage", "stage", f"{stage!r} is not a stage; use one of {names}") from None


class _Registered(Run):
    """What models and model versions share: init options, ``sys/*`` fields, store lookups."""

    def __init__(
        self,
        with_id: str | None,
        *,
        name: str | None,
        project: str | None,
        api_token: str | None,
        mode: str | None,
        flush_period: float | None,
        options: dict[str, Any],
    ) -> None:
        unknown = set(options) - _OPTIONS
        if unknown:
            raise TypeError(
                f"init_{self._kind}() got unexpected keyword arguments: {', '.join(sorted(unknown))}"
            )
        self._api_token = api_token
        super().__init__(
            with_id,
            project=project,
            api_token=api_token,
            mode=mode,
            name=name,
            flush_period=flush_period,
            **options,
        )

    def _write_sys_fields(self, resumed: bool, name: str | None, description: Any, tags: Any) -> None:
        now = _dt.datetime.now(_dt.timezone.utc)
        if not resumed:
            self._write_creation_fields()
            self["sys/creation_time"] = now
            self["sys/owner"] = _user()
        if name is not None or not resumed:
            self["sys/name"] = DEFAULT_NAME if name is None else name
        self["sys/state"] = "Active"
        self["sys/modification_time"] = now

    def _write_creation_fields(self) -> None:
        raise NotImplementedError

    def _store(self) -> Any:
        """A store client for reads (the tables); needs the API token."""
        return connect.open_store(self._mode, cfg.resolve_token(self._api_token))


class Model(_Registered):
    """A model (neptune 1.x ``neptune.init_model``): fields common to all its versions."""

    _kind = "model"
    container_type = ContainerType.MODEL
    _inactive_error = InactiveModelException

    def __init__(
        self,
        with_id: str | None = None,
        *,
        name: str | None = None,
        key: str | None = None,
        project: str | None = None,
        api_token: str | None = None,
        mode: str | None = None,
        flush_period: float | None = None,
        **options: Any,
    ) -> None:
        self._key = key
        super().__init__(
            with_id,
            name=name,
            project=project,
            api_token=api_token,
            mode=mode,
            flush_period=flush_period,
            options=options,
        )

    def _claim(
        self, conf: cfg.RunConfig, with_id: str | None, custom_run_id: str | None
    ) -> tuple[layout.RunIdentity, Path | None, bool]:
        if with_id is not None:
            return _resume_model(conf, with_id)
        if self._key is None:
            raise NeptuneMissingRequiredInitParameter(
                "init_model() needs key= to create a model (or with_id= to open one)"
            )
        model_id = f"{project_key(conf.project)}-{check_model_key(self._key)}"
        fresh = fresh_identity(conf, "model", model_id)
        if conf.mode == "debug":
            return fresh, None, False
        path = layout.run_dir(fresh.run_key)
        if (path / "run.json").is_file() or _ask_store(conf, model_id, "model")[1] is not None:
            raise _key_exists(model_id, conf.project)
        identity, path, _ = claim_dir(conf, fresh, path)
        if identity != fresh:  # another process created it first
            raise _key_exists(model_id, conf.project)
        return identity, path, False

    def _write_creation_fields(self) -> None:
        self["sys/id"] = self._identity.run_id

    def fetch_model_versions_table(
        self,
        *,
        query: str | None = None,
        columns: Any = None,
        limit: int | None = None,
        sort_by: str = "sys/creation_time",
        ascending: bool = False,
        progress_bar: Any = None,
    ) -> Any:
        """The model's versions from the store, as a table (neptune 1.x; ``query`` in NQL)."""
        return versions_table(
            self._store(),
            self._identity.project,
            self._identity.run_id,
            query,
            columns,
            limit,
            sort_by,
            ascending,
        )


class ModelVersion(_Registered):
    """A version of a model (neptune 1.x ``neptune.init_model_version``); ``change_stage()`` moves it."""

    _kind = "model_version"
    container_type = ContainerType.MODEL_VERSION
    _inactive_error = InactiveModelVersionException

    def __init__(
        self,
        with_id: str | None = None,
        *,
        name: str | None = None,
        model: str | None = None,
        project: str | None = None,
        api_token: str | None = None,
        mode: str | None = None,
        flush_period: float | None = None,
        **options: Any,
    ) -> None:
        self._model = model
        self._changing_stage = False
        super().__init__(
            with_id,
            name=name,
            project=project,
            api_token=api_token,
            mode=mode,
            flush_period=flush_period,
            options=options,
        )
        self._tree.apply(AssignString("sys/id", self.id))

    @property
    def id(self) -> str:
        """``PROJ-MOD-<n>`` once the store has numbered the version, its local id until then."""
        if self._run_path is not None:
            from .wire.sync_state import read_state

            state = read_state(self._run_path)
            if state is not None and state.store_id:
                return state.store_id
        return self._identity.run_id

    def _store_ident(self) -> str:
        """The store's number once synced; before, the run key (the store knows no local id)."""
        numbered = self.id
        return self._identity.run_key if numbered == self._identity.run_id else numbered

    def _claim(
        self, conf: cfg.RunConfig, with_id: str | None, custom_run_id: str | None
    ) -> tuple[layout.RunIdentity, Path | None, bool]:
        if with_id is not None:
            return _resume_version(conf, with_id)
        if self._model is None:
            raise NeptuneMissingRequiredInitParameter(
                "init_model_version() needs model= to create a version (or with_id= to open one)"
            )
        _check_model_exists(conf, self._model)
        local_id = f"{self._model}{LOCAL_MARK}{uuid.uuid4().hex[:12]}"
        fresh = fresh_identity(conf, "model_version", local_id, model_id=self._model)
        if conf.mode == "debug":
            return fresh, None, False
        return claim_dir(conf, fresh, layout.run_dir(fresh.run_key))

    def _write_creation_fields(self) -> None:
        self["sys/model_id"] = self._identity.model_id
        self._changing_stage = True
        try:
            self["sys/stage"] = ModelVersionStage.NONE.value
        finally:
            self._changing_stage = False

    def _log(self, op: Op) -> None:
        if op.path == "sys/stage" and not self._changing_stage:
            raise NeptuneCannotChangeStageManually("sys/stage changes only by change_stage()")
        if op.path == "sys/id":
            raise NeptuneProtectedPathException("a model version's sys/id is assigned by the store")
        super()._log(op)

    def _snapshot(self) -> FieldTree:
        tree = super()._snapshot()
        tree.apply(AssignString("sys/id", self.id))
        return tree

    def sync(self, wait: bool = True) -> None:
        super().sync(wait)
        self._tree.apply(AssignString("sys/id", self.id))

    def change_stage(self, stage: str) -> None:
        """Move the version to ``stage`` (none, staging, production, archived), then ``wait()``.

        Unlike neptune 1.x this works offline too: the stage is a logged field like any other,
        and the latest change (by time) wins in the store.
        """
        value = check_stage(stage)
        self._changing_stage = True
        try:
            self["sys/stage"] = value
        finally:
            self._changing_stage = False
        self.wait()


# ---------------------------------------------------------------------------- read-only


class ReadOnlyModel(ReadOnlyRun):
    """A model in the store, opened with ``mode="read-only"``."""

    container_type = ContainerType.MODEL
    _not_found = ModelNotFound

    def fetch_model_versions_table(
        self,
        *,
        query: str | None = None,
        columns: Any = None,
        limit: int | None = None,
        sort_by: str = "sys/creation_time",
        ascending: bool = False,
        progress_bar: Any = None,
    ) -> Any:
        """As :meth:`Model.fetch_model_versions_table`."""
        return versions_table(
            self._client, self._project, self._identity.run_id, query, columns, limit, sort_by, ascending
        )


class ReadOnlyModelVersion(ReadOnlyRun):
    """A model version in the store, opened with ``mode="read-only"``."""

    container_type = ContainerType.MODEL_VERSION
    _not_found = ModelVersionNotFound

    def change_stage(self, stage: str) -> None:
        raise NeptuneUserError("change_stage: the model version was opened with mode='read-only'")


def init_model(with_id: str | None = None, **kwargs: Any) -> Model | ReadOnlyModel:
    """Create (``key=``) or open (``with_id=``) a model (neptune 1.x ``neptune.init_model``).

    Keyword arguments: ``key`` (1-10 upper-case letters or digits; the id is ``<project key>-<key>``),
    ``name``, ``project``, ``api_token``, ``mode`` (async, sync, offline, debug, read-only),
    ``flush_period``. Raises NeptuneModelKeyAlreadyExistsError for a key the data directory or
    the store already holds, ModelNotFound for a ``with_id`` the store does not know.
    """
    if _read_only(kwargs):
        return _open_read_only(ReadOnlyModel, with_id, NeedExistingModelForReadOnlyMode, kwargs)
    return Model(with_id, **kwargs)


def init_model_version(with_id: str | None = None, **kwargs: Any) -> ModelVersion | ReadOnlyModelVersion:
    """Create a version of ``model=`` or open one (``with_id=``), neptune 1.x ``init_model_version``.

    A new version has a local id until the store numbers it (``PROJ-MOD-<n>``, docs/models.md);
    ``with_id`` takes either. Raises ModelNotFound for a model that neither the data directory nor
    the store knows (when the store can be asked), ModelVersionNotFound for an unknown ``with_id``.
    """
    if _read_only(kwargs):
        return _open_read_only(ReadOnlyModelVersion, with_id, NeedExistingModelVersionForReadOnlyMode, kwargs)
    return ModelVersion(with_id, **kwargs)


def versions_table(
    client: Any,
    project: str,
    model_id: str,
    query: str | None,
    columns: Any,
    limit: int | None,
    sort_by: str,
    ascending: bool,
) -> Any:
    """The versions of ``model_id`` matching ``query`` (NQL), with ``sys/id`` among the columns."""
    from .tables import fetch_table

    own = f'(sys/model_id:string = "{model_id}")'
    return fetch_table(
        "model_version",
        project,
        client,
        query=f"{own} AND ({query})" if query else own,
        columns=columns,
        limit=limit,
        sort_by=sort_by,
        ascending=ascending,
    )


# ---------------------------------------------------------------------------- lookups


def _read_only(kwargs: dict[str, Any]) -> bool:
    return (kwargs.get("mode") or os.environ.get("NEPTUNE_MODE")) == "read-only"


def _open_read_only(
    cls: type[ReadOnlyRun], with_id: str | None, missing: type, kwargs: dict[str, Any]
) -> Any:
    conf = cfg.resolve(
        project=kwargs.get("project"),
        api_token=kwargs.get("api_token"),
        mode="read-only",
        flush_period=None,
        strict=None,
    )
    if not with_id:
        raise missing(f"mode='read-only' opens an existing {cls.container_type.value}: pass with_id=")
    return cls(connect.open_store("read-only", conf.api_token), conf.project, with_id)


def _ask_store(conf: cfg.RunConfig, ident: str, kind: str) -> tuple[bool, Any]:
    """(whether the store answered, its record of ``ident`` if it is a ``kind``). Offline, without a
    token or with the store unreachable nothing is asked: logging never waits for the store."""
    if conf.mode not in ("async", "sync") or not conf.api_token:
        return False, None
    try:
        client = connect.open_store(conf.mode, conf.api_token)
        client.timeout = LOOKUP_TIMEOUT
        record = client.find_run(conf.project, ident)
    except StoreError as exc:
        logger.warning("neptune-sync: could not ask the store about %s (%s)", ident, exc)
        return False, None
    return True, record if record is not None and record.kind == kind else None


def _key_exists(model_id: str, project: str) -> NeptuneModelKeyAlreadyExistsError:
    return NeptuneModelKeyAlreadyExistsError(
        f"project {project!r} already has a model {model_id!r}; open it with init_model(with_id={model_id!r})"
    )


def _local(conf: cfg.RunConfig, kind: str, ident: str) -> Path | None:
    """The run directory of the ``kind`` container whose id (or, for a model version, store id) is ``ident``."""
    from .wire.sync_state import read_state

    direct = layout.run_dir(layout.run_key_for(conf.project, run_id=ident))
    if (direct / "run.json").is_file() and layout.read_identity(direct).kind == kind:
        return direct
    for path in layout.iter_run_dirs():
        identity = layout.read_identity(path)
        if identity.project != conf.project or identity.kind != kind:
            continue
        state = read_state(path) if kind == "model_version" else None
        if identity.run_id == ident or (state is not None and state.store_id == ident):
            return path
    return None


def _resume_model(conf: cfg.RunConfig, model_id: str) -> tuple[layout.RunIdentity, Path | None, bool]:
    if not MODEL_ID.fullmatch(model_id):
        raise ModelNotFound(f"{model_id!r} is not a model id (<PROJECT KEY>-<MODEL KEY>, e.g. CLS-PRE)")
    fresh = fresh_identity(conf, "model", model_id)
    if conf.mode == "debug":
        return fresh, None, False
    path = layout.run_dir(fresh.run_key)
    if not (path / "run.json").is_file():
        answered, record = _ask_store(conf, model_id, "model")
        if record is None:
            raise ModelNotFound(_not_found_message("model", model_id, conf.project, answered))
    identity, path, _ = claim_dir(conf, fresh, path)
    return identity, path, True


def _resume_version(conf: cfg.RunConfig, ident: str) -> tuple[layout.RunIdentity, Path | None, bool]:
    model_id = ident.split(LOCAL_MARK)[0] if LOCAL_MARK in ident else ident.rsplit("-", 1)[0]
    if conf.mode == "debug":
        return fresh_identity(conf, "model_version", ident, model_id=model_id), None, False
    path = _local(conf, "model_version", ident)
    if path is not None:
        return claim_dir(conf, layout.read_identity(path), path)
    answered, record = _ask_store(conf, ident, "model_version")
    if record is None:
        raise ModelVersionNotFound(_not_found_message("model version", ident, conf.project, answered))
    known = layout.RunIdentity(
        project=conf.project,
        run_key=record.run_key,
        run_id=record.run_id,
        mode=conf.mode,
        kind="model_version",
        model_id=model_id,
    )
    identity, path, _ = claim_dir(conf, known, layout.run_dir(record.run_key))
    return identity, path, True


def _check_model_exists(conf: cfg.RunConfig, model_id: str) -> None:
    if not MODEL_ID.fullmatch(model_id):
        raise ModelNotFound(f"{model_id!r} is not a model id (<PROJECT KEY>-<MODEL KEY>, e.g. CLS-PRE)")
    if conf.mode == "debug" or _local(conf, "model", model_id) is not None:
        return
    answered, record = _ask_store(conf, model_id, "model")
    if answered and record is None:
        raise ModelNotFound(_not_found_message("model", model_id, conf.project, True))
    if not answered:
        logger.info(
            "neptune-sync: model %s is not in the data directory and the store was not asked", model_id
        )


def _not_found_message(noun: str, ident: str, project: str, asked_store: bool) -> str:
    where = (
        "the data directory or the store" if asked_store else "the data directory (the store was not asked)"
    )
    return f"no {noun} {ident!r} of project {project!r} in {where}"
