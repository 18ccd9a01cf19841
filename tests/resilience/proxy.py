"""A fault-injecting HTTP proxy, in front of sandboxes served as processes.

``FaultProxy`` listens on one free port per provider and forwards every request to
that provider's sandbox (``gateway sandbox --provider NAME --port N``), the way a
real deployment reaches its providers: over TCP, through whatever sits in between.
On command (``inject(provider, fault)``) it answers that provider's requests, all of
them (connectFi's token call and the health probe included), with the fault instead.
Every request is logged (``log``), forwarded or not.

It runs on its own event loop in a thread, so that one proxy serves the whole
session while each test's gateway runs on the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from yarl import URL

from adapters.model import Provider

# Long enough that only the gateway's own attempt timeout ends it (the handler is
# cancelled when the gateway gives up and closes the connection).
HANG_SECONDS = 5.0
DRIP_CHUNKS, DRIP_PAUSE = 10, 0.05  # half a second for ~600 bytes
OVERSIZE_BYTES = 5 * 1024 * 1024
ERROR_BODY = b'{"error": "injected by the proxy"}'
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "host",
        "upgrade",
        "te",
        "trailer",
    }
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Logged:
    provider: Provider
    method: str
    path: str
    fault: str | None  # None: forwarded to the sandbox


def _error(status: int, retry_after: str | None = None) -> Handler:
    async def answer(_: web.Request) -> web.StreamResponse:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return web.Response(
            status=status,
            body=ERROR_BODY,
            content_type="application/json",
            headers=headers,
        )

    return answer


async def _malformed(_: web.Request) -> web.StreamResponse:
    return web.Response(body=b'{"injected": [1, 2', content_type="application/json")


async def _wrong_type(_: web.Request) -> web.StreamResponse:
    page = b"<html><body><h1>502 injected</h1>upstream gateway page</body></html>"
    return web.Response(body=page, content_type="text/html")


async def _truncated(request: web.Request) -> web.StreamResponse:
    """Promise 4 kB of JSON, send 100 bytes of it, close the connection."""
    body = b'{"items": [' + b'{"id": "x"},' * 400
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    await response.write(body[:100])
    _close(request, reset=False)
    return response


async def _oversize(request: web.Request) -> web.StreamResponse:
    """5 MiB of well-formed JSON, streamed."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    chunk = b"x" * 65536
    response.content_length = OVERSIZE_BYTES + len(b'{"pad": ""}')
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    with contextlib.suppress(ConnectionError):
        await response.write(b'{"pad": "')
        for _ in range(OVERSIZE_BYTES // len(chunk)):
            await response.write(chunk)
        await response.write(b'"}')
        await response.write_eof()
    return response


async def _drip(request: web.Request) -> web.StreamResponse:
    """A well-formed JSON answer, a few bytes every ``DRIP_PAUSE`` seconds."""
    piece = b" " * 60
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 2 + len(piece) * DRIP_CHUNKS
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    with contextlib.suppress(ConnectionError):
        await response.write(b"{")
        for _ in range(DRIP_CHUNKS):
            await asyncio.sleep(DRIP_PAUSE)
            await response.write(piece)
        await response.write(b"}")
        await response.write_eof()
    return response


async def _reset(request: web.Request) -> web.StreamResponse:
    _close(request, reset=True)
    return web.Response()  # never sent: the connection is gone


async def _hang(_: web.Request) -> web.StreamResponse:
    await asyncio.sleep(HANG_SECONDS)
    return web.Response(status=504)


def _close(request: web.Request, *, reset: bool) -> None:
    transport = request.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # Linger 0: the kernel answers with RST instead of a clean FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# Faults by the name the failure matrix shows.
FAULTS: dict[str, Handler] = {
    "500": _error(500),
    "503 + Retry-After": _error(503, "0"),
    "429 + Retry-After": _error(429, "0"),
    "malformed JSON": _malformed,
    "truncated body": _truncated,
    "oversize body": _oversize,
    "slow drip": _drip,
    "connection reset": _reset,
    "hang": _hang,
    "wrong content type": _wrong_type,
}


class FaultProxy:
    """One listener per provider, forwarding to ``upstreams[provider]``."""

    def __init__(self, upstreams: Mapping[Provider, str]) -> None:
        self.upstreams = dict(upstreams)
        self.faults: dict[Provider, str] = {}
        self.log: list[Logged] = []
        self.ports: dict[Provider, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="fault-proxy", daemon=True
        )
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None

    def url(self, provider: Provider) -> str:
        return f"http://127.0.0.1:{self.ports[provider]}"

    def inject(self, provider: Provider, fault: str) -> None:
        assert fault in FAULTS, fault
        self.faults[provider] = fault

    def clear(self) -> None:
        self.faults.clear()
        self.log.clear()

    def calls(self, provider: Provider, fault: str | None = None) -> int:
        return sum(1 for r in self.log if r.provider is provider and r.fault == fault)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        for provider in self.upstreams:
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", self._handler(provider))
            # A hanging handler ends when the gateway closes the connection.
            runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._runners.append(runner)
            self.ports[provider] = _port(runner)

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _handler(self, provider: Provider) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            fault = self.faults.get(provider)
            self.log.append(Logged(provider, request.method, request.path, fault))
            if fault is not None:
                return await FAULTS[fault](request)
            return await self._forward(provider, request)

        return handle

    async def _forward(
        self, provider: Provider, request: web.Request
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
        }
        async with self._session.request(
            request.method,
            URL(self.upstreams[provider] + request.raw_path, encoded=True),
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            kept = {
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
            }
            return web.Response(status=upstream.status, body=body, headers=kept)


def _port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("the proxy listens nowhere")


@contextlib.contextmanager
def running(upstreams: Mapping[Provider, str]) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstreams)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
