"""Rate limits as GCRA buckets, and the outbound limit on each provider's calls.

A bucket is a generic cell rate algorithm (GCRA) cell: ``rate`` units per second
with room for a ``burst`` of units, keeping one number per key, the theoretical
arrival time (TAT) of the next unit. A request of ``cost`` units is allowed when
``max(TAT, now) + cost / rate - now <= burst / rate``; then the TAT moves there.
Refused, it learns exactly when it would pass (``retry_after``). This is the
token bucket's behaviour with one stored number instead of two, which is what
makes it one atomic step in Redis (``gateway.redis_limits``).

:class:`Limiter` is the store's protocol: :class:`MemoryLimiter` here (one
replica), the Redis one injected from ``gateway/`` (the whole fleet). Several
buckets are checked together and charged only if all allow: a request over its
cost budget does not spend its request budget.

:class:`RateLimitedTransport` holds each provider's calls to the provider's
quota (``GATEWAY_<PROVIDER>_RATE_LIMIT``: none of the four providers publishes a
numeric quota, so the limit is off unless set), attempt by attempt: it sits under
:class:`~adapters.transport.resilience.ResilientTransport`, so retries count too.
A call that would pass within ``max_wait`` and before the request's deadline
waits for its turn; otherwise it is answered with a local ``429`` and a
``Retry-After``, which the client maps to ``RateLimited`` as if the provider had
said it. A provider's own ``429`` with ``Retry-After`` holds the bucket: every
call (on every replica, when the limiter is shared) waits for that moment.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from adapters.transport.deadline import current_deadline, retry_after_seconds

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Bucket:
    """One charge against one key: ``cost`` units of ``rate`` per second, at
    most ``burst`` units at once."""

    key: str
    rate: float
    burst: float
    cost: float = 1.0

    @property
    def interval(self) -> float:
        """Seconds one unit takes to come back."""
        return 1.0 / self.rate

    @property
    def charged(self) -> float:
        """The cost actually charged: never more than the burst, or a request
        dearer than the whole bucket could never pass."""
        return min(self.cost, self.burst)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the refused charge would pass
    refused_by: str | None = None  # the key of the bucket that refused it

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up (``Retry-After`` has no fractions)."""
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = Decision(True)


class Limiter(Protocol):
    """Where the buckets live (module docstring)."""

    async def acquire(self, buckets: Sequence[Bucket]) -> Decision:
        """Charge every bucket if each allows; else charge none."""
        ...

    async def hold(self, bucket: Bucket, seconds: float) -> None:
        """Let nothing through ``bucket`` for ``seconds`` (a provider's 429)."""
        ...


class MemoryLimiter:
    """GCRA buckets in this process (one replica's view), on an injectable clock.

    Keys are forgotten once their bucket is full again, so the table holds only
    the callers active within their bucket's refill time.
    """

    def __init__(self, *, clock: Clock = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._max_keys = max_keys

    async def acquire(self, buckets: Sequence[Bucket]) -> Decision:
        return self.acquire_now(buckets)

    def acquire_now(self, buckets: Sequence[Bucket]) -> Decision:
        now = self._clock()
        wait = 0.0
        refused_by = None
        moved: list[tuple[str, float]] = []
        for bucket in buckets:
            tat = max(self._tat.get(bucket.key, now), now)
            new = tat + bucket.charged * bucket.interval
            over = new - now - bucket.burst * bucket.interval
            if over > wait:
                wait, refused_by = over, bucket.key
            moved.append((bucket.key, new))
        if wait > 1e-6:
            return Decision(False, wait, refused_by)
        if len(self._tat) >= self._max_keys:
            self._forget(now)
        self._tat.update(moved)
        return ALLOWED

    async def hold(self, bucket: Bucket, seconds: float) -> None:
        now = self._clock()
        until = now + seconds + (bucket.burst - 1.0) * bucket.interval
        self._tat[bucket.key] = max(self._tat.get(bucket.key, now), until)

    def _forget(self, now: float) -> None:
        for key in [k for k, tat in self._tat.items() if tat <= now]:
            del self._tat[key]
        while len(self._tat) >= self._max_keys:  # all busy: the oldest go
            del self._tat[next(iter(self._tat))]


@dataclass(frozen=True)
class OutboundLimit:
    """A provider's quota: ``rate`` calls per second, ``burst`` at once; calls
    wait for their turn up to ``max_wait`` seconds."""

    key: str
    rate: float
    burst: float
    max_wait: float = 2.0

    @property
    def bucket(self) -> Bucket:
        return Bucket(self.key, self.rate, self.burst)


class RateLimitedTransport(httpx.AsyncBaseTransport):
    """Each attempt to the provider takes a unit of its quota (module docstring).

    Counters (plain attributes, exported by the metrics): ``waited`` calls that
    waited for their turn, ``refused`` calls answered 429 locally, ``held``
    provider 429s that held the bucket.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        limit: OutboundLimit,
        limiter: Limiter,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self.limit = limit
        self.limiter = limiter
        self._clock = clock
        self._sleep = sleep
        self.waited = 0
        self.refused = 0
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        bucket = self.limit.bucket
        first = True
        while True:
            decision = await self.limiter.acquire((bucket,))
            if decision.allowed:
                break
            deadline = current_deadline()
            late = deadline is not None and (
                self._clock() + decision.retry_after >= deadline
            )
            if decision.retry_after > self.limit.max_wait or late:
                self.refused += 1
                return httpx.Response(
                    429,
                    headers={"Retry-After": decision.retry_after_header},
                    content=b"",
                    request=request,
                    extensions={"gateway.local": True},
                )
            if first:
                self.waited += 1
                first = False
            await self._sleep(decision.retry_after)
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429:
            after = retry_after_seconds(response.headers.get("retry-after"))
            if after:
                self.held += 1
                await self.limiter.hold(bucket, after)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
