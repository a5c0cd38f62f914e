"""Content-addressed blob store for uploaded files (one per run directory).

A blob is stored once per content at ``blobs/<first two hex>/<sha256>``. Files are copied at call
time (so later changes to the user's file do not change what was logged), streamed in chunks
while hashing into a temporary file that is renamed into place: a crash leaves at most a stray
``.tmp`` file, never a blob whose name does not match its content.

Blobs are created like every other file of the run (segments, run.json): mode 0666 less the
umask, group from the directory (a setgid data directory gives the daemon's group), so a daemon
running as another user of that group can read them (docs/daemon.md).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class RunBlobs:
    """A run's ``blobs/`` directory: file contents by sha256, written once each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store bytes; returns (sha256, size)."""
        return self.put_chunks([data])

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store everything a binary stream yields; returns (sha256, size)."""
        return self.put_chunks(iter(lambda: stream.read(CHUNK), b""))

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Copy a local file into the store; returns (sha256, size)."""
        with open(path, "rb") as f:
            return self.put_stream(f)

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = _create_temp(self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            final = self.path_of(sha)
            if final.exists():
                os.unlink(tmp)
            else:
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
            return sha, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_of(sha256), "rb")


def _create_temp(directory: Path) -> tuple[int, str]:
    """A new, empty temporary file in ``directory``, mode 0666 less the umask (``mkstemp`` would
    force 0600, which a daemon of the same group cannot read)."""
    while True:
        tmp = os.path.join(directory, f".{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def sha256_of_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Hash a file without storing it (used by Artifact.track_files)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
