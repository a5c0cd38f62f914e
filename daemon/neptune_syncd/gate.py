"""Pausing a project whose credentials the store refused, shared by all its replicators."""

from __future__ import annotations

import anyio


class ProjectGate:
    """Replicators wait here before talking to the store about a project."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def pause(self, project: str, seconds: float) -> None:
        self._until[project] = anyio.current_time() + seconds

    def paused(self, project: str) -> bool:
        return self._until.get(project, 0.0) > anyio.current_time()

    async def wait(self, project: str) -> None:
        """Return once the project is not paused."""
        while (delay := self._until.get(project, 0.0) - anyio.current_time()) > 0:
            await anyio.sleep(delay)
