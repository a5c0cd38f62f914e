"""What every handler reaches through ``request.app[CONTEXT]``, and the response helpers they share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from neptune_sync.wire.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

from .auth import TokenAuth
from .blob_backends import BlobBackend
from .config import StoreConfig
from .errors import Overloaded, RequestError
from .storage import Storage

MSGPACK = "application/msgpack"
_json = msgspec.json.Encoder()
_msgpack = msgspec.msgpack.Encoder()


class Slots:
    """A bounded count of requests in progress: over the limit is 429, never a queue."""

    def __init__(self, what: str, limit: int, retry_after: int) -> None:
        self.what = what
        self.limit = limit
        self.retry_after = retry_after
        self.in_use = 0

    @contextmanager
    def take(self) -> Iterator[None]:
        if self.in_use >= self.limit:
            raise Overloaded(
                f"{self.in_use} {self.what} in progress (limit {self.limit}); retry later",
                headers={"Retry-After": str(self.retry_after)},
            )
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1


@dataclass
class StoreContext:
    config: StoreConfig
    storage: Storage
    auth: TokenAuth
    blobs: BlobBackend
    ingest_slots: Slots = field(init=False)
    upload_slots: Slots = field(init=False)

    def __post_init__(self) -> None:
        self.ingest_slots = Slots("batches", self.config.max_inflight, self.config.retry_after)
        self.upload_slots = Slots("blob uploads", self.config.max_inflight, self.config.retry_after)


CONTEXT = web.AppKey("neptune_sync_store", StoreContext)


def context(request: web.Request) -> StoreContext:
    return request.app[CONTEXT]


def json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=_json.encode(obj), status=status, content_type="application/json")


def msgpack_response(obj: Any) -> web.Response:
    return web.Response(
        body=_msgpack.encode(obj), content_type=MSGPACK, headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
    )


def query_str(request: web.Request, name: str) -> str:
    """A required query parameter (400 if missing or empty)."""
    value = request.query.get(name, "")
    if not value:
        raise RequestError(f"query parameter {name!r} is required")
    return value


_TRUE, _FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


def query_bool(request: web.Request, name: str) -> bool:
    """A flag: "1", "true", "yes" or "0", "false", "no" (any case); absent or empty is false."""
    raw = request.query.get(name, "").lower()
    if raw not in _TRUE + _FALSE:
        raise RequestError(f"query parameter {name!r} must be true or false, got {raw!r}")
    return raw in _TRUE


def query_float(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise RequestError(f"query parameter {name!r} must be a number, got {raw!r}") from None


def query_int(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise RequestError(f"query parameter {name!r} must be in [{low}, {high}], got {value}")
    return value
