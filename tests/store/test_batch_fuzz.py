"""Batches built from arbitrary decodable values: the store answers 2xx or 4xx, never 5xx, on
both backends; a refused batch leaves the store's dump unchanged, and both backends end equal.

The store runs in a thread with its own event loop, so hypothesis drives it synchronously.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import Future

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import PROJECT, reachable_pg, sha

from neptune_sync.wire import ops
from neptune_sync.wire.ops import Entry
from neptune_sync.wire.protocol import BatchRequest, FieldValue, RunInfo, RunsTable, batch_request_encoder
from neptune_sync_store.testing import running_store

BLOB = b"fuzz blob"


class StoreThread:
    """A live store (one backend) served from a background event loop."""

    def __init__(self, data_dir, db=None, pg_schema="public") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready: Future = Future()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._serve(data_dir, db, pg_schema),)
        )
        self._thread.start()
        self.url, self.token, self.store = self._ready.result(30)

    async def _serve(self, data_dir, db, pg_schema) -> None:
        try:
            async with running_store(data_dir, db=db, pg_schema=pg_schema, max_body=1 << 20) as store:
                self._ready.set_result((store.url, await store.token(PROJECT), store))
                await self._stop.wait()
                if db:
                    await store.storage.drop_schema()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def dump(self) -> bytes:
        return self.call(self.store.storage.dump())

    def request(self, method: str, path: str, body: bytes | None, **headers: str) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        for name, value in headers.items():
            req.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.read()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A SQLite store and, when reachable, a PostgreSQL one (each with the fuzz blob uploaded)."""
    live = [StoreThread(tmp_path_factory.mktemp("fuzz-sqlite"))]
    dsn = asyncio.run(reachable_pg())
    if dsn is not None:
        schema = f"nss_fuzz_{uuid.uuid4().hex[:12]}"
        live.append(StoreThread(tmp_path_factory.mktemp("fuzz-pg"), db=dsn, pg_schema=schema))
    for s in live:
        status, _ = s.request("PUT", f"/v1/blobs/{sha(BLOB)}", BLOB, X_Blob_Size=str(len(BLOB)))
        assert status == 201
    yield live
    for s in live:
        s.close()


def mostly(good, bad):
    """``good`` three times in four: a batch then often gets past the batch rules to storage."""
    return st.integers(0, 7).flatmap(
        lambda i: bad if i in (2, 5) else good
    )  # not 0, 7: hypothesis favours bounds


# Values anywhere in the ranges msgpack decodes into the structs' types.
texts = st.one_of(st.sampled_from(["", "a", "a\x00b", "\x00", "ok/x", "../x", "é"]), st.text(max_size=8))
paths = mostly(
    st.sampled_from(["p", "a/b", "q/r/s"]),
    st.one_of(st.sampled_from(["a//b", "/a", "a/", "a\x00b", ""]), st.text(max_size=6)),
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, 2.0**53 + 2])
)
ints = st.one_of(st.integers(-(2**63), 2**64 - 1), st.integers(-3, 3), st.sampled_from([2**63 - 1, 2**63]))
stamps = mostly(st.floats(0, 2e9), floats)
names = mostly(st.sampled_from(["", "a.txt", "weights"]), texts)
shas = mostly(st.just(sha(BLOB)), st.sampled_from(["0" * 64, "ab" * 32, "XYZ"]))
refs = st.builds(ops.FileRef, shas, mostly(st.just(len(BLOB)), ints), names, names)
datetimes = st.one_of(
    st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.datetimes(),
    st.datetimes(
        timezones=st.sampled_from([dt.timezone(dt.timedelta(hours=-12)), dt.timezone(dt.timedelta(hours=14))])
    ),
)


def points(kind, values):
    steps = mostly(st.integers(-(2**53), 2**53), floats)
    some = st.lists(st.builds(kind, steps, values, stamps), min_size=1, max_size=4)
    return mostly(some, st.just([])).map(tuple)


