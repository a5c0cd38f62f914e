"""The store over HTTP (docs/sync-protocol.md). The only module of the daemon that imports aiohttp.

Every aiohttp failure is translated here, at the edge, into the project's errors:
connection trouble, timeouts and 408 / 429 / 5xx become :class:`StoreUnavailableError` (with the
``Retry-After`` the store sent), 401 / 403 :class:`AuthError`, other 4xx :class:`BatchRejectedError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import msgspec

from neptune_sync.exceptions import AuthError, BatchRejectedError, StoreUnavailableError
from neptune_sync.tls import client_context
from neptune_sync.wire.ops import Entry, FileRef
from neptune_sync.wire.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    AckResponse,
    BatchRequest,
    BatchResponse,
    FieldInfo,
    RunInfo,
    RunRecord,
    batch_request_encoder,
    batch_response_decoder,
)

from ..retry import classify_status, parse_retry_after
from .base import Sink

MSGPACK = "application/msgpack"
_ack_decoder = msgspec.msgpack.Decoder(AckResponse)
_structure_decoder = msgspec.json.Decoder(list[FieldInfo])
_record_decoder = msgspec.json.Decoder(RunRecord)


class HttpSink(Sink):
    """Talks to a neptune-sync store at ``url`` with the API token ``token``."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", PROTOCOL_HEADER: str(PROTOCOL_VERSION)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._tls = client_context(token) if self.url.startswith("https:") else None
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self._tls) if self._tls else None
        self._session = aiohttp.ClientSession(
            headers=self._headers, timeout=self._timeout, connector=connector
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def acked_seq(self, run: RunInfo, writer_id: str) -> int:
        params = {"project": run.project, "run_key": run.run_key, "writer_id": writer_id}
        async with self._request("GET", "/v1/acked", params=params) as resp:
            return self._decode(_ack_decoder, await resp.read()).applied_seq

    async def write_batch(
        self, run: RunInfo, writer_id: str, entries: list[Entry], after: float | None = None
    ) -> BatchResponse:
        body = batch_request_encoder.encode(BatchRequest(run, writer_id, entries, after))
        async with self._request("POST", "/v1/batches", data=body, headers={"Content-Type": MSGPACK}) as resp:
            return self._decode(batch_response_decoder, await resp.read())

    async def field_types(self, run: RunInfo) -> dict[str, str] | None:
        params = {"project": run.project, "run": run.run_key}
        async with self._request("GET", "/v1/run/structure", params=params, ok=(403, 404)) as resp:
            if resp.status == 403:
                return None
            if resp.status == 404:
                return {}
            infos = self._decode(_structure_decoder, await resp.read())
        return {info.path: info.type for info in infos}

    async def store_id(self, run: RunInfo) -> str | None:
        params = {"project": run.project, "run": run.run_key}
        async with self._request("GET", "/v1/run", params=params, ok=(403, 404)) as resp:
            if resp.status in (403, 404):
                return None
            return self._decode(_record_decoder, await resp.read()).run_id

    async def has_blob(self, run: RunInfo, ref: FileRef) -> bool:
        return await self._upload_offset(run, ref) is None

    async def put_blob(self, run: RunInfo, ref: FileRef, path: Path) -> None:
        """Upload from where an earlier, interrupted upload of the same content stopped.

        Every upload ends with a request the store answers 201 (verified and committed) or 200
        (already there), even when the store already holds every byte (an upload cut after its
        last chunk) or there are none (an empty file): that request is what commits the blob.
        """
        offset = await self._upload_offset(run, ref)
        while offset is not None:
            if offset > ref.size:  # a partial longer than the blob: the store restarts it at 0
                offset = 0
            sent_from, offset = offset, await self._put_from(run, ref, path, offset)
            if offset == sent_from:  # e.g. the local copy is shorter than its reference says
                raise BatchRejectedError(f"blob {ref.sha256}: upload makes no progress at byte {offset}")

    async def _put_from(self, run: RunInfo, ref: FileRef, path: Path, offset: int) -> int | None:
        """Send bytes ``offset..`` of the content; None once the store has the blob, else where to resume."""
        headers = {"X-Blob-Size": str(ref.size), "X-Upload-Offset": str(offset)}
        headers["Content-Type"] = "application/octet-stream"
        with open(path, "rb") as f:
            f.seek(offset)
            async with self._request(
                "PUT",
                f"/v1/blobs/{ref.sha256}",
                data=f,
                headers=headers,
                params={"project": run.project},
                ok=(409,),
            ) as resp:
                received = resp.headers.get("X-Upload-Offset", "")
                if resp.status == 409 and not received.isdigit():
                    raise StoreUnavailableError(f"blob {ref.sha256}: another upload is in progress")
                if resp.status in (200, 201):
                    return None
                return int(received) if received.isdigit() else offset

    async def _upload_offset(self, run: RunInfo, ref: FileRef) -> int | None:
        """None if the run's project holds the blob, else how many bytes of its upload the store holds."""
        params = {"project": run.project}
        async with self._request("HEAD", f"/v1/blobs/{ref.sha256}", params=params, ok=(404,)) as resp:
            if resp.status != 404:
                return None
            received = resp.headers.get("X-Upload-Offset", "0")
            return int(received) if received.isdigit() else 0

    @asynccontextmanager
    async def _request(
        self, method: str, path: str, *, ok: tuple[int, ...] = (), **kw: object
    ) -> AsyncIterator:
        if self._session is None:
            raise RuntimeError("HttpSink used before open()")
        try:
            async with self._session.request(method, self.url + path, **kw) as resp:  # type: ignore[arg-type]
                if resp.status not in ok:
                    await self._raise_for(resp)
                yield resp
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise StoreUnavailableError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    async def _raise_for(resp: aiohttp.ClientResponse) -> None:
        kind = classify_status(resp.status)
        if kind == "ok":
            return
        text = (await resp.text(errors="replace"))[:500]
        detail = f"{resp.method} {resp.url.path}: HTTP {resp.status}: {text}"
        if kind == "auth":
            raise AuthError(detail)
        if kind == "transient":
            raise StoreUnavailableError(
                detail, parse_retry_after(resp.headers.get("Retry-After"), time.time()), resp.status
            )
        raise BatchRejectedError(detail, resp.status)

    @staticmethod
    def _decode(decoder: msgspec.msgpack.Decoder | msgspec.json.Decoder, body: bytes):  # noqa: ANN205 - the decoder's type
        try:
            return decoder.decode(body)
        except msgspec.DecodeError as exc:
            # a proxy's error page or a truncated body: ask again rather than trust it
            raise StoreUnavailableError(f"undecodable response from the store: {exc}") from None
