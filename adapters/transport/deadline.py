"""Time limits of an upstream call that are not the transport's own: the
request's deadline (a context variable every upstream call in the request's
tasks ends by) and a provider's ``Retry-After``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from adapters.transport.breaker import Clock


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
