"""Fuzz the live store from docs/openapi.yaml with invalid (negative) examples: every one must be
refused with a 4xx, and none may be a 5xx. tests/store/test_openapi_fuzz.py sends the valid ones.

Bounded and derandomized for ``make test``; ``NEPTUNE_SYNC_FUZZ_EXAMPLES=500`` runs a long, random
campaign (the same checks)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, not_a_server_error
from schemathesis.transport.serialization import Binary
from store_helpers import floats, post_batch, request, start_server, stop

DOC = Path(__file__).parents[2] / "docs" / "openapi.yaml"
LONG = int(os.environ.get("NEPTUNE_SYNC_FUZZ_EXAMPLES", "0"))
schema = schemathesis.openapi.from_path(DOC)
schema.config.generation.update(modes=[GenerationMode.NEGATIVE])
# a real project and run, so that an invalid value of any other parameter reaches its parsing
schema.config.update(parameters={"project": "ws/proj", "run": "run-key-1"})


@schemathesis.serializer("application/msgpack")
def _msgpack(ctx, value):
    if isinstance(value, Binary):
        return {"data": value.data}
    return {"data": value if isinstance(value, bytes) else msgspec.msgpack.encode(value)}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data = tmp_path_factory.mktemp("negative-fuzz")
    proc, url = start_server(
        data, "--token-project", "ws/proj", "--token-file", str(data / "token"), "--max-body", "65536"
    )
    token = (data / "token").read_text().strip()
    asyncio.run(_seed(url, token))
    try:
        yield url, token
    finally:
        stop(proc)


async def _seed(url: str, token: str) -> None:
    """The run the fixed parameters name, with a float series."""
    async with aiohttp.ClientSession() as session:
        await post_batch(session, url, token, request([floats("m", 1, range(1, 50))]))


@schema.parametrize()
@settings(
    max_examples=LONG or 8,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=list(HealthCheck),
)
def test_invalid_requests_are_refused_with_a_4xx(case, live):
    url, token = live
    case.call_and_validate(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, negative_data_rejection],
        timeout=10,
    )
