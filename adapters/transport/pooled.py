"""The pooled transport to a real provider: httpx's interface over our own small
HTTP/1.1 client (:mod:`adapters.transport.wire`).

httpx's own pool (httpcore) costs several milliseconds of CPU per call under
concurrency (httpx issue 3215: a scan of every connection per request, and an
``import sniffio`` that fails and searches ``sys.path`` on every call when sniffio
is not installed). aiohttp's pool, used here before, did the same work in a
fraction of it but still cost ~100 us of CPU per call (its request and response
objects, yarl URLs, a task, a shield and timers around every call: 27 % of the
samples on a page of 20 with 21 upstream calls). The client in
:mod:`adapters.transport.wire` does only what these calls need: one write of the
request head joined once from ``request.headers.raw``, an ``asyncio.Protocol``
parsed by httptools, one future per answer and one timer. Every configured
provider's calls go through this transport, under its
:class:`~adapters.transport.resilience.ResilientTransport`.

Only what cannot have reached the provider is a connect error (the table of
errors is in :mod:`adapters.transport.wire`): a dropped connection after the
request was written is ``RemoteProtocolError`` (or ``ReadError`` in the middle of
the body), never mistaken for a request that was not sent, so a mutation the
provider may have applied is not retried; and a request is never sent twice
here (what is repeated is the resilient transport's decision). The timeouts are
httpx's (``request.extensions["timeout"]``): connect, read, write (an upload
stalled), pool (waiting for a free connection of the ``max_connections``).

The body is read in full here (the resilient transport would read it anyway),
as it came (still content-encoded), and decoded by httpx as the response is
made: what this transport answers is a response read already, which the layers
above (the resilient transport, coalescing, ``adapters.transport.http.exchange``) take
as it is. A body its ``Content-Encoding`` does not decode fails here, as
``httpx.DecodingError``. The body is read through the size cap
(``max_answer_bytes``): a ``Content-Length`` above it is refused before any of the
body is read, an undeclared body stops being read as soon as it passes it, and
the decoded size is capped the same way (:func:`adapters.transport.cap.read_within`);
the connection is then dropped, not drained. An upload (an
``httpx.AsyncByteStream``) is streamed as it is read, in chunked framing unless
it has a ``Content-Length``. Idle connections are kept 5 s, as httpx's pool keeps
them; no redirect is followed, no cookie kept; HTTP/1.1 only; https with
``ssl.create_default_context()`` and the host's name for SNI and verification.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping

import httpx

from adapters.transport.cap import (
    DEFAULT_MAX_ANSWER_BYTES,
    answered,
    read_within,
    response_of,
)
from adapters.transport.deadline import ATTEMPT_TIMEOUT
from adapters.transport.wire import Origin
from adapters.transport.wire_pool import Pool

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_TIMEOUTS: Mapping[str, float | None] = {}


class PooledTransport(httpx.AsyncBaseTransport):
    """One connection pool; made on first use (it needs the running loop)."""

    # Ends an attempt by its ``ATTEMPT_TIMEOUT`` extension (a request whose
    # body is in memory), on the timer of the answer's read timeout: the
    # resilient transport then sets no timer of its own.
    keeps_attempt_timeout = True

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.max_answer_bytes = max_answer_bytes
        self.keepalive_expiry = keepalive_expiry
        # None: ``ssl.create_default_context()`` (the system's trust store).
        self.ssl_context = ssl_context
        self._pool: Pool | None = None

    def _open(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is None or pool.loop is not loop:
            pool = self._pool = Pool(
                loop, self.max_connections, self.keepalive_expiry, self.ssl_context
            )
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._open()
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            message = f"the pooled transport speaks http and https, not {scheme!r}"
            raise httpx.UnsupportedProtocol(message, request=request)
        origin: Origin = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        given = request.extensions.get("timeout")
        timeouts: Mapping[str, float | None] = (
            given if isinstance(given, dict) else _NO_TIMEOUTS
        )
        head, body, chunked = _framed(request)
        allowed = request.extensions.get(ATTEMPT_TIMEOUT)
        ends_by = (
            pool.loop.time() + allowed if isinstance(allowed, int | float) else None
        )
        # Waiting for a connection and connecting: each within its own timeout,
        # which the resilient transport has clamped to the attempt's.
        conn = await pool.acquire(
            origin, request, timeouts.get("connect"), timeouts.get("pool")
        )
        limit = self.max_answer_bytes
        try:
            await conn.exchange(
                request,
                head,
                body,
                chunked=chunked,
                read_timeout=timeouts.get("read"),
                write_timeout=timeouts.get("write"),
                limit=limit,
                ends_by=ends_by,
            )
        except BaseException:
            conn.abort()  # cancelled, timed out, failed: in no state to reuse
            raise
        status, headers, encoded = conn.status, conn.headers, conn.encoded
        content = b"".join(conn.body)
        pool.release(conn)
        # The connection's headers are this answer's own (the next answer gets
        # new ones): no copy.
        response = response_of(status, headers, content, request)
        # Read (decoded) here, once: the layers above take a read response as
        # it is, rather than each reading it again through httpx's streams.
        if not encoded:
            _read_as_is(response, content)
        else:
            await read_within(response, limit)
        return response

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _read_as_is(response: httpx.Response, content: bytes) -> None:
    """An answer not content-encoded, left as :func:`read_within` leaves it (read,
    closed, ``content`` the bytes as they came, already within the cap) without
    walking httpx's streams and decoders: ~15 us of CPU less per call."""
    answered(response, content)
    response.is_stream_consumed = True
    response.is_closed = True


def _framed(
    request: httpx.Request,
) -> tuple[bytes, bytes | httpx.AsyncByteStream, bool]:
    """The request head (joined once), its body, and whether the body goes in
    chunked framing. ``LocalProtocolError`` (nothing sent) for a header that would
    split the head: CR, LF or NUL in a name or value."""
    raw = request.headers.raw
    stream = request.stream
    body: bytes | httpx.AsyncByteStream
    chunked = False
    if isinstance(stream, httpx.ByteStream):
        body = request.content
    elif isinstance(stream, httpx.AsyncByteStream):
        body = stream  # streamed through, never held whole
        names = {name.lower() for name, _ in raw}
        if b"content-length" not in names:
            chunked = True
            if b"transfer-encoding" not in names:
                raw = [*raw, (b"Transfer-Encoding", b"chunked")]
    else:
        raise httpx.LocalProtocolError("a synchronous body", request=request)
    lines = [b"%b: %b\r\n" % pair for pair in raw]
    head = b"".join(
        [request.method.encode(), b" ", request.url.raw_path, b" HTTP/1.1\r\n", *lines]
    )
    ends = len(lines) + 1  # the request line's and each header's
    if head.count(b"\n") != ends or head.count(b"\r") != ends:
        raise httpx.LocalProtocolError("CR or LF in a header", request=request)
    if b"\0" in head:
        raise httpx.LocalProtocolError("NUL in a header", request=request)
    return head + b"\r\n", body, chunked
