"""The trash of a project, as neptune 1.x ``neptune.management`` managed it, and ``neptune-sync trash``.

``trash_objects`` moves runs, models or model versions (by ``sys/id``) to the store's trash: they
leave every table (``fetch_*_table(trashed=False)``, the default) and the web app, but keep all
their data until ``clear_trash`` (or ``delete_objects_from_trash``) deletes them for good;
``restore_objects_from_trash`` takes them back. The project is ``workspace/name`` (or ``name`` with
``workspace=``); the API token comes from ``api_token=`` or ``NEPTUNE_API_TOKEN`` and needs the
write scope.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from typing import Any

from . import config as cfg
from . import connect
from .exceptions import NeptuneSyncError

logger = logging.getLogger("neptune_sync")


def trash_objects(
    project: str, ids: str | Iterable[str], *, workspace: str | None = None, api_token: str | None = None
) -> None:
    """Move the objects with these ``sys/id`` values to the trash (unknown ids are logged)."""
    client, name = _store(project, workspace, api_token)
    result = client.trash(name, _ids(ids))
    _warn_missing(result.missing, name)


def restore_objects_from_trash(
    project: str, ids: str | Iterable[str], *, workspace: str | None = None, api_token: str | None = None
) -> None:
    """Take the objects with these ``sys/id`` values out of the trash."""
    client, name = _store(project, workspace, api_token)
    _warn_missing(client.restore(name, _ids(ids)).missing, name)


def delete_objects_from_trash(
    project: str, ids: str | Iterable[str], *, workspace: str | None = None, api_token: str | None = None
) -> None:
    """Delete for good those of the given objects that are in the trash."""
    client, name = _store(project, workspace, api_token)
    client.clear_trash(name, _ids(ids))


def clear_trash(project: str, *, workspace: str | None = None, api_token: str | None = None) -> None:
    """Delete for good every object in the project's trash."""
    client, name = _store(project, workspace, api_token)
    client.clear_trash(name)


def _store(project: str, workspace: str | None, api_token: str | None) -> tuple[Any, str]:
    name = f"{workspace}/{project}" if workspace and "/" not in project else project
    conf = cfg.resolve(project=name, api_token=api_token, mode="read-only", flush_period=None, strict=None)
    return connect.open_store("read-only", conf.api_token), conf.project


def _ids(ids: str | Iterable[str]) -> list[str]:
    listed = [ids] if isinstance(ids, str) else list(ids)
    for i in listed:
        if not isinstance(i, str):
            raise TypeError(f"ids must be strings (sys/id values), got {type(i).__name__}")
    return listed


def _warn_missing(missing: list[str], project: str) -> None:
    if missing:
        logger.warning("project %s has no object with id %s", project, ", ".join(missing))


# --- neptune-sync trash ---


def register(sub: Any) -> None:
    parser = sub.add_parser("trash", help="move runs / models to the store's trash, restore, list, clear")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("add", "move objects (by sys/id) to the trash"),
        ("restore", "take objects out of the trash"),
        ("delete", "delete trashed objects for good"),
    ):
        action = actions.add_parser(name, help=help_text)
        _common(action)
        action.add_argument("ids", nargs="+", metavar="ID", help="sys/id of a run, model or model version")
        action.set_defaults(func=_run)
    for name, help_text in (("clear", "delete everything in the trash for good"), ("ls", "list the trash")):
        action = actions.add_parser(name, help=help_text)
        _common(action)
        action.set_defaults(func=_run, ids=[])


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="workspace/project")
    parser.add_argument(
        "--api-token", default=None, help="a token with the write scope (else NEPTUNE_API_TOKEN)"
    )


def _run(args: argparse.Namespace) -> int:
    try:
        return _act(args)
    except NeptuneSyncError as exc:
        print(f"neptune-sync trash: {exc}", file=sys.stderr)
        return 2


def _act(args: argparse.Namespace) -> int:
    client, project = _store(args.project, None, args.api_token)
    if args.action == "ls":
        from .tables import fetch_table

        for kind in ("run", "model", "model_version"):
            for entry in fetch_table(kind, project, client, trashed=True, columns=["sys/name"]):
                print(f"{kind}\t{entry._record.run_id}")
        return 0
    if args.action == "clear":
        print(f"deleted {client.clear_trash(project)} object(s) from the trash of {project}")
        return 0
    if args.action == "delete":
        print(f"deleted {client.clear_trash(project, args.ids)} object(s) from the trash of {project}")
        return 0
    result = (client.trash if args.action == "add" else client.restore)(project, args.ids)
    verb = "moved to the trash" if args.action == "add" else "restored"
    print(f"{verb}: {', '.join(result.found) or 'nothing'}")
    if result.missing:
        print(f"not found: {', '.join(result.missing)}")
        return 1
    return 0
