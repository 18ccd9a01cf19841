"""A response's head goes out with its body in one write (``HeadWithBody``).

A real uvicorn with the protocol ``gateway serve`` uses, on a free port; the
transport under it counts the writes that reach the socket. Raw sockets read
what arrives, so every case also checks the bytes: a response of known length
is one write, byte for byte what uvicorn wrote in two; a stream's head is not
held back until its first event; a ``100 Continue`` still goes out before the
body is sent; a HEAD's head, and the head of a response that broke off, still
arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from gateway.app import create_app
from gateway.settings import Settings
from gateway.slow_clients import HeadWithBody, with_timeouts
from tests.gateway.uvicorn_server import uvicorn_on_free_port

BOUND = 10.0  # seconds: any wait here ends long before, or the test fails


class _Counting:
    """The real transport, counting the writes that reach it."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[tuple[int, list[bytes]]]:
    writes: list[bytes] = []
    base = with_timeouts(5.0, 5.0)

    class Counted(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(_Counting(transport, writes))  # type: ignore[arg-type]

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=Counted, log_level="critical",
        lifespan="on" if app is not _plain else "off",
    )  # fmt: skip
    async with uvicorn_on_free_port(config) as port:
        yield port, writes


release = asyncio.Event()


async def _plain(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/json: 12 bytes with a length; /stream: a head, then an event once
    ``release`` is set; /broken: a head, then an error."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        await release.wait()
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})
        return
    if path == "/broken":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"5")]})  # fmt: skip
        raise RuntimeError("broke off")
    more = True
    while more:  # the whole body read (a 100 Continue is asked for here)
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"12")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


async def _exchange(port: int, request: bytes, until: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        got = b""
        async with asyncio.timeout(BOUND):
            while until not in got:
                part = await reader.read(65536)
                if not part:
                    break
                got += part
        return got
    finally:
        writer.close()


async def test_a_response_of_known_length_is_one_write_with_the_same_bytes() -> None:
    async with serving(_plain) as (port, writes):
        get = b"GET /json HTTP/1.1\r\nhost: x\r\n\r\n"
        got = await _exchange(port, get + get, b"true}HTTP/1.1 200 OK")
        got += await _exchange(port, get, b"true}")
    assert len(writes) == 3  # two responses on one connection, one on another
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and body == b'{"ok": true}'
    assert b"content-length: 12" in head
    assert got.count(b'{"ok": true}') >= 2


async def test_the_gateways_graphql_answer_is_one_write() -> None:
    query = json.dumps({"query": "{ providers { name } }"}).encode()
    request = (
        b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%b" % (len(query), query)
    )
    async with serving(create_app(Settings())) as (port, writes):
        got = await _exchange(port, request, b"]}}")
    assert len(writes) == 1
    assert writes[0] == got
    body = got.partition(b"\r\n\r\n")[2]
    assert json.loads(body)["data"]["providers"]


async def test_a_head_request_gets_its_head() -> None:
    async with serving(_plain) as (port, writes):
        got = await _exchange(
            port, b"HEAD /json HTTP/1.1\r\nhost: x\r\n\r\n", b"\r\n\r\n"
        )
    assert got.startswith(b"HTTP/1.1 200 OK") and b"content-length: 12" in got
    assert len(writes) == 1


async def test_a_streams_head_is_not_held_until_its_first_event() -> None:
    release.clear()
    async with serving(_plain) as (port, writes):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        got = b""
        async with asyncio.timeout(BOUND):
            while b"\r\n\r\n" not in got:
                got += await reader.read(65536)
        assert b"transfer-encoding: chunked" in got  # the head, before any event
        assert b"data: 1" not in got
        release.set()
        async with asyncio.timeout(BOUND):
            while b"data: 1" not in got:
                got += await reader.read(65536)
        writer.close()
    assert len(writes) >= 2


async def test_100_continue_goes_out_before_the_body_is_sent() -> None:
    async with serving(_plain) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n"
            b"expect: 100-continue\r\n\r\n"
        )
        async with asyncio.timeout(BOUND):
            interim = await reader.readuntil(b"\r\n\r\n")
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"{}")
        got = b""
        async with asyncio.timeout(BOUND):
            while b"true}" not in got:
                got += await reader.read(65536)
        writer.close()
    assert got.startswith(b"HTTP/1.1 200 OK")


async def test_a_response_that_broke_off_still_sends_its_head_then_closes() -> None:
    async with serving(_plain) as (port, writes):
        got = await _exchange(port, b"GET /broken HTTP/1.1\r\nhost: x\r\n\r\n", b"\0")
    assert got.startswith(b"HTTP/1.1 200 OK") and b"content-length: 5" in got
    assert got.endswith(b"\r\n\r\n")  # nothing of a body, then the close
    assert len(writes) == 1


def test_everything_but_write_and_close_is_the_transports_own() -> None:
    class Transport:
        def get_extra_info(self, name: str) -> str:
            return f"info {name}"

        def is_closing(self) -> bool:
            return False

    class Cycle:
        on_response = staticmethod(lambda: None)

    proxy = HeadWithBody(Transport(), Cycle())  # type: ignore[arg-type]
    assert proxy.get_extra_info("peername") == "info peername"
    assert proxy.is_closing() is False
    with pytest.raises(AttributeError):
        proxy.nothing_of_the_kind  # noqa: B018


async def test_a_served_request_leaves_no_garbage_for_the_collector() -> None:
    """Every object a request makes on the server side (its cycle, the
    transport's proxy, the scope) is freed by reference counting: nothing of
    it waits for the cyclic collector, which runs rarely (gateway.runtime)."""
    request = b"GET /json HTTP/1.1\r\nhost: x\r\n\r\n"
    async with serving(_plain) as (port, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def one() -> None:
            writer.write(request)
            async with asyncio.timeout(BOUND):
                await reader.readuntil(b"true}")

        for _ in range(5):
            await one()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(50):
                await one()
            gc.collect()
            garbage = [type(o).__name__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
        writer.close()
    assert "RequestResponseCycle" not in garbage
    assert "HeadWithBody" not in garbage
    assert len(garbage) < 50, sorted(set(garbage))  # not one object a request
