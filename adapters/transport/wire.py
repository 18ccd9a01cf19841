"""A small HTTP/1.1 client on asyncio: one connection per exchange at a time, kept
alive in a pool per origin. :class:`adapters.transport.pooled.PooledTransport` gives
it httpx's interface; this module knows bytes, sockets and timers only.

A :class:`Connection` is an ``asyncio.Protocol`` whose answers are parsed by
``httptools.HttpResponseParser`` (llhttp) as the bytes arrive: no task, no stream
reader, one future per answer, resolved when the answer is whole. The read
timeout is one ``loop.call_at`` timer per answer, pushed back lazily (each chunk
only notes the time it came). The body is collected no further than ``limit``
bytes (the answer size cap); past it, or on a declared ``Content-Length`` above
it, the connection is aborted, not drained.

How an exchange ends, and the httpx error each way of failing becomes (only what
cannot have reached the provider is a connect or pool error):

    no free connection within the pool timeout     PoolTimeout
    no connection within the connect timeout       ConnectTimeout
    refused, DNS, TLS handshake (an OSError)        ConnectError
    a header with CR, LF or NUL (nothing sent)      LocalProtocolError
    no byte of the answer within the read timeout  ReadTimeout
    no whole answer by the exchange's ``ends_by``   AttemptExpired (a TimeoutException)
    an upload stalled past the write timeout        WriteTimeout
    closed or reset in the middle of the body       ReadError
    closed or reset before the answer's head        RemoteProtocolError
    a malformed answer, or one nobody asked for     RemoteProtocolError
    a declared or read body over the cap            UpstreamTooLarge

A request once written is never sent again here: what is repeated is decided by
the resilient transport above. A connection whose answer said ``Connection:
close`` (or HTTP/1.0 without keep-alive), answered a HEAD, was cut short, or
received bytes nobody asked for cannot serve another exchange; an answer with
neither ``Content-Length`` nor chunked framing is read to EOF. Which connection
serves an exchange is :mod:`adapters.transport.wire_pool`'s choice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import Protocol, cast

import httptools  # type: ignore[import-untyped, unused-ignore]  # typed from 0.7
import httpx

from adapters.transport.cap import UpstreamTooLarge, headers_of, refuse_declared
from adapters.transport.deadline import AttemptExpired

Origin = tuple[str, str, int]  # scheme, host, port


class Owner(Protocol):
    """What a connection tells its pool (:class:`adapters.transport.wire_pool.Pool`)."""

    loop: asyncio.AbstractEventLoop

    def adopt(self, conn: Connection) -> None:
        """``conn`` is connected."""

    def forget(self, conn: Connection) -> None:
        """``conn`` is closed: its slot is free."""


class _Stop(Exception):
    """Raised by a parser callback to stop parsing (the reason is in ``error``)."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one exchange at a time."""

    def __init__(self, pool: Owner, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False
        self.reusable = True
        self.expires = 0.0
        self.paused = False
        self.writable: asyncio.Future[None] | None = None
        # The exchange in flight (None between exchanges).
        self.waiter: asyncio.Future[None] | None = None
        self.request: httpx.Request | None = None
        self.limit = 0
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.headers = httpx.Headers()
        self.body: list[bytes] = []
        self.size = 0
        self.headers_done = False
        self.to_eof = False
        self.encoded = False  # a Content-Encoding other than identity
        self.keep_alive = False
        self.error: Exception | None = None
        self.read_timeout: float | None = None
        self.ends_by: float | None = None  # loop time the whole answer is due by
        self.last_read = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no asyncio.Transport subclass, only alike.
        self.transport = cast(asyncio.Transport, transport)
        self.pool.adopt(self)

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.fail(httpx.RemoteProtocolError("an upgrade nobody asked for"))
        except httptools.HttpParserError as exc:
            error = self.error or httpx.RemoteProtocolError(
                f"malformed answer: {exc}", request=self.request
            )
            self.fail(error)

    def eof_received(self) -> bool:
        return False  # the transport closes; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.reusable = False
        self.pool.forget(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and self.to_eof:
            waiter.set_result(None)  # no length given: the answer ends at EOF
        elif self.headers_done:
            message = "the connection closed in the middle of the answer's body"
            waiter.set_exception(httpx.ReadError(message, request=self.request))
        else:
            message = "the server closed the connection without an answer"
            if exc is not None:
                message = f"{message} ({type(exc).__name__}: {exc})"
            waiter.set_exception(
                httpx.RemoteProtocolError(message, request=self.request)
            )

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    # httptools callbacks ----------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # nobody asked: the stream is off
            self.error = httpx.RemoteProtocolError("an answer nobody asked for")
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            return  # informational (103 Early Hints): the answer comes next
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        # One pass over the raw headers: each lookup in httpx.Headers costs ~1 us;
        # and httpx's entries made here, each name lower-cased once.
        length: bytes | None = None
        framed = encoded = False
        entries = []
        for name, value in self.raw_headers:
            lower = name.lower()
            entries.append((name, lower, value))
            if lower == b"content-length":
                length = value
            elif lower == b"transfer-encoding":
                framed = True
            elif lower == b"content-encoding":
                encoded = value.strip().lower() not in (b"", b"identity")
        headers = self.headers = headers_of(entries)
        request = self.request
        if length is not None and length.strip().isdigit() and int(length) > self.limit:
            try:
                refuse_declared(headers, self.limit, request)  # HEAD excepted
            except UpstreamTooLarge as exc:
                self.error = exc
                raise _Stop from exc
        self.headers_done = True
        self.encoded = encoded
        if request is not None and request.method == "HEAD":
            self.reusable = False  # the parser would wait for the body announced
            self.finish()
            raise _Stop
        self.to_eof = length is None and not framed and status not in (204, 304)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit:
            self.error = UpstreamTooLarge(self.limit, request=self.request)
            raise _Stop
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.headers_done:  # the end of an informational answer
            self.raw_headers = []
            return
        if not self.keep_alive:
            self.reusable = False
        self.finish()

    # the exchange -----------------------------------------------------------

    def finish(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: Exception) -> None:
        """End the exchange with ``error`` and drop the connection, undrained."""
        self.reusable = False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.abort()

    def abort(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def alive(self) -> bool:
        """Can serve another exchange: whole, kept alive, not closed by the server."""
        transport = self.transport
        return (
            self.reusable
            and not self.lost
            and transport is not None
            and not transport.is_closing()
        )

    def usable(self, now: float) -> bool:
        return now < self.expires and self.alive()

    def reset(self) -> None:
        self.waiter = None
        self.request = None
        self.status = self.size = 0
        self.raw_headers = []
        self.body = []
        self.headers_done = self.to_eof = self.encoded = False
        self.error = None

    async def exchange(
        self,
        request: httpx.Request,
        head: bytes,
        body: bytes | AsyncIterable[bytes],
        *,
        chunked: bool,
        read_timeout: float | None,
        write_timeout: float | None,
        limit: int,
        ends_by: float | None = None,
    ) -> None:
        """Write the request and wait for the whole answer (``status``,
        ``headers``, ``body`` then hold it). ``ends_by``: the loop time the
        whole answer is due by (``AttemptExpired`` past it, on the same timer
        as the read timeout's); due already, nothing is sent."""
        transport = self.transport
        assert transport is not None
        self.request = request
        self.limit = limit
        if ends_by is not None and self.loop.time() >= ends_by:
            message = "no whole answer within the attempt timeout"
            raise AttemptExpired(message, request=request)
        waiter = self.waiter = self.loop.create_future()
        if isinstance(body, bytes):
            transport.write(head + body if body else head)
        else:
            transport.write(head)
            await self._upload(body, chunked, write_timeout)
        if (read_timeout is not None or ends_by is not None) and not waiter.done():
            self.read_timeout = read_timeout
            self.ends_by = ends_by
            self.last_read = now = self.loop.time()
            self.timer = self.loop.call_at(self._due(now), self._read_timer)
        await waiter

    async def _upload(
        self, body: AsyncIterable[bytes], chunked: bool, write_timeout: float | None
    ) -> None:
        """Stream ``body`` as it comes (framed in chunks when ``chunked``), never
        holding more than one part of it; stop if the answer came first."""
        transport = self.transport
        assert transport is not None and self.waiter is not None
        waiter = self.waiter
        async for part in body:
            if waiter.done() or self.lost:
                self.reusable = False  # the rest of the body was not sent
                return
            if not part:
                continue
            if chunked:
                transport.write(b"%x\r\n%b\r\n" % (len(part), part))
            else:
                transport.write(part)
            if self.paused:
                await self._drained(write_timeout)
        if chunked and not self.lost:
            transport.write(b"0\r\n\r\n")

    async def _drained(self, write_timeout: float | None) -> None:
        self.writable = self.loop.create_future()
        try:
            async with asyncio.timeout(write_timeout):
                await self.writable
        except TimeoutError:
            message = "the upload stalled past the write timeout"
            raise httpx.WriteTimeout(message, request=self.request) from None
        finally:
            self.writable = None

    def _due(self, now: float) -> float:
        """When the timer must look again: the read timeout after the last
        bytes, or the end of the attempt if sooner."""
        read, ends = self.read_timeout, self.ends_by
        if read is None:
            assert ends is not None
            return ends
        due = self.last_read + read
        return due if ends is None or due < ends else ends

    def _read_timer(self) -> None:
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        now = self.loop.time()
        if self.ends_by is not None and now >= self.ends_by:
            message = "no whole answer within the attempt timeout"
            self.fail(AttemptExpired(message, request=self.request))
            return
        due = self._due(now)
        if now < due:  # bytes came meanwhile: wait from the last one
            self.timer = self.loop.call_at(due, self._read_timer)
            return
        message = "no answer within the read timeout"
        self.fail(httpx.ReadTimeout(message, request=self.request))
