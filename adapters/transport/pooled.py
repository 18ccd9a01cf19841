"""The pooled transport to a real provider: httpx's interface over aiohttp's pool.

httpx's own pool (httpcore) costs several milliseconds of CPU per call under
concurrency (httpx issue 3215: a scan of every connection per request, and an
``import sniffio`` that fails and searches ``sys.path`` on every call when sniffio
is not installed). aiohttp's ``TCPConnector`` does the same work in a fraction of
it, so every configured provider's calls go through this transport, under its
:class:`~adapters.transport.resilience.ResilientTransport`. (Measured on the gateway
with one upstream GET per request: 8.6 → 3.0 ms of CPU per request.)

Why not ``httpx_aiohttp.AiohttpTransport``: it maps a dropped connection
(``ServerDisconnectedError``, a reset) to ``httpx.ConnectTimeout``, which reads as
"never sent", so a mutation the provider may have applied would be retried. Here
only what cannot have reached the provider is a connect error:

    aiohttp                                      httpx
    ConnectionTimeoutError (connect or pool)     ConnectTimeout
    ClientConnectorError (refused, DNS, TLS)     ConnectError
    SocketTimeoutError, other ServerTimeoutError ReadTimeout
    ClientPayloadError (a cut body)              ReadError
    any other connection error (dropped, reset)  RemoteProtocolError
    a malformed answer, anything else aiohttp    RemoteProtocolError

The body is read in full here (the resilient transport would read it anyway),
as it came (``auto_decompress=False``), and decoded by httpx as the response is
made: what this transport answers is a response read already, which the layers
above (the resilient transport, coalescing, ``adapters.transport.http.exchange``) take
as it is. A body its ``Content-Encoding`` does not decode fails here, as
``httpx.DecodingError``. The body is read through the size cap
(``max_answer_bytes``): a ``Content-Length`` above it is refused before any of the
body is read, an undeclared body stops being read as soon as it passes it, and
the decoded size is capped the same way (:func:`adapters.transport.cap.read_within`);
the connection is then dropped, not drained. Idle connections are kept 5 s, as
httpx's pool keeps them; cookies are not kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import httpx

from adapters.transport.cap import (
    DEFAULT_MAX_ANSWER_BYTES,
    UpstreamTooLarge,
    read_within,
    refuse_declared,
)

_TIMEOUTS = ("connect", "read", "pool")


class PooledTransport(httpx.AsyncBaseTransport):
    """One aiohttp connection pool; the session is made on first use (it needs
    the running loop)."""

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.max_connections = max_connections
        self.max_answer_bytes = max_answer_bytes
        self.keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                keepalive_timeout=self.keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            no_retry_on_dropped_connection(self._session)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        data: bytes | httpx.AsyncByteStream | None = None
        headers = [(k, v) for k, v in request.headers.multi_items()]
        if isinstance(request.stream, httpx.ByteStream):
            data = request.content or None
        elif isinstance(request.stream, httpx.AsyncByteStream):
            data = request.stream  # an upload streams through (aiohttp frames it)
            headers = [(k, v) for k, v in headers if k != "transfer-encoding"]
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=_client_timeout(request.extensions.get("timeout")),
            ) as answer:
                status = answer.status
                answer_headers = httpx.Headers(list(answer.raw_headers))
                refuse_declared(answer_headers, self.max_answer_bytes, request)
                body = await self._read(answer, request)
        except aiohttp.ClientError as exc:
            raise _translate(exc, request) from exc
        response = httpx.Response(
            status,
            headers=answer_headers,
            stream=httpx.ByteStream(body),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )
        # Read (decoded) here, once: the layers above take a read response as
        # it is, rather than each reading it again through httpx's streams.
        await read_within(response, self.max_answer_bytes)
        return response

    async def _read(
        self, answer: aiohttp.ClientResponse, request: httpx.Request
    ) -> bytes:
        """The body as sent, read no further than the cap."""
        limit = self.max_answer_bytes
        parts: list[bytes] = []
        total = 0
        async for chunk in answer.content.iter_any():
            total += len(chunk)
            if total > limit:
                raise UpstreamTooLarge(limit, request=request)
            parts.append(chunk)
        return b"".join(parts)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _client_timeout(timeouts: object) -> aiohttp.ClientTimeout:
    given: Mapping[str, float | None] = timeouts if isinstance(timeouts, dict) else {}
    connect, read, pool = (given.get(k) for k in _TIMEOUTS)
    waiting = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(
        total=None, connect=waiting, sock_connect=connect, sock_read=read
    )


def _translate(exc: aiohttp.ClientError, request: httpx.Request) -> httpx.HTTPError:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(message, request=request)
    return httpx.RemoteProtocolError(message, request=request)


def no_retry_on_dropped_connection(session: aiohttp.ClientSession) -> None:
    """aiohttp sends an idempotent request (PUT and DELETE too) again when a
    kept-alive connection drops; what is repeated is decided once, by the
    resilient transport, as it was with httpx's pool. aiohttp has no public
    switch for it: ``ClientSession._retry_connection`` (3.9 and later)."""
    if not hasattr(session, "_retry_connection"):
        raise RuntimeError("aiohttp no longer has ClientSession._retry_connection")
    session._retry_connection = False
