"""The state ``ResilientTransport`` keeps per provider: a circuit breaker and a
retry budget. Plain objects on an injectable clock, used from one event loop (no
locks); :mod:`adapters.transport.resilience` says when they are consulted.

A fleet shares each provider's retry budget (:class:`Budget` is its protocol; the
Redis one is injected from ``gateway/``), so the fleet's retries stay a share of
the fleet's calls however many replicas there are. The breakers stay per replica,
on purpose: a breaker must react within a few calls and decide on every attempt,
which a round trip to Redis per attempt would slow down on the hot path and make
depend on Redis being up; each replica sees the same provider, so each opens
after a handful of its own failures anyway, and a replica whose own network path
to the provider fails (the case a shared breaker would hide) opens alone.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("gateway.resilience")

Clock = Callable[[], float]


class Budget(Protocol):
    """A provider's retry budget: ``deposit`` on every call (cheap, no I/O),
    ``take`` before each retry."""

    def deposit(self) -> None: ...

    async def take(self) -> bool: ...


class RetryBudget:
    """A token bucket that keeps retries a small share of calls.

    Each first attempt deposits ``ratio`` of a token, each retry withdraws one, and
    ``minimum`` tokens trickle in per ``window`` so that a quiet gateway can still
    retry. The bucket holds at most ``max(minimum, 1)``: a long calm does not buy a
    storm of retries later. Under a persistent outage, N calls make at most
    ``N * ratio + minimum`` retries (plus the trickle).
    """

    _EPSILON = 1e-9

    def __init__(
        self,
        *,
        ratio: float = 0.1,
        minimum: int = 10,
        window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ratio = ratio
        self._cap = max(float(minimum), 1.0)
        self._trickle = minimum / window if window > 0 else 0.0
        self._clock = clock
        self._balance = float(minimum)
        self._updated = clock()

    @property
    def balance(self) -> float:
        self._refill()
        return self._balance

    def deposit(self) -> None:
        """A first attempt is about to go."""
        self._refill()
        self._balance = min(self._cap, self._balance + self._ratio)

    def withdraw(self) -> bool:
        """Take a token for one retry; False when the budget is spent."""
        self._refill()
        if self._balance < 1.0 - self._EPSILON:
            return False
        self._balance = max(0.0, self._balance - 1.0)
        return True

    async def take(self) -> bool:
        """``withdraw``, as the :class:`Budget` protocol asks."""
        return self.withdraw()

    def _refill(self) -> None:
        now = self._clock()
        elapsed, self._updated = now - self._updated, now
        if elapsed > 0 and self._trickle:
            self._balance = min(self._cap, self._balance + elapsed * self._trickle)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive failures open it; after ``cooldown`` one probe may pass.

    closed → open after ``threshold`` failures in a row (a success resets the
    count); open refuses every call for ``cooldown`` seconds; then half-open lets
    one probe through at a time: a success closes, a failure reopens for another
    cool-down. It also keeps, for the ``providers`` query, the last failure as a
    short code (never an upstream body or URL) and a moving average of latency.
    """

    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 10.0,
        clock: Clock = time.monotonic,
        smoothing: float = 0.2,
        name: str = "upstream",
    ) -> None:
        self.name = name  # for logs
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._smoothing = smoothing
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probing = False
        self.failures = 0  # consecutive
        self.last_error: str | None = None
        self.latency_ms: float | None = None  # exponentially weighted average

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def refusing(self) -> bool:
        """Open and still cooling down: every call would be refused now. (After
        the cool-down the state stays OPEN until a call comes to probe.)"""
        return (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at < self.cooldown
        )

    def try_acquire(self) -> bool:
        """May an attempt go now? In half-open, True reserves the one probe."""
        if self._state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self.cooldown:
                return False
            self._state = BreakerState.HALF_OPEN
            self._probing = False
        if self._state is BreakerState.HALF_OPEN:
            if self._probing:
                return False
            self._probing = True
        return True

    def record_success(self, latency: float | None = None) -> None:
        self._observe(latency)
        if self._state is BreakerState.OPEN:
            return  # a call from before it opened: only a probe decides
        self._state = BreakerState.CLOSED
        self._probing = False
        self.failures = 0

    def record_failure(self, code: str, latency: float | None = None) -> None:
        self._observe(latency)
        self.last_error = code
        self.failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self.failures >= self.threshold
        ):
            if self._state is BreakerState.CLOSED:
                log.warning(
                    "%s: circuit opened after %d failures (last: %s)",
                    self.name,
                    self.failures,
                    code,
                )
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
            self._probing = False

    def release(self) -> None:
        """An attempt ended without a verdict (cancelled, or cut by the deadline)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False

    def _observe(self, latency: float | None) -> None:
        if latency is None:
            return
        ms = latency * 1000
        previous = self.latency_ms
        self.latency_ms = (
            ms if previous is None else previous + self._smoothing * (ms - previous)
        )
