"""What the OpenAPI fuzz tests share: the described schema, how a msgpack body is sent, and a live
store with a project token (tests/store/test_openapi_fuzz.py sends valid requests,
tests/security/test_openapi_negative.py invalid ones)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import schemathesis
from schemathesis.transport.serialization import Binary
from store_helpers import start_server, stop

DOC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
PROJECT = "ws/proj"


@schemathesis.serializer("application/msgpack")
def _msgpack(ctx, value):
    """Binary bodies go as they are; anything else is msgpack-encoded."""
    if isinstance(value, Binary):
        return {"data": value.data}
    return {"data": value if isinstance(value, bytes) else msgspec.msgpack.encode(value)}


@contextmanager
def fuzzed_store(data: Path) -> Iterator[tuple[str, str]]:
    """A store in ``data`` with a token for :data:`PROJECT` and a small body limit: (url, token)."""
    proc, url = start_server(
        data, "--token-project", PROJECT, "--token-file", str(data / "token"), "--max-body", "65536"
    )
    try:
        yield url, (data / "token").read_text().strip()
    finally:
        stop(proc)
