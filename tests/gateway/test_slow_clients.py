"""Slow clients against a real uvicorn: closed after the deadline, others served.

The gateway runs in uvicorn on a free port with the protocol ``gateway serve``
uses (``gateway.slow_clients``) and half-second deadlines; raw sockets trickle
their headers or body a byte at a time. Each must be answered 408 (where a
response is possible) and closed, well before a generous bound, while a normal
request on another connection still succeeds. No other timing is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import Settings
from gateway.slow_clients import BodyReadTimeout, with_timeouts
from tests.gateway.uvicorn_server import uvicorn_on_free_port

DEADLINE = 0.5  # seconds, both the header and the body deadline
BOUND = 15.0  # seconds: closed long before this, or the test fails
QUERY = json.dumps({"query": "{ providers { name } }"}).encode()


@dataclass
class Server:
    port: int

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def normal_request(self) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as c:
            return await c.post("/graphql", content=QUERY, headers=JSON_HEADERS)


JSON_HEADERS = {"Content-Type": "application/json"}


@contextlib.asynccontextmanager
async def running(deadline: float) -> AsyncIterator[Server]:
    settings = Settings(header_read_timeout=deadline, body_read_timeout=deadline)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,  # a free port, chosen by the OS
        http=with_timeouts(deadline, deadline),
        log_level="warning",
        lifespan="on",
    )
    async with uvicorn_on_free_port(config) as port:
        yield Server(port)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with running(DEADLINE) as served:
        yield served


async def _drip(writer: asyncio.StreamWriter, data: bytes, stop: asyncio.Event) -> None:
    """Send ``data`` a byte every 50 ms until it runs out, the server answers
    (writing on would only earn a reset) or the peer is gone."""
    for byte in data:
        if stop.is_set():
            return
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(0.05)


async def _until_closed(reader: asyncio.StreamReader, answered: asyncio.Event) -> bytes:
    """Everything the server sent until it closed the connection."""
    received = b""
    try:
        while chunk := await reader.read(4096):
            received += chunk
            answered.set()
    except ConnectionResetError:
        pass  # closed too, after what was read
    answered.set()
    return received


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _error(raw: bytes) -> dict[str, object]:
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    (error,) = body["errors"]
    assert isinstance(error, dict)
    return error


async def _slow(
    server: Server,
    head: bytes,
    trickle: bytes,
    clients: int = 5,
    *,
    past_the_answer: bool = False,
) -> list[bytes]:
    """``clients`` connections sending ``head`` at once, then ``trickle`` slowly;
    a normal request is made while they are open. What each one received."""
    connections = [await server.connect() for _ in range(clients)]
    drips, readers = [], []
    for reader, writer in connections:
        answered = asyncio.Event()
        readers.append(asyncio.create_task(_until_closed(reader, answered)))
        writer.write(head)
        stop = asyncio.Event() if past_the_answer else answered
        drips.append(asyncio.create_task(_drip(writer, trickle, stop)))
    normal = await server.normal_request()
    assert normal.status_code == 200, normal.text
    assert len(normal.json()["data"]["providers"]) == 4
    answers = [await asyncio.wait_for(task, timeout=BOUND) for task in readers]
    for task in drips:
        task.cancel()
    for _, writer in connections:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return answers


# 200 bytes more of headers: 10 s at a byte per 50 ms, far past the deadline.
SLOW_HEADER = b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"


async def test_slow_headers_are_answered_408_and_closed(server: Server) -> None:
    head = b"POST /graphql HTTP/1.1\r\nHost: gateway\r\n"
    for raw in await _slow(server, head, SLOW_HEADER):
        assert _status(raw) == 408, raw
        assert _error(raw)["extensions"] == {"code": "BAD_USER_INPUT"}
        assert b"connection: close" in raw.lower()


async def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    for raw in await _slow(server, b"", b""):
        assert _status(raw) == 408, raw


async def test_a_slow_body_is_answered_408_and_closed(server: Server) -> None:
    body = b'{"query": "{ providers { name } }", "pad": "' + b"x" * 200 + b'"}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    for raw in await _slow(server, head, body):
        assert _status(raw) == 408, raw
        error = _error(raw)
        assert "body did not arrive" in str(error["message"])
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert set(error["extensions"]) == {"code", "requestId"}


async def test_a_slow_multipart_upload_is_answered_408(server: Server) -> None:
    boundary = b"b0undary"
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        + QUERY
        + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}'
        + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="0"; '
        + b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        + b"%PDF" * 100
        + b"\r\n--b0undary--\r\n"
    )
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nGraphQL-Preflight: 1\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    for raw in await _slow(server, head + body[:50], body[50:], clients=2):
        assert _status(raw) == 408, raw


async def test_a_body_nobody_reads_does_not_hold_the_connection(
    server: Server,
) -> None:
    # /healthz answers at once without reading the body; the rest of the body
    # drips on (each byte would cancel uvicorn's keep-alive timer): the server
    # still closes the connection.
    head = b"POST /healthz HTTP/1.1\r\nHost: gateway\r\nContent-Length: 400\r\n\r\n"
    answers = await _slow(server, head, b"x" * 400, clients=2, past_the_answer=True)
    for raw in answers:
        assert _status(raw) == 405, raw


async def test_a_prompt_client_is_unaffected() -> None:
    # A body in two pieces, and a kept-alive connection used twice. Deadlines
    # of 5 s: on a loaded machine, a pause of half a second is no slow client.
    async with running(5.0) as server:
        await _prompt(server)


async def _prompt(server: Server) -> None:
    reader, writer = await server.connect()
    for _ in range(2):
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(QUERY)).encode() + b"\r\n\r\n"
        )
        writer.write(QUERY[:10])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(QUERY[10:])
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=BOUND)
        assert _status(head) == 200, head
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        body = await asyncio.wait_for(reader.readexactly(length), timeout=BOUND)
        assert len(json.loads(body)["data"]["providers"]) == 4
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


# The body deadline on its own, as an ASGI middleware.


async def _reads_forever(scope: object, receive: Any, send: Any) -> None:
    while True:
        await receive()


async def _never() -> dict[str, Any]:
    await asyncio.Event().wait()
    raise AssertionError


async def test_the_body_deadline_answers_408_without_a_server() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guarded = BodyReadTimeout(_reads_forever, timeout=0.05)
    await asyncio.wait_for(guarded({"type": "http"}, _never, send), timeout=BOUND)
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )


async def test_a_cancelled_request_is_not_taken_for_a_slow_body() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guarded = BodyReadTimeout(_reads_forever, timeout=60)
    task = asyncio.create_task(guarded({"type": "http"}, _never, send))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent == []
