"""Which store and token a project's runs go to: one daemon ships a data dir that mixes projects.

The config file's ``[projects]`` table maps a project (``ws/proj``) or a whole workspace
(``ws/*``) to its token and, optionally, its store; every other project uses the top-level
``api_token`` / ``store_url`` (``NEPTUNE_API_TOKEN``). A project with neither is not an error of
the daemon: its runs wait, and ``neptune-sync status`` / ``sync`` name the fix
(:class:`~neptune_sync.exceptions.NoCredentialsError`), while the other projects go on.

:class:`RoutingSink` is the daemon's one sink: it sends each run's requests to the store of the
run's project, opening one HTTP sink per (store, token) on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from neptune_sync.exceptions import AuthError, NoCredentialsError
from neptune_sync.wire.ops import Entry, FileRef
from neptune_sync.wire.protocol import BatchResponse, RunInfo
from neptune_sync.wire.token import parse_token

from .config import DaemonConfig
from .sinks.base import Sink


class Route(NamedTuple):
    """Where a project's runs go: the store's URL and the token to present there."""

    url: str
    token: str


def route_for(config: DaemonConfig, project: str) -> Route:
    """The route of ``project``: its ``[projects]`` entry (exact, then ``ws/*``), else the default.

    Raises:
        NoCredentialsError: no token covers the project (the message names the fix).
        AuthError: the token that covers it cannot be read and no store URL is given.
    """
    workspace = project.split("/", 1)[0]
    entry = config.projects.get(project) or config.projects.get(f"{workspace}/*")
    token = (entry.api_token if entry else "") or config.api_token
    url = (entry.store_url if entry else "") or config.store_url
    if not token:
        raise NoCredentialsError(
            f"no API token for project {project!r}: set NEPTUNE_API_TOKEN, or map the project in the "
            f'daemon config file: [projects."{project}"] api_token = "..." (or "{workspace}/*" for its '
            f"workspace; docs/daemon.md). `neptune-sync server token create --project {project}` prints one"
        )
    return _route(token, url, f"the API token for project {project!r}")


def _route(token: str, url: str, what: str) -> Route:
    if not token:
        raise NoCredentialsError(f"{what} is empty")
    if not url:
        try:
            url = parse_token(token).address
        except AuthError as exc:
            raise AuthError(f"{what}: {exc}") from None
    return Route(url.rstrip("/"), token)


def check_routes(config: DaemonConfig) -> None:
    """Refuse a config that names no token at all (NoCredentialsError) or one that cannot be read
    (AuthError): a daemon started with it could not sync anything, or not what it was told to."""
    if not config.api_token and not config.projects:
        raise NoCredentialsError(
            "no API token: set NEPTUNE_API_TOKEN, or api_token / [projects] in the daemon config file "
            "(docs/daemon.md); `neptune-sync server token create --project WS/PROJ` prints one"
        )
    if config.api_token:
        _route(config.api_token, config.store_url, "the API token (NEPTUNE_API_TOKEN or api_token)")
    for pattern, entry in config.projects.items():
        token, url = entry.api_token or config.api_token, entry.store_url or config.store_url
        _route(token, url, f'the api_token of [projects."{pattern}"]')


class RoutingSink(Sink):
    """The sink of every run: dispatches each call to the sink of the run's project's route."""

    def __init__(self, config: DaemonConfig, make: Callable[[Route], Sink]) -> None:
        self.config = config
        self._make = make
        self._sinks: dict[Route, Sink] = {}

    async def sink_for(self, run: RunInfo) -> Sink:
        route = route_for(self.config, run.project)
        sink = self._sinks.get(route)
        if sink is None:
            sink = self._make(route)
            await sink.open()
            self._sinks[route] = sink
        return sink

    async def acked_seq(self, run: RunInfo, writer_id: str) -> int:
        return await (await self.sink_for(run)).acked_seq(run, writer_id)

    async def write_batch(
        self, run: RunInfo, writer_id: str, entries: list[Entry], after: float | None = None
    ) -> BatchResponse:
        return await (await self.sink_for(run)).write_batch(run, writer_id, entries, after)

    async def field_types(self, run: RunInfo) -> dict[str, str] | None:
        return await (await self.sink_for(run)).field_types(run)

    async def store_id(self, run: RunInfo) -> str | None:
        return await (await self.sink_for(run)).store_id(run)

    async def has_blob(self, run: RunInfo, ref: FileRef) -> bool:
        return await (await self.sink_for(run)).has_blob(run, ref)

    async def put_blob(self, run: RunInfo, ref: FileRef, path: Path) -> None:
        await (await self.sink_for(run)).put_blob(run, ref, path)

    async def close(self) -> None:
        sinks, self._sinks = list(self._sinks.values()), {}
        for sink in sinks:
            await sink.close()
