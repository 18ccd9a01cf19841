"""The pooled transport against a real socket on loopback: what it sends, what it
reads, and which httpx error each way of failing becomes (a dropped connection is
never mistaken for a request that was not sent)."""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from adapters.errors import ProviderError
from adapters.model import Provider
from adapters.transport.deadline import deadline_scope
from adapters.transport.http import send
from adapters.transport.pooled import PooledTransport
from adapters.transport.resilience import (
    AttemptTimeout,
    DeadlineExceeded,
    Policy,
    ResilientTransport,
)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """A tiny HTTP/1.1 server; its behaviour chosen by the request's path."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0  # accepted, in all

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = line.split(" ")
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (x.partition(":") for x in lines if x)
                }
                body = await _body(reader, headers)
                self.seen.append(Seen(method, path, headers, body))
                if path == "/drop":
                    writer.close()
                    return
                if path == "/hang":
                    await asyncio.sleep(5)
                    return
                if path == "/trickle":  # a byte every 30 ms: never a read timeout
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                    for _ in range(100):
                        writer.write(b"x")
                        await writer.drain()
                        await asyncio.sleep(0.03)
                    continue
                if path == "/gzip":
                    payload = gzip.compress(b'{"zipped": true}')
                    extra = b"Content-Encoding: gzip\r\n"
                elif path == "/not-gzip":
                    payload = b'{"zipped": false}'
                    extra = b"Content-Encoding: gzip\r\n"
                else:
                    payload, extra = b'{"echo": ' + str(len(body)).encode() + b"}", b""
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    + b'ETag: "v1"\r\n'
                    + extra
                    + b"Content-Length: "
                    + str(len(payload)).encode()
                    + b"\r\n\r\n"
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding") == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk[:-2])
    return b""


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    running = Server()
    listening = await asyncio.start_server(running.handle, "127.0.0.1", 0)
    running.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield running
        listening.close()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=PooledTransport(max_connections=4),
        base_url=f"http://127.0.0.1:{server.port}",
    ) as http:
        yield http


async def test_a_request_and_its_answer_go_through_whole(
    server: Server, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/items", params={"q": "a b"}, json={"x": 1}, headers={"X-Key": "k"}
    )

    assert response.status_code == 201
    assert response.json() == {"echo": 7}
    assert response.headers["etag"] == '"v1"'
    (seen,) = server.seen
    assert (seen.method, seen.path, seen.body) == ("POST", "/items?q=a+b", b'{"x":1}')
    assert seen.headers["x-key"] == "k"
    assert seen.headers["content-type"] == "application/json"


async def test_a_compressed_answer_is_decoded_by_httpx(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/gzip")

    assert response.json() == {"zipped": True}


async def test_the_answer_comes_read_and_decoded(server: Server) -> None:
    # Read once, here: the layers above take it as it is.
    transport = PooledTransport(max_connections=4)
    try:
        url = f"http://127.0.0.1:{server.port}/gzip"
        response = await transport.handle_async_request(httpx.Request("GET", url))
    finally:
        await transport.aclose()

    assert response.is_stream_consumed
    assert response.content == b'{"zipped": true}'
    assert response.headers["content-encoding"] == "gzip"  # as the provider said


async def test_a_plain_answer_comes_read_and_closed(server: Server) -> None:
    transport = PooledTransport(max_connections=4)
    try:
        url = f"http://127.0.0.1:{server.port}/plain"
        response = await transport.handle_async_request(httpx.Request("GET", url))
    finally:
        await transport.aclose()

    assert response.is_stream_consumed and response.is_closed
    assert response.content == b'{"echo": 0}'
    assert response.json() == {"echo": 0} and await response.aread() == response.content


async def test_a_body_its_encoding_does_not_decode_is_a_provider_error(
    client: httpx.AsyncClient,
) -> None:
    with pytest.raises(ProviderError, match="MAMBU sent a malformed answer"):
        await send(client, Provider.MAMBU, client.build_request("GET", "/not-gzip"))


async def test_connections_are_kept_alive_and_reused(
    server: Server, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        await client.get("/again")

    assert len(server.seen) == 5
    # One connection served all five, one after another.
    assert server.connections == 1


async def test_a_streamed_body_arrives_intact(
    server: Server, client: httpx.AsyncClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield bytes([65 + n]) * 1000

    response = await client.post("/upload", content=chunks())

    assert response.json() == {"echo": 3000}
    assert server.seen[0].body == b"A" * 1000 + b"B" * 1000 + b"C" * 1000


async def test_a_refused_connection_is_a_connect_error() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with httpx.AsyncClient(transport=PooledTransport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_dropped_connection_is_not_a_connect_error(
    client: httpx.AsyncClient,
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/drop", json={})


async def test_a_dropped_mutation_is_not_sent_again(server: Server) -> None:
    resilient = ResilientTransport(
        PooledTransport(), name="test", policy=Policy(base_backoff=0.0)
    )
    async with httpx.AsyncClient(
        transport=resilient, base_url=f"http://127.0.0.1:{server.port}"
    ) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/drop", json={})
        assert len(server.seen) == 1  # the provider may have applied it
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/drop")
    assert len(server.seen) == 1 + 3  # a safe read is retried


async def test_a_slow_answer_is_a_read_timeout(client: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/hang", timeout=httpx.Timeout(1.0, read=0.05))


async def test_a_compressed_answer_shared_by_concurrent_reads_is_decoded_once(
    server: Server,
) -> None:
    # As production stacks it: coalesced reads over the pooled transport. Each
    # caller's copy holds the bytes as they came, under their Content-Encoding.
    from adapters.transport.singleflight import Coalescing

    transport = Coalescing(PooledTransport(max_connections=4), total_timeout=5.0)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{server.port}"
    ) as http:
        answers = await asyncio.gather(*(http.get("/gzip") for _ in range(5)))
        alone = await http.get("/gzip")

    assert [a.json() for a in answers] == [{"zipped": True}] * 5
    assert alone.json() == {"zipped": True}
    assert len(server.seen) == 2  # one call for the five, one for the last


@pytest.mark.parametrize("cut_by", ["attempt_timeout", "deadline"])
async def test_the_pooled_transport_keeps_the_attempt_timeout_itself(
    server: Server, monkeypatch: pytest.MonkeyPatch, cut_by: str
) -> None:
    # An answer whose bytes keep coming (no read timeout) but never end: the
    # attempt is cut when its time is up, by the pooled transport's own timer
    # (the resilient transport sets none), and told apart as before: the
    # attempt timeout is the provider's failure, the deadline is not.
    timers: list[str] = []
    real = asyncio.timeout

    def counting(delay: float | None) -> asyncio.Timeout:
        timers.append(sys._getframe(1).f_globals["__name__"])
        return real(delay)

    monkeypatch.setattr(asyncio, "timeout", counting)
    attempt = 0.2 if cut_by == "attempt_timeout" else 10.0
    resilient = ResilientTransport(
        PooledTransport(),
        name="test",
        policy=Policy(attempts=1, attempt_timeout=attempt),
    )
    async with httpx.AsyncClient(
        transport=resilient,
        base_url=f"http://127.0.0.1:{server.port}",
        timeout=httpx.Timeout(5.0),
    ) as http:
        if cut_by == "attempt_timeout":
            with pytest.raises(AttemptTimeout):
                await http.get("/trickle")
            assert resilient.breaker.failures == 1
        else:
            with deadline_scope(0.2), pytest.raises(DeadlineExceeded):
                await http.get("/trickle")
            assert resilient.breaker.failures == 0
        assert len(server.seen) == 1  # cut, not retried
        assert "adapters.transport.resilience" not in timers
        # the connection was dropped, not reused: the next read opens another
        assert (await http.get("/ok")).json() == {"echo": 0}
    assert server.connections == 2
