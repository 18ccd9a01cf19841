"""Time limits of an upstream call that are not the transport's own: the
request's deadline (a context variable every upstream call in the request's
tasks ends by), a provider's ``Retry-After``, and the time one attempt may take
when the transport under the resilient one keeps it itself (``ATTEMPT_TIMEOUT``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from adapters.transport.breaker import Clock

# The request extension, in seconds, that the whole of one attempt (a free
# connection, connecting, sending, the whole answer) must fit in. The resilient
# transport sets it instead of a timer of its own on a transport whose
# ``keeps_attempt_timeout`` is True (the pooled one), for a body in memory.
ATTEMPT_TIMEOUT = "gateway.attempt_timeout"


class AttemptExpired(httpx.TimeoutException):
    """The attempt did not end within its ``ATTEMPT_TIMEOUT``."""


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Deadline -------------------------------------------------------------------------

_deadline: ContextVar[float | None] = ContextVar("gateway_deadline", default=None)


def current_deadline() -> float | None:
    """The deadline of the request being served (a ``time.monotonic`` instant)."""
    return _deadline.get()


def set_deadline(at: float | None) -> None:
    """Set the deadline for the rest of this context (and the tasks it starts)."""
    _deadline.set(at)


@contextmanager
def deadline_scope(seconds: float, *, clock: Clock = time.monotonic) -> Iterator[float]:
    """Within the block, upstream calls end by ``seconds`` from now (or by the
    enclosing deadline, if that is sooner)."""
    at = clock() + seconds
    enclosing = _deadline.get()
    if enclosing is not None:
        at = min(at, enclosing)
    token = _deadline.set(at)
    try:
        yield at
    finally:
        _deadline.reset(token)
