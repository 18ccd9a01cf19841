"""Upstream answers are read through a size cap: refused past it as a typed
ProviderError, with reading stopped there (counted in bytes and chunks pulled, on
both transports: the pooled one over a real socket, and any httpx transport under
CappedTransport), a declared Content-Length over it refused before the body, and a
compressed body capped on its decoded size too."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from adapters.errors import AnswerTooLarge, ProviderError
from adapters.model import Provider
from adapters.sandbox_kit import Fault
from adapters.transport.cap import CappedTransport
from adapters.transport.http import send
from adapters.transport.pooled import PooledTransport
from adapters.transport.resilience import ResilientTransport
from gateway.settings import Settings
from tests.conftest import serve
from tests.schema.test_partial_results import both

CAP = 1024 * 1024
CHUNK = b"x" * 65536


@dataclass
class Streamer:
    """A server whose answers stream ``total`` bytes and count what got written."""

    total: int = 64 * 1024 * 1024
    written: int = 0
    port: int = 0
    done: asyncio.Event | None = None

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        assert self.done is not None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1]
            if head.startswith(b"HEAD "):
                writer.write(
                    b"HTTP/1.1 200 OK\r\n"
                    + f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
                )
                await writer.drain()
                return
            if path == b"/declared":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode()
                )
                await writer.drain()
                await reader.read()  # sends no body: waits for the client to go
                return
            if path == b"/bomb":
                body = gzip.compress(bytes(16 * CAP), compresslevel=9)  # 16x the cap
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                self.written += len(body)
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            while self.written < self.total:  # close-delimited: no length given
                writer.write(CHUNK)
                self.written += len(CHUNK)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            self.done.set()


@pytest.fixture
async def streamer() -> AsyncIterator[Streamer]:
    running = Streamer(done=asyncio.Event())
    listening = await asyncio.start_server(running.handle, "127.0.0.1", 0)
    running.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield running
        listening.close()


def pooled_client(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=ResilientTransport(
            PooledTransport(max_connections=2, max_answer_bytes=CAP), name="t"
        ),
        base_url=f"http://127.0.0.1:{port}",
        timeout=httpx.Timeout(2.0),
    )


async def test_pooled_stops_reading_an_oversize_answer(streamer: Streamer) -> None:
    async with pooled_client(streamer.port) as http:
        with pytest.raises(AnswerTooLarge) as raised:
            await send(http, Provider.APITURE, http.build_request("GET", "/big"))
        assert streamer.done is not None
        await streamer.done.wait()
    assert raised.value.provider is Provider.APITURE
    assert raised.value.limit == CAP
    assert isinstance(raised.value, ProviderError)
    assert raised.value.code == "PROVIDER_ERROR"
    # 64 MiB offered; the gateway stopped near the cap (the rest of what was
    # written sat in loopback socket buffers when the connection was dropped).
    assert streamer.written < 16 * 1024 * 1024


async def test_pooled_refuses_a_declared_length_before_the_body(
    streamer: Streamer,
) -> None:
    async with pooled_client(streamer.port) as http:
        with pytest.raises(AnswerTooLarge):
            await send(http, Provider.MAMBU, http.build_request("GET", "/declared"))
        assert streamer.done is not None
        await streamer.done.wait()  # the connection was dropped, not drained
    assert streamer.written == 0


async def test_pooled_caps_the_decoded_size_of_a_gzip_bomb(streamer: Streamer) -> None:
    async with pooled_client(streamer.port) as http:
        with pytest.raises(AnswerTooLarge):
            await send(http, Provider.AUCO, http.build_request("GET", "/bomb"))
    assert streamer.written < CAP  # small as sent: it is the inflated size refused


# any httpx transport, under CappedTransport -------------------------------------


@dataclass
class Counted:
    """An answer streamed chunk by chunk, counting the chunks pulled from it."""

    chunks: list[bytes]
    pulled: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def capped(answer: Counted, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=answer.stream())

    transport = CappedTransport(httpx.MockTransport(handler), CAP)
    return httpx.AsyncClient(transport=transport, base_url="http://p.test")


async def test_capped_transport_stops_pulling_at_the_cap() -> None:
    answer = Counted([CHUNK] * 1024)  # 64 MiB offered, never built whole
    async with capped(answer) as http:
        with pytest.raises(AnswerTooLarge) as raised:
            await send(http, Provider.CONNECTFI, http.build_request("GET", "/x"))
    assert raised.value.provider is Provider.CONNECTFI
    assert answer.pulled == CAP // len(CHUNK) + 1  # the one that passed the cap


async def test_capped_transport_refuses_a_declared_length_unread() -> None:
    answer = Counted([CHUNK] * 32)
    headers = {"Content-Length": str(32 * len(CHUNK))}
    async with capped(answer, headers) as http:
        with pytest.raises(AnswerTooLarge):
            await send(http, Provider.APITURE, http.build_request("GET", "/x"))
    assert answer.pulled == 0


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_capped_transport_stops_inflating_at_the_cap(encoding: str) -> None:
    wbits = 31 if encoding == "gzip" else 15
    squeezer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    bomb = squeezer.compress(bytes(32 * CAP)) + squeezer.flush()
    assert len(bomb) < 40 * 1024  # 32 MiB inflated
    pieces = [bomb[i : i + 1024] for i in range(0, len(bomb), 1024)]
    assert len(pieces) > 30
    answer = Counted(pieces)
    async with capped(answer, {"Content-Encoding": encoding}) as http:
        with pytest.raises(AnswerTooLarge):
            await send(http, Provider.MAMBU, http.build_request("GET", "/x"))
    # ~1 KiB of deflate inflates to ~1 MiB: refused after a few of the pieces
    assert answer.pulled <= 4


async def test_an_answer_within_the_cap_reads_as_before() -> None:
    body = b'{"ok": true, "pad": "' + b"y" * (CAP - 64) + b'"}'
    answer = Counted([gzip.compress(body)])
    async with capped(answer, {"Content-Encoding": "gzip"}) as http:
        response = await send(http, Provider.MAMBU, http.build_request("GET", "/x"))
    assert response.content == body
    assert response.json()["ok"] is True


# through the gateway: only that provider's fields ------------------------------

MERGED = """
query Merged($filter: ApplicationFilter) {
  applications(filter: $filter, first: 50) {
    edges { node { provider } }
    missingProviders
  }
}"""


async def test_an_oversize_answer_costs_only_its_provider() -> None:
    settings = Settings(max_upstream_bytes=64 * 1024)
    async with serve(settings) as gateway:
        big = b'{"count": 1, "pad": "' + b"z" * (128 * 1024) + b'"}'
        gateway.apiture.control.inject(
            "applications",
            Fault(status=200, body=big, content_type="application/hal+json"),
        )
        body = await gateway.execute(MERGED, {"filter": both(gateway)})
    page = body["data"]["applications"]
    assert page["missingProviders"] == ["APITURE"]
    assert {e["node"]["provider"] for e in page["edges"]} == {"CONNECTFI"}
    [error] = body["errors"]
    assert error["extensions"]["provider"] == "APITURE"
    assert error["extensions"]["code"] == "PROVIDER_ERROR"


async def test_a_head_answer_announcing_a_large_body_is_not_refused() -> None:
    # The probe of ``providers`` sends HEAD: its Content-Length is the GET's.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(10 * CAP)})

    transport = CappedTransport(httpx.MockTransport(handler), CAP)
    async with httpx.AsyncClient(transport=transport, base_url="http://p.test") as c:
        response = await send(c, Provider.APITURE, c.build_request("HEAD", "/"))
    assert response.status_code == 200
    assert response.content == b""


async def test_pooled_reads_a_head_answer_announcing_a_large_body(
    streamer: Streamer,
) -> None:
    async with pooled_client(streamer.port) as http:
        response = await http.head("/head")
    assert response.status_code == 200
    assert streamer.written == 0
