"""HTTP-facing errors of the store: each carries its status and a stable code for the JSON body.

They extend :class:`neptune_sync.exceptions.StoreError` (401 / 403 also the client's
``Unauthorized`` / ``Forbidden``), so the whole project keeps one hierarchy.
Handlers raise them; the error middleware (``app``) turns them into ``ErrorBody`` responses.
"""

from __future__ import annotations

from neptune_sync import exceptions as client
from neptune_sync.exceptions import StoreError


class RequestError(StoreError):
    """A request the store refuses; nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        self.headers = headers or {}
        super().__init__(message)


class Unauthorized(RequestError, client.Unauthorized):
    status = 401
    code = "unauthorized"


class Forbidden(RequestError, client.Forbidden):
    status = 403
    code = "forbidden"


class NotFound(RequestError):
    status = 404
    code = "not_found"


class Conflict(RequestError):
    status = 409
    code = "conflict"


class TooLarge(RequestError):
    status = 413
    code = "too_large"


class Unprocessable(RequestError):
    status = 422
    code = "unprocessable"


class Overloaded(RequestError):
    status = 429
    code = "overloaded"


class BadQuery(RequestError):
    """A table query (NQL) the store cannot run; the message names the column."""

    code = "bad_query"
