"""What every Redis store shares: the client, safe key names, outage counting.

Key names: anything a caller sends (an idempotency key, a subject) reaches Redis
only hashed, ``gw:<namespace>:<sha256 hex>``, so no input can name another
key, reach another namespace or carry control characters into the protocol.

``Outage`` counts the operations a store could not do in Redis (``count``) and
logs a warning when Redis starts failing and when it is back, not once per
request: under an outage every request would log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger("gateway.state")

PREFIX = "gw"
# What a store catches: Redis unreachable, timed out, refusing (OOM, loading),
# or an answer that is not what the store wrote.
FAILURES: tuple[type[Exception], ...] = (RedisError, OSError, ValueError)


def connect(url: str, *, timeout: float = 1.0) -> Redis:
    """One client (a connection pool) for every store of this process.

    A command is tried once more at once on a connection error: a restarted Redis
    drops every pooled connection, and the first command on each would otherwise
    fail though Redis is back (redis-py 6 retries by default, 5 does not)."""
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 1),  # type: ignore[no-untyped-call, unused-ignore]
    )
    return client


def key(namespace: str, *parts: str) -> str:
    """A Redis key for ``parts`` (any strings): hashed, so always safe and
    distinct for distinct ``parts``."""
    text = json.dumps(parts, ensure_ascii=True)
    digest = hashlib.sha256(text.encode("ascii")).hexdigest()
    return f"{PREFIX}:{namespace}:{digest}"


class Outage:
    """Operations that failed in Redis, counted, and a warning per outage."""

    def __init__(self, concern: str, policy: str) -> None:
        self.concern = concern
        self.policy = policy
        self.count = 0
        self.down = False

    def failed(self, exc: BaseException) -> None:
        self.count += 1
        if not self.down:
            self.down = True
            log.warning(
                "Redis unavailable for %s (%s): %s",
                self.concern,
                type(exc).__name__,
                self.policy,
            )

    def ok(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis back for %s", self.concern)


def text(value: Any) -> str | None:
    """A Redis answer as text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
