"""Fuzz the live store from docs/openapi.yaml with invalid (negative) examples: none may make it
answer a 5xx. tests/store/test_openapi_fuzz.py sends the valid ones.

That each invalid value is refused with a 4xx naming it is checked by the targeted tests of this
directory, not here: a query value arrives as text, so many of the fuzzer's "invalid" mutations (a
string parameter "became boolean": ``path=false``) are valid requests.

Bounded and derandomized for ``make test``; ``NEPTUNE_SYNC_FUZZ_EXAMPLES=500`` runs a long, random
campaign (the same checks)."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_helpers import DOC, PROJECT, fuzzed_store
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from store_helpers import floats, post_batch, request

LONG = int(os.environ.get("NEPTUNE_SYNC_FUZZ_EXAMPLES", "0"))
schema = schemathesis.openapi.from_path(DOC)
# the store ignores query parameters it does not document (docs/openapi.yaml says so): the invalid
# cases are the documented parameters' values
schema.config.generation.update(modes=[GenerationMode.NEGATIVE], allow_extra_parameters=False)
# a real project and run, so that an invalid value of any other parameter reaches its parsing
schema.config.update(parameters={"project": PROJECT, "run": "run-key-1"})


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with fuzzed_store(tmp_path_factory.mktemp("negative-fuzz")) as (url, token):
        asyncio.run(_seed(url, token))
        yield url, token


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
def test_invalid_requests_never_make_a_server_error(case, live):
    url, token = live
    case.call_and_validate(
        base_url=url,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error],
        timeout=10,
    )
