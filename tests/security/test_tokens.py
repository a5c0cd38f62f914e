"""Token lifecycle: create with a name, projects and an expiry; list (last-used time, never the
secret); revoke, effective at once on every store process sharing the database."""

from __future__ import annotations

import time

import aiohttp
import anyio
import pytest
from store_helpers import TIMEOUT, auth

from neptune_sync.cli import main
from neptune_sync.wire.token import hash_secret, secret_of
from neptune_sync_store.auth import USED_EVERY
from neptune_sync_store.context import CONTEXT
from neptune_sync_store.testing import running_store

pytestmark = pytest.mark.asyncio


async def status_of(session, url, token, project) -> int:
    params = {"project": project}
    async with session.get(
        f"{url}/v1/project/fields", params=params, headers=auth(token), timeout=TIMEOUT
    ) as r:
        return r.status


async def cli(*argv: str) -> int:
    return await anyio.to_thread.run_sync(main, list(argv))


async def test_revocation_holds_at_once_on_every_process_sharing_postgres(pg_schema, tmp_path):
    dsn, schema = pg_schema
    async with (
        running_store(tmp_path / "one", db=dsn, pg_schema=schema) as one,
        running_store(tmp_path / "two", db=dsn, pg_schema=schema) as two,
        aiohttp.ClientSession() as s,
    ):
        token = await one.token("team/proj")
        for store in (one, two):
            assert await status_of(s, store.url, token, "team/proj") == 200
        code = await cli(
            "server",
            "token",
            "revoke",
            hash_secret(secret_of(token))[:12],
            "--db",
            dsn,
            "--pg-schema",
            schema,
        )
        assert code == 0
        for store in (one, two):  # both had just accepted it: no process keeps it in memory
            assert await status_of(s, store.url, token, "team/proj") == 401


async def test_create_list_revoke_by_name_through_the_cli(tmp_path, capsys):
    data = str(tmp_path / "store")
    args = ("--data", data)
    assert (
        await cli(
            "server",
            "token",
            "create",
            *args,
            "--project",
            "ws/a",
            "--project",
            "ws2/*",
            "--scope",
            "read",
            "--name",
            "ci",
            "--expires",
            "30d",
        )
        == 0
    )
    token = capsys.readouterr().out.strip()
    async with running_store(tmp_path / "store") as store, aiohttp.ClientSession() as s:
        assert await status_of(s, store.url, token, "ws/a") == 200
        assert await status_of(s, store.url, token, "ws2/anything") == 200  # the workspace grant
        assert await status_of(s, store.url, token, "ws/b") == 403
        assert await status_of(s, store.url, token, "ws2x/a") == 403  # a prefix is not a workspace
        assert await cli("server", "token", "list", *args) == 0
        listing = capsys.readouterr().out
        assert "ci" in listing and "ws/a ws2/*" in listing and "read" in listing
        assert secret_of(token) not in listing and hash_secret(secret_of(token)) not in listing
        row = (await store.storage.tokens())[0]
        assert row.last_used is not None and abs(row.last_used - time.time()) < 60
        assert abs(row.expires - (row.created + 30 * 86_400)) < 1
        assert await cli("server", "token", "revoke", *args, "ci") == 0
        assert await status_of(s, store.url, token, "ws/a") == 401
        assert await cli("server", "token", "revoke", *args, "ci") == 2
        assert "no token has the name or id 'ci'" in capsys.readouterr().err


async def test_an_ambiguous_name_is_refused_unless_all(tmp_path, capsys):
    args = ("--data", str(tmp_path / "store"))
    for _ in range(2):
        assert await cli("server", "token", "create", *args, "--project", "ws/a", "--name", "twin") == 0
    assert await cli("server", "token", "revoke", *args, "twin") == 2
    assert "2 tokens have the name 'twin'" in capsys.readouterr().err
    assert await cli("server", "token", "revoke", *args, "twin", "--all") == 0
    assert "revoked 2 tokens" in capsys.readouterr().out


async def test_an_expired_token_is_refused_with_a_message(store):
    mint = store.app[CONTEXT].auth.mint
    expired = await mint("team/proj", ["read"], store.url, expires=time.time() - 1)
    fresh = await mint("team/proj", ["read"], store.url, expires=time.time() + 3600)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{store.url}/v1/projects", headers=auth(expired), timeout=TIMEOUT) as resp:
            assert resp.status == 401 and "expired" in (await resp.json())["message"]
        assert await status_of(s, store.url, fresh, "team/proj") == 200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--project", "not a project"], "is not of the form 'workspace/project'"),
        (["--project", "ws/*/x"], "is not of the form"),
        (["--project", "ws/a", "--expires", "soon"], "is neither a duration"),
        (["--project", "ws/a", "--expires", "2001-01-01"], "is in the past"),
        (["--project", "ws/a", "--name", "bad\nname"], "printable"),
    ],
)
async def test_token_create_refuses_bad_input_in_one_line(tmp_path, capsys, argv, message):
    assert await cli("server", "token", "create", "--data", str(tmp_path / "s"), *argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


async def test_last_used_is_written_at_most_once_a_minute(store, monkeypatch):
    token = await store.token("team/proj")
    writes = []
    real = store.storage.token_used

    async def counting(digest, when):
        writes.append(when)
        await real(digest, when)

    monkeypatch.setattr(store.storage, "token_used", counting)
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            assert await status_of(s, store.url, token, "team/proj") == 200
    assert len(writes) == 1
    assert USED_EVERY == 60.0


async def test_the_projects_listing_follows_the_grants(store):
    from store_helpers import encode, floats, request

    from neptune_sync.wire.protocol import RunInfo

    writer = await store.token(["ws/a", "ws/b", "other/c"], ["write"])
    async with aiohttp.ClientSession() as s:
        for project in ("ws/a", "ws/b", "other/c"):
            body = encode(request([floats("m", 1, range(1, 2))], RunInfo(project, "r", "R-1")))
            async with s.post(f"{store.url}/v1/batches", data=body, headers=auth(writer)) as resp:
                assert resp.status == 200
        for grants, want in (
            (["ws/*"], ["ws/a", "ws/b"]),
            (["ws/b", "other/c"], ["other/c", "ws/b"]),
            (["ws/*", "nobody/x"], ["nobody/x", "ws/a", "ws/b"]),  # a named project, even if empty
        ):
            reader = await store.token(grants, ["read"])
            async with s.get(f"{store.url}/v1/projects", headers=auth(reader), timeout=TIMEOUT) as resp:
                assert [p["project"] for p in await resp.json()] == want, grants