OPS = st.one_of(
    st.builds(ops.AssignFloat, paths, floats),
    st.builds(ops.AssignInt, paths, ints),
    st.builds(ops.AssignBool, paths, st.booleans()),
    st.builds(ops.AssignString, paths, texts),
    st.builds(ops.AssignDatetime, paths, datetimes),
    st.builds(ops.AssignFile, paths, refs),
    st.builds(ops.LogFloats, paths, points(ops.FloatPoint, floats)),
    st.builds(ops.LogStrings, paths, points(ops.StringPoint, texts)),
    st.builds(ops.LogFiles, paths, points(ops.FilePoint, refs)),
    st.builds(ops.ClearSeries, paths),
    st.builds(ops.AddStrings, paths, st.lists(texts, max_size=3).map(tuple)),
    st.builds(ops.RemoveStrings, paths, st.lists(texts, max_size=3).map(tuple)),
    st.builds(ops.ClearStringSet, paths),
    st.builds(
        ops.UploadFileSet,
        paths,
        st.lists(st.builds(ops.FileSetEntry, names.map(lambda n: n or "x"), refs), max_size=2).map(tuple),
        st.booleans(),
    ),
    st.builds(ops.DeleteFileSetFiles, paths, st.lists(names, max_size=2).map(tuple)),
    st.builds(
        ops.TrackArtifact,
        paths,
        st.lists(st.builds(ops.ArtifactEntry, names, shas, ints, floats, texts), max_size=2).map(tuple),
        shas,
    ),
    st.builds(ops.DeleteField, paths),
)
runs = st.builds(
    RunInfo,
    st.just(PROJECT),
    mostly(st.integers(0, 10**9).map("run-{}".format), st.just("bad key")),  # mostly new runs
    mostly(st.just("RUN-1"), texts),
    mostly(st.just(""), texts),
    mostly(st.sampled_from(["run", "project"]), st.just("other")),
)


@st.composite
def batches(draw) -> BatchRequest:
    """Mostly well-ordered seqs (so values reach storage), sometimes arbitrary ones."""
    entries, seq = [], draw(mostly(st.integers(1, 50), ints))
    for op in draw(st.lists(OPS, min_size=draw(mostly(st.just(1), st.just(0))), max_size=6)):
        seq = draw(mostly(st.just(seq), ints))
        entries.append(Entry(seq, draw(stamps), op))
        seq = max(seq, 0) + max(ops.op_point_count(op), 1) + draw(st.integers(0, 2))
    return BatchRequest(draw(runs), draw(st.sampled_from(["w1", "w2"])), entries)


def encode(req: BatchRequest) -> bytes | None:
    try:
        return batch_request_encoder.encode(req)
    except (OverflowError, msgspec.EncodeError):
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(req=batches())
def test_any_decodable_batch_gets_2xx_or_4xx_and_a_refusal_changes_nothing(stores, req):
    body = encode(req)
    if body is None:
        return
    outcomes = []
    for store in stores:
        before = store.dump()
        status, answer = store.request("POST", "/v1/batches", body, Content_Type="application/msgpack")
        assert status < 500, (status, answer, req)
        if status != 200:
            assert store.dump() == before, (status, answer)
        read, table = store.request("GET", f"/v1/runs?project={PROJECT}", None)
        assert read == 200, table
        for row in msgspec.json.decode(table, type=RunsTable).rows:  # created is a number, not null
            assert 0 <= row.run.created < 1e11, row
        if status == 200:  # every value of the run is served
            query = f"/v1/run/values?project={PROJECT}&run={req.run.run_key}"
            read, values = store.request("GET", query, None)
            assert read == 200, values
            msgspec.json.decode(values, type=list[FieldValue])
        outcomes.append((status, answer if status == 200 else None))
    assert len(set(outcomes)) == 1, outcomes  # same status, and the same answer to an applied batch
    dumps = [s.dump() for s in stores]
    assert all(d == dumps[0] for d in dumps), "SQLite and PostgreSQL hold different values"
