"""``GitRef``: which git repository a run records (neptune 1.x's ``neptune.types.GitRef``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar


class GitRef:
    """``GitRef()`` reads the repository holding the current directory; ``GitRef(repository_path=...)``
    another one; ``GitRef.DISABLED`` (or ``git_ref=False``) records no git information."""

    DISABLED: ClassVar[GitRef]

    def __init__(self, repository_path: str | os.PathLike[str] | None = None) -> None:
        self.repository_path = None if repository_path is None else os.fspath(repository_path)
        self._disabled = False

    def __repr__(self) -> str:
        return "GitRef.DISABLED" if self._disabled else f"GitRef(repository_path={self.repository_path!r})"

    @classmethod
    def disabled(cls) -> GitRef:
        """``GitRef.DISABLED``."""
        return cls.DISABLED

    def resolve_path(self) -> Path | None:
        """The directory to search upwards from for a repository (None when disabled)."""
        if self._disabled:
            return None
        return Path(self.repository_path).resolve() if self.repository_path is not None else Path.cwd()


GitRef.DISABLED = GitRef()
GitRef.DISABLED._disabled = True
GitRefDisabled = GitRef.DISABLED
