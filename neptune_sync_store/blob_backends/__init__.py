"""Where blob bytes live: one small interface (:class:`BlobBackend`), two backends.

- :class:`~.local.LocalBlobBackend`: a directory (the default, ``<data>/blobs``).
- :class:`~.s3.S3BlobBackend`: a bucket of S3-compatible object storage (``--blobs s3://...``),
  which any number of store processes can share.

The contract both keep (tests/store/test_blob_backends.py runs the same suite on each):

- A blob is named by the sha256 of its content. It becomes visible (``size`` answers, ``read``
  serves it) only after its full content was hashed to that name; content that does not hash to
  its name is refused (:class:`~neptune_sync_store.errors.Unprocessable`) and dropped.
- Uploads are resumable. ``receive`` appends at ``offset``, which must equal ``received``; it
  returns how many bytes are now held, which may be less than were sent (the S3 backend keeps
  whole parts only): the uploader resumes from what it returns. A wrong offset is a
  :class:`~neptune_sync_store.errors.Conflict` carrying the right one in ``X-Upload-Offset``.
- An upload's state lives with the bytes (a partial file, a multipart upload), never in process
  memory, so an upload started through one store process can be resumed through another.
- Uploads in progress belong to an ``owner`` (a short lowercase hex name the caller picks; ``""``
  for none): one owner never sees, resumes or drops another's progress, and an owner's upload of
  content already committed still takes and verifies every byte, so an upload never tells an
  owner whether someone else holds the content.
- ``shas``, ``partials`` and ``drop_partial`` let a collector find and remove unreferenced blobs
  and abandoned uploads; ``delete`` removes a committed blob. None of them decides what is
  abandoned or unreferenced: the caller does.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RequestError
from ..validation import is_sha256


@dataclass(frozen=True)
class Partial:
    """An unfinished upload: its blob, the bytes held so far, when bytes last arrived (Unix seconds)
    and whose upload it is."""

    sha256: str
    received: int
    last_write: float
    owner: str = ""


class BlobBackend(abc.ABC):
    """Content-addressed blob bytes with resumable, verified uploads."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect (or check the location can be used)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def size(self, sha256: str) -> int | None:
        """The size of a committed blob; None if there is none."""

    @abc.abstractmethod
    async def received(self, sha256: str, owner: str = "") -> int:
        """Bytes of ``owner``'s unfinished upload the next ``receive`` must start at (0 if none)."""

    @abc.abstractmethod
    async def receive(
        self, sha256: str, size: int, offset: int, chunks: AsyncIterator[bytes], owner: str = ""
    ) -> int:
        """Take ``owner``'s upload bytes from ``offset``; returns the bytes held (``size`` once
        committed).

        Raises:
            Conflict: ``offset`` is not where the held bytes end, or another upload of this blob is
                being received right now.
            RequestError: more bytes than ``size``.
            Unprocessable: the complete content does not hash to ``sha256`` (the upload is dropped).
        """

    @abc.abstractmethod
    def read(self, sha256: str) -> AsyncIterator[bytes]:
        """The content of a committed blob, in chunks (NotFound if there is none)."""

    def file_path(self, sha256: str) -> Path | None:
        """Where a committed blob would be on this machine's disk, for backends that keep blobs
        there (the store then serves it with ``sendfile`` and ranges); None for the others."""
        return None

    async def download_url(self, sha256: str, filename: str) -> str | None:
        """A time-limited URL serving the blob as an attachment named ``filename``, or None when
        this backend cannot hand downloads off (the store then streams the bytes itself)."""
        return None

    @abc.abstractmethod
    async def delete(self, sha256: str) -> bool:
        """Remove a committed blob; False if there was none."""

    @abc.abstractmethod
    async def shas(self) -> list[str]:
        """Every committed blob, sorted."""

    @abc.abstractmethod
    async def partials(self, owner: str | None = None) -> list[Partial]:
        """``owner``'s unfinished uploads, or everyone's if None, sorted by (owner, sha256)."""

    @abc.abstractmethod
    async def drop_partial(self, sha256: str, owner: str = "") -> None:
        """Discard ``owner``'s unfinished upload's bytes (nothing happens if there are none)."""


def check_name(sha256: str) -> str:
    """``sha256`` if it is 64 lowercase hex digits (the only names that reach storage), else 400."""
    if not is_sha256(sha256):
        raise RequestError(f"{sha256!r} is not a lowercase hex sha256")
    return sha256


def check_owner(owner: str) -> str:
    """``owner`` if it is empty or lowercase hex (the names that become paths and key prefixes)."""
    if owner and not (len(owner) <= 64 and all(c in "0123456789abcdef" for c in owner)):
        raise ValueError(f"upload owner {owner!r} is not lowercase hex")
    return owner


def make_blob_backend(location: str, *, presign_seconds: int = 0) -> BlobBackend:
    """The backend for ``location``: ``s3://bucket[/prefix]`` or a directory path.

    An ``s3://`` location reads the endpoint and credentials the usual way of S3 clients
    (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, or
    their config files). ``presign_seconds`` > 0 lets downloads be redirected to presigned URLs
    valid that long. aiobotocore is imported only when S3 is asked for (the ``s3`` extra).
    """
    if location.startswith("s3://"):
        from .s3 import S3BlobBackend

        return S3BlobBackend.from_url(location, presign_seconds=presign_seconds)
    from .local import LocalBlobBackend

    return LocalBlobBackend(Path(location))


__all__ = ["BlobBackend", "Partial", "check_name", "check_owner", "make_blob_backend"]
