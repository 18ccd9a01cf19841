"""Slow clients cannot hold the server: headers and body each have a deadline.

uvicorn bounds neither. Its only timer is the keep-alive one, armed after a
response: a connection that never finishes its request line and headers, or a
body that drips in a byte at a time, stays open for as long as the client likes
(40 such connections were all still open after 75 s). So, at two layers:

- ``SlowClientProtocol`` (the server, uvicorn's httptools protocol): from the
  moment a connection opens, or a new request on it begins, its headers must be
  complete within ``header_read_timeout``, else the connection gets a 408 and
  is closed. No application ever sees such a request. It also closes a
  connection whose body is still incomplete ``body_read_timeout`` (plus a
  second) after its headers: a body the application does not read (it answered
  without it) would otherwise keep it open, each byte cancelling uvicorn's
  keep-alive timer.
- ``BodyReadTimeout`` (ASGI middleware, the application): the whole body must
  arrive within ``body_read_timeout`` of the request's start. Past it, the
  application's pending ``receive`` fails, and the request is answered 408 with
  a GraphQL error and ``Connection: close`` (uvicorn then closes the socket);
  a response already started is cut off instead. Reading stops there: nothing
  of a late body reaches a resolver or a provider.

The same protocol also writes a response of known length in one piece, its
head with its body (``HeadWithBody``: uvicorn writes them apart, two system
calls where one does).

``gateway serve`` passes the protocol to uvicorn by name; each process reads
the timeouts from its settings once (``GATEWAY_HEADER_READ_TIMEOUT``,
``GATEWAY_BODY_READ_TIMEOUT``). Tests make a subclass with their own
(``with_timeouts``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import weakref
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.limits import ASGIApp, Message, Receive, Scope, Send, refuse_with

BACKSTOP_GRACE = 1.0  # seconds the application has to answer a late body first
CODE = "BAD_USER_INPUT"


class _BodyTooSlow(Exception):
    pass


class BodyReadTimeout:
    def __init__(self, app: ASGIApp, timeout: float | None) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.timeout:
            await self.app(scope, receive, send)
            return
        body = _BodyDeadline(receive, send, self.timeout)
        try:
            await self.app(scope, body.receive, body.send)
        except _BodyTooSlow:
            if body.started:
                raise  # the server closes a connection whose response broke off
            await refuse_with(send, 408, CODE, _message("body", self.timeout))
        finally:
            body.timer.cancel()


class _BodyDeadline:
    """One request's body deadline: a timer that cancels a pending ``receive``.

    One timer per request rather than ``asyncio.timeout`` around each read
    (which cost ten times as much on a one-message JSON body)."""

    __slots__ = (
        "_receive",
        "_send",
        "_waiter",
        "complete",
        "expired",
        "started",
        "timer",
    )

    def __init__(self, receive: Receive, send: Send, timeout: float) -> None:
        self._receive = receive
        self._send = send
        self._waiter: asyncio.Task[Any] | None = None
        self.complete = False
        self.expired = False
        self.started = False
        self.timer = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        self.expired = True
        if self._waiter is not None:
            self._waiter.cancel()

    async def receive(self) -> Message:
        if self.complete:  # after the body: a wait for the disconnect, unbounded
            return await self._receive()
        if self.expired:
            raise _BodyTooSlow
        task = self._waiter = asyncio.current_task()
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self.expired and task is not None and task.uncancel() == 0:
                raise _BodyTooSlow from None
            raise  # cancelled by someone else too
        finally:
            self._waiter = None
        if message["type"] != "http.request" or not message.get("more_body"):
            self.complete = True
            self.timer.cancel()
        return message

    async def send(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


def _message(part: str, seconds: float) -> str:
    return f"the request {part} did not arrive within {seconds:g} seconds"


@functools.cache
def _configured() -> tuple[float | None, float | None]:
    from gateway.settings import Settings

    settings = Settings()
    return settings.header_read_timeout, settings.body_read_timeout


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's protocol with a deadline on the headers and a body backstop."""

    # None: this process's settings. 0 turns a deadline off.
    header_read_timeout: float | None = None
    body_read_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        header, body = _configured() if self._needs_settings() else (None, None)
        if self.header_read_timeout is None:
            self.header_read_timeout = header
        if self.body_read_timeout is None:
            self.body_read_timeout = body
        self._header_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None

    def _needs_settings(self) -> bool:
        return self.header_read_timeout is None or self.body_read_timeout is None

    # The header deadline: from the connection, or the next request's first byte.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_headers()

    def on_headers_complete(self) -> None:
        self._header_timer = _cancel(self._header_timer)
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = HeadWithBody(self.transport, cycle)  # type: ignore[assignment]
        if self.body_read_timeout and self.cycle is not None:
            self._body_timer = _cancel(self._body_timer)
            self._body_timer = self.loop.call_later(
                self.body_read_timeout + BACKSTOP_GRACE, self._body_too_slow
            )

    def on_message_complete(self) -> None:
        self._body_timer = _cancel(self._body_timer)
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timers()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._stop_timers()  # the WebSocket protocol takes the connection over
        super().handle_websocket_upgrade()

    def _stop_timers(self) -> None:
        self._header_timer = _cancel(self._header_timer)
        self._body_timer = _cancel(self._body_timer)

    def _arm_headers(self) -> None:
        if self.header_read_timeout and self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.header_read_timeout, self._headers_too_slow
            )

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        if idle:  # no response of an earlier request is being written
            assert self.header_read_timeout is not None
            self.transport.write(
                _response_408(_message("headers", self.header_read_timeout))
            )
        self.transport.close()

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class HeadWithBody:
    """A response's transport, as its cycle sees it: the status line and
    headers of a response of known length go out with the first part of its
    body, in one write.

    uvicorn writes them apart, as soon as the application starts the response,
    then the body: two ``send`` calls on the socket where one does, and on a
    local connection the kernel does the receiving side's work in each (about
    an eighth of an application by id's CPU under load went to those calls). A
    response without a length (a stream: Server-Sent Events) is not held, its
    headers open the stream; nothing else is ever held (a ``100 Continue`` is
    written before the response starts). What is held goes out at the latest
    when the response completes (a HEAD's answer has no body) or the
    connection is closed. Everything else is the transport's own."""

    __slots__ = ("_cycle", "_head", "_head_seen", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        # the cycle holds this as its transport: a weak reference back, or
        # every request's cycle would be garbage only the collector frees
        self._cycle = weakref.ref(cycle)
        self._head: bytes | None = None
        self._head_seen = False
        done = cycle.on_response

        def on_response() -> None:
            self._release()
            done()

        cycle.on_response = on_response

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head + data)
            return
        cycle = self._cycle()
        if not self._head_seen and cycle is not None and cycle.response_started:
            # uvicorn's first write once the response started: its head, its
            # length already read from it (False: a Content-Length)
            self._head_seen = True
            if cycle.chunked_encoding is False:
                self._head = data
                return
        self._transport.write(data)

    def close(self) -> None:
        self._release()
        self._transport.close()

    def _release(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _cancel(timer: TimerHandle | None) -> TimerHandle | None:
    """Cancel ``timer`` if armed; None, the disarmed timer, to store back."""
    if timer is not None:
        timer.cancel()
    return None


def _response_408(message: str) -> bytes:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": CODE}}]}
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


def with_timeouts(header: float, body: float) -> type[SlowClientProtocol]:
    """The protocol with these timeouts instead of the settings' (for tests)."""

    class Configured(SlowClientProtocol):
        header_read_timeout = header
        body_read_timeout = body

    return Configured


PROTOCOL = f"{__name__}:{SlowClientProtocol.__name__}"
