"""Model version numbers: the store gives each model version its ``PROJ-KEY-<n>`` id (docs/models.md).

A model version is created offline under a local id; the store numbers it when it first sees it,
in the transaction that creates its row: the model's counter (table ``model_versions``) goes up
by one, the row's ``run_id`` becomes ``<model id>-<n>`` and the version gets its ``sys/id`` field.
Numbers are never reused, even when a version is deleted. SQL here is written with ``:name``
parameters, run as written by SQLite and through ``aggregate.numbered`` by PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from ..plan import FieldState

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS model_versions("
    " project TEXT NOT NULL, model_id TEXT NOT NULL, last_number INTEGER NOT NULL, PRIMARY KEY(project, model_id))"
)
NEXT_NUMBER = (
    "INSERT INTO model_versions(project, model_id, last_number) VALUES (:p, :m, 1)"
    " ON CONFLICT(project, model_id) DO UPDATE SET last_number = model_versions.last_number + 1 RETURNING last_number"
)
SET_RUN_ID = "UPDATE runs SET run_id=:i WHERE id=:r"
ID_FIELD = (
    "INSERT INTO fields(run, path, type, data, num, txt, last_step, key)"
    " VALUES (:r, 'sys/id', 'string', :data, :num, :txt, :last_step, :key)"
)


def version_id(model_id: str, number: int) -> str:
    return f"{model_id}-{number}"


def id_field_values(run: int, run_id: str) -> dict[str, Any]:
    """Parameters of ``ID_FIELD``: a string field older than any write (no merge key)."""
    data, num, txt, last_step, key = FieldState("string", run_id).columns()
    return {"r": run, "data": data, "num": num, "txt": txt, "last_step": last_step, "key": key}
