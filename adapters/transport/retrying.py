"""What the resilient transport (:mod:`adapters.transport.resilience`) decides
with: which requests are safe to repeat, which outcomes are retried, the
errors it raises, a provider's ``Policy``, and an attempt's ``Outcome``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

RETRY_SAFE = "gateway.retry_safe"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRIED_STATUSES = frozenset({429, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


class CircuitOpen(httpx.TransportError):
    """The provider's breaker is open: no request was sent."""


class DeadlineExceeded(httpx.TimeoutException):
    """The request's deadline passed before the provider answered."""


class AttemptTimeout(httpx.TimeoutException):
    """One attempt took longer than ``Policy.attempt_timeout``."""


# Policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How one provider's calls are timed and retried."""

    attempts: int = 3  # per call, the first included
    base_backoff: float = 0.05  # seconds before the first retry, doubled after
    max_backoff: float = 1.0
    jitter: float = 0.5  # the random share of each backoff (1.0: "full jitter")
    budget_ratio: float = 0.1  # retries allowed per first attempt
    budget_minimum: int = 10  # retries allowed per window whatever the traffic
    budget_window: float = 10.0  # seconds
    attempt_timeout: float = 10.0  # one attempt: connect, send, wait, read
    total_timeout: float = 15.0  # one call, every attempt and wait included

    def backoff(self, retry: int, draw: float) -> float:
        """Seconds before retry number ``retry`` (1, 2, …); ``draw`` in [0, 1)."""
        ceiling = min(self.max_backoff, self.base_backoff * 2.0 ** (retry - 1))
        return ceiling * (1.0 - self.jitter * draw)


@dataclass
class Outcome:
    response: httpx.Response | None = None
    error: httpx.TransportError | None = None


def repeatable(request: httpx.Request) -> tuple[bool, bool]:
    """(can its body be sent again, is it a safe read)."""
    if not isinstance(request.stream, httpx.ByteStream):
        return False, False  # a streamed body (an upload) cannot be sent twice
    marked = request.extensions.get(RETRY_SAFE)
    if isinstance(marked, bool):
        return True, marked
    return True, request.method in SAFE_METHODS


def may_repeat(safe: bool, outcome: Outcome) -> bool:
    error = outcome.error
    if isinstance(error, DeadlineExceeded):
        return False
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # the request never left: even a mutation may go again
    if not safe:
        return False
    if error is not None:
        dropped_or_slow = (
            httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError
        )
        return isinstance(error, dropped_or_slow)
    assert outcome.response is not None
    return outcome.response.status_code in RETRIED_STATUSES


def settle(outcome: Outcome) -> httpx.Response:
    if outcome.error is not None:
        raise outcome.error
    assert outcome.response is not None
    return outcome.response


def error_code(exc: httpx.TransportError) -> str:
    """A short name for the breaker's ``last_error``: no URL, no body."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return "connect_error"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "connection_dropped"
    return "transport_error"


def describe(outcome: Outcome) -> str:
    if outcome.response is not None:
        return f"HTTP {outcome.response.status_code}"
    return error_code(outcome.error) if outcome.error else "nothing"
