"""Identical reads in flight at once share one upstream call.

When concurrent GraphQL requests ask a provider for the same thing at the same
moment (a page everyone is looking at, one popular application), ``Coalescing``
sends it once and hands every caller its own copy of the answer. It wraps a
provider's :class:`~adapters.transport.resilience.ResilientTransport`, so the shared
call has the breaker, the retries and the deadline of the request that started it.

What is shared: safe reads only, as the resilient transport defines them (GET,
HEAD, OPTIONS, or a request marked ``RETRY_SAFE``, such as connectFi's reads by
POST); never a request marked ``RETRY_SAFE = False`` (the health probe), never a
streamed body, never anything else. Two requests are identical when their method,
URL, every header (credentials, ``If-None-Match``…) and body are.

The first caller (the starter) sends the call from its own task, as if nothing
coalesced it: no task, future, shield or timer is made for a read nobody joins
(the usual case under varied traffic; they cost ~0.17M instructions per call,
a fifth of an Apiture item read's, measured apart). Its deadline is the one the
resilient transport below ends the call by. A second caller makes the future
the starter hands the answer to, and waits for it.

Each caller keeps its own deadline: a joiner stops waiting when its deadline
passes (``DeadlineExceeded``), whatever the shared call does; and when the
shared call ran out of the time of the request that started it while this
caller still has some, this caller sends its own. A joiner that goes away (its
client disconnected) does not touch the call. The call is the starter's own:
when the starter goes away (cancelled) the call goes with it, and each joiner,
told so at once, sends its own (the first of them, which the others join). An
error reaches every caller.

A call nobody joined hands its starter the response itself (no copy). Copies
hold the body as it came, still content-encoded, and each is decoded by its own
caller; a response httpx has read already (made with ``content=``) is shared
decoded, without its encoding's headers.

Callers of one shared call resume one event-loop iteration apart rather than all
at once (see ``handle_async_request``): measured under 32 concurrent requests, all
at once left the CPU idle a fifth of the time between cohorts (0.78 of a core
busy, 325 requests/s on one record); staggered, 1.00 core and 459 requests/s.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from adapters.transport.breaker import Clock
from adapters.transport.deadline import current_deadline
from adapters.transport.resilience import (
    RETRY_SAFE,
    SAFE_METHODS,
    DeadlineExceeded,
)

Key = tuple[object, ...]
STAGGER_MAX = 8  # loop iterations; more left a long tail under load (p99 1 s)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    raw: bytes  # the body for copies, as ``headers`` describe it
    extensions: dict[str, object]


class _Abandoned(Exception):
    """The caller sending a shared call went away (cancelled) before its answer:
    the others send their own."""


@dataclass(slots=True)
class _Call:
    deadline: float
    # Made when a second caller joins: the starter hands it the answer.
    shared: asyncio.Future[_Answer] | None = None
    joined: int = 1  # callers so far, the starter included


class Coalescing(httpx.AsyncBaseTransport):
    """One upstream call for identical safe reads in flight together."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        total_timeout: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._inner = inner
        self._total_timeout = total_timeout  # the inner transport's own ceiling
        self._clock = clock
        self._calls: dict[Key, _Call] = {}
        self.shared = 0  # calls answered by another caller's request (for tests)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = _key(request)
        if key is None:
            return await self._inner.handle_async_request(request)
        deadline = self._deadline()
        while True:
            call = self._calls.get(key)
            if call is None:
                return await self._send(key, request, deadline)
            self.shared += 1
            turn = call.joined
            call.joined += 1
            try:
                answer = await self._wait(call, request, deadline)
                break
            except _Abandoned:
                continue  # its starter went away: this caller sends its own
            except DeadlineExceeded:
                # The call ran out of its starter's time; this caller has more.
                if call.deadline >= deadline or self._clock() >= deadline:
                    raise
        # Callers resume one loop iteration apart, in the order they joined (up
        # to STAGGER_MAX iterations late). All at once, they would go through
        # every later step of their requests in lockstep and answer together at
        # the end; the clients' next requests would then arrive together and
        # wait together for their upstream call while the CPU idles. Staggered,
        # answers go out one after another and the next requests' upstream calls
        # start while the others are still being answered.
        for _ in range(min(turn, STAGGER_MAX)):
            await asyncio.sleep(0)
        return _copy(answer, request)

    async def _send(
        self, key: Key, request: httpx.Request, deadline: float
    ) -> httpx.Response:
        """The starter's call, sent from its own task: no task, future or timer
        of its own unless another caller joins (the resilient transport below
        ends it by the same deadline)."""
        call = self._calls[key] = _Call(deadline)
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            if self._calls.get(key) is call:
                del self._calls[key]
            shared = call.shared
            if shared is not None and not shared.done():
                if isinstance(exc, Exception):
                    shared.set_exception(exc)
                else:  # cancelled: the call is gone with its starter
                    shared.set_exception(_Abandoned())
                shared.exception()  # retrieved, even when every joiner gave up
            raise
        if self._calls.get(key) is call:
            del self._calls[key]
        shared = call.shared
        if shared is None:
            return response  # nobody joined: the response itself, no copy
        try:
            answer = await _answer(response)
        except BaseException as exc:
            if not shared.done():
                shared.set_exception(
                    exc if isinstance(exc, Exception) else _Abandoned()
                )
                shared.exception()
            raise
        if not shared.done():
            shared.set_result(answer)
        return _copy(answer, request)

    def _deadline(self) -> float:
        """When this caller's upstream call must end, as the inner transport
        reckons it."""
        deadline = self._clock() + self._total_timeout
        enclosing = current_deadline()
        return deadline if enclosing is None else min(deadline, enclosing)

    async def _wait(
        self, call: _Call, request: httpx.Request, deadline: float
    ) -> _Answer:
        """A joiner's wait, until the starter's answer or this caller's own
        deadline; leaving does not cancel the call (the starter's)."""
        shared = call.shared
        if shared is None:
            shared = call.shared = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout_at(_loop_time(deadline, self._clock)):
                return await asyncio.shield(shared)
        except TimeoutError:
            if shared.done() and not shared.cancelled():
                return shared.result()  # answered at the very last moment
            raise DeadlineExceeded(
                "the request's deadline has passed", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _answer(response: httpx.Response) -> _Answer:
    """What the callers of a shared call each get a copy of."""
    headers = response.headers.raw
    if response.is_stream_consumed:
        # Read (and decoded) already, as httpx does with ``content=`` and the
        # resilient transport does: the copies carry the decoded bytes, without
        # the encoding's headers.
        raw = response.content
        if "content-encoding" in response.headers:
            headers = [
                (k, v)
                for k, v in headers
                if k.lower() not in (b"content-encoding", b"content-length")
            ]
            headers.append((b"Content-Length", str(len(raw)).encode()))
    elif isinstance(response.stream, httpx.ByteStream):
        raw = b"".join(response.stream)  # in memory already, still unread
    else:
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
    return _Answer(response.status_code, headers, raw, dict(response.extensions))


def _copy(answer: _Answer, request: httpx.Request) -> httpx.Response:
    """Each caller its own response: httpx decodes and binds it per request."""
    return httpx.Response(
        answer.status,
        headers=answer.headers,
        stream=httpx.ByteStream(answer.raw),
        extensions=dict(answer.extensions),
        request=request,
    )


def _key(request: httpx.Request) -> Key | None:
    marked = request.extensions.get(RETRY_SAFE)
    safe = marked if isinstance(marked, bool) else request.method in SAFE_METHODS
    if not safe or not isinstance(request.stream, httpx.ByteStream):
        return None
    # The URL's parsed parts (``httpx.URL._uri_reference``, a named tuple: what
    # its string is made of, without making the string) and the headers as
    # sent: requests alike in these are alike on the wire.
    url = request.url._uri_reference
    return (request.method, url, tuple(request.headers.raw), request.content)


def _loop_time(deadline: float, clock: Clock) -> float:
    """A ``clock`` instant on the event loop's clock."""
    return asyncio.get_running_loop().time() + (deadline - clock())
