"""Every endpoint x every way a token can be wrong: no token, malformed, expired, revoked, another
project's, a read token writing, a write token reading. Each is refused with the documented status
and a message, and nothing is stored."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import aiohttp
import pytest
import pytest_asyncio
from store_helpers import TIMEOUT, encode, floats, request, sha

from neptune_sync.wire.protocol import RunInfo
from neptune_sync.wire.token import hash_secret, secret_of
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.storage.access import TOKEN_ID_CHARS

pytestmark = pytest.mark.asyncio

PROJECT, OTHER = "team/proj", "team/other"
RUN = RunInfo(PROJECT, "run-1", "RUN-1")
CONTENT = os.urandom(1000)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    params: dict
    scope: str | None  # None: any scope on the project
    body: bytes | None = None
    headers: tuple = ()


def endpoints() -> list[Endpoint]:
    run = {"project": PROJECT, "run": "run-1"}
    blob = f"/v1/blobs/{sha(CONTENT)}"
    batch = encode(request([floats("m", 1, range(1, 2))], RunInfo(PROJECT, "run-2", "RUN-2")))
    return [
        Endpoint("POST", "/v1/batches", {}, "write", batch, (("Content-Type", "application/msgpack"),)),
        Endpoint("GET", "/v1/acked", {"project": PROJECT, "run_key": "run-1", "writer_id": "w1"}, None),
        Endpoint("HEAD", blob, {"project": PROJECT}, None),
        Endpoint("PUT", blob, {"project": PROJECT}, "write", CONTENT, (("X-Blob-Size", str(len(CONTENT))),)),
        Endpoint("GET", blob, {"project": PROJECT}, "read"),
        Endpoint("GET", "/v1/run", run, "read"),
        Endpoint("GET", "/v1/run/structure", run, "read"),
        Endpoint("GET", "/v1/run/values", run, "read"),
        Endpoint("GET", "/v1/run/series", {**run, "path": "m"}, "read"),
        Endpoint("GET", "/v1/run/file", {**run, "path": "f"}, "read"),
        Endpoint("GET", "/v1/runs", {"project": PROJECT}, "read"),
        Endpoint("GET", "/v1/project/fields", {"project": PROJECT}, "read"),
        Endpoint("GET", "/v1/series/buckets", {"project": PROJECT, "run": "run-1", "path": "m"}, "read"),
    ]


CASES = [
    "none",
    "malformed",
    "expired",
    "revoked",
    "wrong project",
    "read scope writing",
    "write scope reading",
]
EXPECTED = {"none": 401, "malformed": 401, "expired": 401, "revoked": 401, "wrong project": 403}


@pytest_asyncio.fixture
async def tokens(store):
    mint = store.app[CONTEXT].auth.mint
    revoked = await mint(PROJECT, ["read", "write"], store.url, name="gone")
    await store.storage.revoke_tokens(hash_secret(secret_of(revoked))[:TOKEN_ID_CHARS])
    return {
        "none": None,
        "malformed": "not-a-token!!",
        "expired": await mint(PROJECT, ["read", "write"], store.url, expires=time.time() - 1),
        "revoked": revoked,
        "wrong project": await mint(OTHER, ["read", "write"], store.url),
        "read scope writing": await mint(PROJECT, ["read"], store.url),
        "write scope reading": await mint(PROJECT, ["write"], store.url),
    }


async def snapshot(store):
    blobs = store.app[CONTEXT].blobs
    return await store.storage.dump(), await blobs.shas(), await blobs.partials(), await store.storage.blob_owners()


@pytest.mark.parametrize("case", CASES)
async def test_every_endpoint_refuses_a_wrong_token_and_stores_nothing(store, tokens, case):
    before = await snapshot(store)
    checked = 0
    async with aiohttp.ClientSession() as s:
        for ep in endpoints():
            want = EXPECTED.get(case)
            if case == "read scope writing" and ep.scope == "write":
                want = 403
            if case == "write scope reading" and ep.scope == "read":
                want = 403
            if want is None:
                continue
            headers = dict(ep.headers)
            if tokens[case] is not None:
                headers["Authorization"] = f"Bearer {tokens[case]}"
            async with s.request(
                ep.method,
                store.url + ep.path,
                params=ep.params,
                data=ep.body,
                headers=headers,
                timeout=TIMEOUT,
            ) as resp:
                assert resp.status == want, (ep.method, ep.path, case, await resp.text())
                if ep.method != "HEAD":
                    message = (await resp.json())["message"]
                    assert message and "Traceback" not in message
            checked += 1
    assert checked >= 2
    assert await snapshot(store) == before


async def test_the_projects_listing_shows_nothing_to_a_wrong_token(store, tokens):
    async with aiohttp.ClientSession() as s:
        for case in ("none", "malformed", "expired", "revoked"):
            headers = {"Authorization": f"Bearer {tokens[case]}"} if tokens[case] else {}
            async with s.get(f"{store.url}/v1/projects", headers=headers, timeout=TIMEOUT) as resp:
                assert resp.status == 401, case
        headers = {"Authorization": f"Bearer {tokens['write scope reading']}"}
        async with s.get(f"{store.url}/v1/projects", headers=headers, timeout=TIMEOUT) as resp:
            assert resp.status == 200 and await resp.json() == []
