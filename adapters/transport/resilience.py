"""Failure semantics below every adapter: deadline, retries, retry budget, breaker.

``ResilientTransport`` wraps a provider's transport (the pooled one, or the
``httpx.ASGITransport`` of its sandbox), so every request an adapter sends through
:func:`adapters.transport.http.send` gets, in this order:

- the provider's ``CircuitBreaker`` (:mod:`adapters.transport.breaker`): while it is
  open, calls fail fast without an upstream request; after the cool-down one probe goes
  through and decides;
- a deadline: the GraphQL request's (``deadline_scope``, carried in a context
  variable) or ``Policy.total_timeout`` from the call's start, whichever comes first.
  No attempt and no backoff sleep starts past it, and each attempt's httpx timeouts
  are clamped to the time left;
- a total timeout per attempt (``Policy.attempt_timeout``), enforced here as well
  because ``httpx.ASGITransport`` ignores httpx's timeouts: by a timer of its own
  (``asyncio.timeout``), or, over a transport that keeps it (the pooled one,
  ``keeps_attempt_timeout``) and for a body in memory, by handing it the time
  allowed (``ATTEMPT_TIMEOUT``), which it keeps on the timer it has for the
  answer's read timeout: one timer per attempt rather than two (~30 k
  instructions of an item read's ~0.65 M);
- retries of what is safe to repeat, with exponential backoff and jitter, at least
  ``Retry-After`` apart, within the provider's ``RetryBudget`` (also there).

What is retried::

    outcome of an attempt               safe read (below)   anything else
    connect error, pool timeout         retried             retried: never sent
    read/attempt timeout, dropped conn  retried             not retried
    502, 503, 504, 429                  retried             not retried
    500, other statuses                 not retried         not retried

A safe read is a GET, HEAD or OPTIONS, or a request an adapter marks with
``request.extensions[RETRY_SAFE] = True`` (connectFi reads by POST). ``False`` turns
retries off, even for a GET (the health probe). A request whose body is a stream
(an upload) is never repeated: the stream cannot be read twice.

500 is not retried: it says the provider's code failed on this request, which
usually fails the same way again; 502/503/504 say something in front of it (or its
capacity) failed, which is what passes. A 429 or 503 whose ``Retry-After`` ends past
the deadline is answered at once, without waiting.

The breaker counts transport errors, timeouts and 5xx as failures; any other answer
(4xx included: those are the caller's) as a success. An attempt cut short by the
request's own deadline is neither. Thresholds count attempts, not calls: each one
was a real upstream failure.

The rules and the errors are in :mod:`adapters.transport.retrying`. Raised, as
httpx exceptions so the transport contract holds (``send`` maps them)::

    CircuitOpen(httpx.TransportError)         the breaker refused the call
    DeadlineExceeded(httpx.TimeoutException)  the deadline passed
    AttemptTimeout(httpx.TimeoutException)    one attempt took longer than allowed
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import httpx
from opentelemetry.trace import Tracer

from adapters.transport.breaker import (
    BreakerState,
    Budget,
    CircuitBreaker,
    Clock,
    RetryBudget,
)
from adapters.transport.deadline import (
    ATTEMPT_TIMEOUT,
    AttemptExpired,
    current_deadline,
    retry_after_seconds,
)
from adapters.transport.observe import (
    NOBODY,
    OTHER,
    CallObserver,
    RouteTemplates,
    routes_for,
)
from adapters.transport.retrying import (
    RETRIED_STATUSES,
    Outcome,
    Sleep,
    describe,
    error_code,
    may_repeat,
    repeatable,
    settle,
)
from adapters.transport.retrying import RETRY_SAFE as RETRY_SAFE
from adapters.transport.retrying import SAFE_METHODS as SAFE_METHODS
from adapters.transport.retrying import AttemptTimeout as AttemptTimeout
from adapters.transport.retrying import CircuitOpen as CircuitOpen
from adapters.transport.retrying import DeadlineExceeded as DeadlineExceeded
from adapters.transport.retrying import Policy as Policy
from adapters.transport.tracing import BODY_BYTES, attempt_recorder, start_attempt

log = logging.getLogger("gateway.resilience")

# The transport --------------------------------------------------------------------


class ResilientTransport(httpx.AsyncBaseTransport):
    """Breaker, deadline and retries around another transport (module docstring)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        name: str,
        policy: Policy | None = None,
        breaker: CircuitBreaker | None = None,
        budget: Budget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        draw: Callable[[], float] = random.random,
        tracer: Tracer | None = None,
        observer: CallObserver = NOBODY,
        routes: RouteTemplates | None = None,
    ) -> None:
        self.name = name  # for logs, spans and metrics: the provider
        # None: tracing is off, and no attempt makes a span or sends a traceparent.
        self.tracer = tracer
        self._recorder = attempt_recorder(tracer)
        self.policy = policy = policy or Policy()
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.budget: Budget = budget or RetryBudget(
            ratio=policy.budget_ratio,
            minimum=policy.budget_minimum,
            window=policy.budget_window,
            clock=clock,
        )
        self._inner = inner
        # Does it end an attempt by its ATTEMPT_TIMEOUT extension (the pooled
        # transport)? Any other gets a timer per attempt.
        self._keeps_time = getattr(inner, "keeps_attempt_timeout", False) is True
        self._clock = clock
        self._sleep = sleep
        self._draw = draw
        # Metrics (adapters/transport/observe.py): each attempt is observed.
        self.observer = observer
        self.routes = routes or routes_for(name)
        self.in_flight = 0  # calls under way (read when metrics are scraped)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # One coroutine for the call (its attempts each one more, traced or
        # not): every layer of coroutines is made, and passed through at each
        # resumption, on every upstream call.
        deadline = self._clock() + self.policy.total_timeout
        enclosing = current_deadline()
        if enclosing is not None:
            deadline = min(deadline, enclosing)
        if self._clock() >= deadline:
            raise DeadlineExceeded("the request's deadline has passed", request=request)
        if not self.breaker.try_acquire():
            raise CircuitOpen("the circuit is open", request=request)
        self.in_flight += 1
        try:
            resendable, safe = repeatable(request)
            timeouts = request.extensions.get("timeout")
            # The metrics and the spans name the route (the same template for
            # both): nothing to match when neither observes.
            observed = self.observer is not NOBODY or self.tracer is not None
            route = self.routes.of(request) if observed else OTHER
            self.budget.deposit()
            retry = 0
            waited = 0.0
            while True:
                if self.tracer is None:
                    outcome = await self._attempt(
                        request, deadline, timeouts, route, retry
                    )
                else:
                    # the attempt's span around it, in this coroutine: no
                    # layer more to pass through at each of its resumptions
                    record = start_attempt(
                        self.tracer,
                        self._recorder,
                        self.name,
                        request,
                        retry + 1,
                        waited,
                        route,
                    )
                    try:
                        outcome = await self._attempt(
                            request, deadline, timeouts, route, retry
                        )
                    except BaseException as escaped:
                        record.finish(None, None, escaped)
                        raise
                    record.finish(outcome.response, outcome.error, None)
                if outcome.response is not None and (
                    outcome.response.status_code not in RETRIED_STATUSES
                ):
                    return outcome.response  # the usual answer: nothing to retry
                may = resendable and may_repeat(safe, outcome)
                delay = self._retry_delay(outcome, retry + 1, deadline) if may else None
                if delay is None or self.breaker.state is BreakerState.OPEN:
                    return settle(outcome)
                if not await self.budget.take():
                    self.observer.retry_refused(self.name)
                    return settle(outcome)
                retry += 1
                self.observer.retried(self.name)
                log.info(
                    "%s: retry %d of %s %s in %.3fs after %s",
                    self.name,
                    retry,
                    request.method,
                    request.url.path,
                    delay,
                    describe(outcome),
                )
                await self._sleep(delay)
                waited = delay
                if not self.breaker.try_acquire():
                    return settle(outcome)  # opened meanwhile: answer what we have
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _attempt(
        self,
        request: httpx.Request,
        deadline: float,
        timeouts: object,
        route: str,
        retry: int,
    ) -> Outcome:
        """One try, observed (``observe_call``: the one place the metrics, and
        tracing, see each attempt)."""
        with self.observer.observe_call(
            self.name, request.method, route, retry + 1
        ) as call:
            outcome = await self._try(request, deadline, timeouts)
            if outcome.response is not None:
                call.answered(outcome.response.status_code)
            elif isinstance(outcome.error, DeadlineExceeded):
                call.failed("deadline")
            elif outcome.error is not None:
                call.failed(error_code(outcome.error))
            return outcome

    async def _try(
        self, request: httpx.Request, deadline: float, timeouts: object
    ) -> Outcome:
        """One try, its body read in full within the time allowed; the breaker is
        told how it went."""
        started = self._clock()
        left = deadline - started
        allowed = min(self.policy.attempt_timeout, left)
        if isinstance(timeouts, dict):
            for v in timeouts.values():
                if v is not None and v > allowed:  # clamped, from the call's own
                    request.extensions["timeout"] = {
                        k: v if v is None else min(v, allowed)
                        for k, v in timeouts.items()
                    }
                    break
            else:
                request.extensions["timeout"] = timeouts
        try:
            try:
                if self._keeps_time and isinstance(request.stream, httpx.ByteStream):
                    # The inner transport ends the attempt by then itself, on
                    # the timer it has anyway: no timer of our own.
                    request.extensions[ATTEMPT_TIMEOUT] = allowed
                    response = await self._inner.handle_async_request(request)
                    if not response.is_stream_consumed:
                        response = await self._buffered(response)
                else:
                    async with asyncio.timeout(allowed):
                        response = await self._buffered(
                            await self._inner.handle_async_request(request)
                        )
            except (TimeoutError, AttemptExpired):
                if allowed < self.policy.attempt_timeout:
                    self.breaker.release()  # the caller's deadline, not the provider
                    message = "the request's deadline passed"
                    return Outcome(error=DeadlineExceeded(message, request=request))
                self.breaker.record_failure("timeout")
                message = "no answer within the attempt timeout"
                return Outcome(error=AttemptTimeout(message, request=request))
            except httpx.TransportError as exc:
                self.breaker.record_failure(error_code(exc))
                return Outcome(error=exc)
        except BaseException:
            self.breaker.release()  # cancelled: no verdict on the provider
            raise
        latency = self._clock() - started
        if response.status_code >= 500:
            self.breaker.record_failure(f"http_{response.status_code}", latency)
        else:
            self.breaker.record_success(latency)
        return Outcome(response=response)

    @staticmethod
    async def _buffered(response: httpx.Response) -> httpx.Response:
        """The response with its body read: a slow or cut body is this attempt's
        failure (retried like any), and an answer we do not return can be dropped.
        The bytes are kept raw (still content-encoded) for the client to decode."""
        if response.is_stream_consumed:
            return response  # already read by the inner transport (MockTransport)
        try:
            raw = [chunk async for chunk in response.aiter_raw()]
        finally:
            await response.aclose()
        body = b"".join(raw)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions={**response.extensions, BODY_BYTES: len(body)},
        )

    def _retry_delay(
        self, outcome: Outcome, retry: int, deadline: float
    ) -> float | None:
        """Seconds to wait before retry number ``retry``, or None: no time for it."""
        if retry >= self.policy.attempts:
            return None
        delay = self.policy.backoff(retry, self._draw())
        if outcome.response is not None:
            header = outcome.response.headers.get("retry-after")
            after = retry_after_seconds(header)
            if after is not None:
                delay = max(delay, after)
        if self._clock() + delay >= deadline:
            return None  # no time left to wait and try again
        return delay
