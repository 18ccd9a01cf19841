"""The fleet's shared limit stores in Redis: GCRA rate buckets and retry budgets.

:class:`RedisLimiter` (the :class:`~adapters.transport.ratelimit.Limiter`
protocol) and :class:`SharedRetryBudget` (the :class:`~adapters.transport.
breaker.Budget` protocol), one atomic Lua script per check against the one Redis
every replica uses, timed by Redis's own clock (``TIME``) so replicas' clocks
need not agree. Their in-process twins (``MemoryLimiter``, ``RetryBudget``)
live in ``adapters.transport``; ``gateway.fleet_limits`` picks one or the other.

Policy when Redis fails (down, unreachable, too slow): the limits **fail open**
(``gateway.fleet_limits`` says why). Each fallback logs a warning (at most one
per ``WARN_EVERY`` seconds) and counts in ``fallbacks``; the retry budget falls
back to the replica's own budget, so retries stay bounded per replica meanwhile.

Keys: a caller's subject or IP never reaches Redis as written: it is hashed
(SHA-256, hex, truncated) under a fixed prefix, so any subject makes one short
key of ``[0-9a-f]`` and no caller can name another's key.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence

import redis.asyncio as redis

from adapters.transport.breaker import RetryBudget
from adapters.transport.ratelimit import ALLOWED, Bucket, Decision
from gateway.state.redis import connect

log = logging.getLogger("gateway.fleet")

KEY_PREFIX = "gw:rl:"
WARN_EVERY = 10.0  # seconds between two warnings of the same failure
REDIS_TIMEOUT = 0.5  # seconds: a Redis slower than this is treated as down


def redis_client(url: str) -> redis.Redis:
    """A client that gives up fast (``gateway.state.redis.connect``: one
    immediate retry on a dropped connection), then the caller's fallback."""
    return connect(url, timeout=REDIS_TIMEOUT)


def bucket_key(kind: str, identity: str) -> str:
    """The Redis key of ``identity``'s ``kind`` bucket (hashed: module docstring)."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{KEY_PREFIX}{kind}:{digest[:32]}"


class _Warner:
    def __init__(self, what: str) -> None:
        self.what = what
        self._last = -WARN_EVERY

    def __call__(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last >= WARN_EVERY:
            self._last = now
            log.warning("%s: Redis failed (%r); failing open", self.what, exc)


REDIS_ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)

# KEYS: the buckets; ARGV: per key, interval (ms per unit), burst (units), cost.
# Charges every key or none; answers {1, 0, 0} or {0, ms to wait, refusing key's
# index from 1}.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local news = {}
local wait = 0
local refused = 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new = tat + cost * interval
  local over = new - now - burst * interval
  if over > wait then
    wait = over
    refused = i
  end
  news[i] = new
end
if wait > 0.001 then return {0, math.ceil(wait), refused} end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', news[i]),
             'PX', math.ceil(news[i] - now) + 1)
end
return {1, 0, 0}
"""

# KEYS[1]: the bucket; ARGV: hold (ms), interval (ms per unit), burst (units).
HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local until_ = now + tonumber(ARGV[1]) + (tonumber(ARGV[3]) - 1) * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if until_ > tat then
  redis.call('SET', KEYS[1], string.format('%.3f', until_),
             'PX', math.ceil(until_ - now) + 1)
end
return 1
"""


class RedisLimiter:
    """GCRA buckets in Redis, shared by the fleet; fails open (module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._acquire = client.register_script(ACQUIRE)
        self._hold = client.register_script(HOLD)
        self._warn = _Warner("rate limits")
        self.fallbacks = 0

    async def acquire(self, buckets: Sequence[Bucket]) -> Decision:
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.interval * 1000, bucket.burst, bucket.charged]
        try:
            allowed, wait_ms, index = await self._acquire(
                keys=[b.key for b in buckets], args=args
            )
        except REDIS_ERRORS as exc:
            self.fallbacks += 1
            self._warn(exc)
            return ALLOWED
        if allowed:
            return ALLOWED
        return Decision(False, int(wait_ms) / 1000, buckets[int(index) - 1].key)

    async def hold(self, bucket: Bucket, seconds: float) -> None:
        try:
            await self._hold(
                keys=[bucket.key],
                args=[seconds * 1000, bucket.interval * 1000, bucket.burst],
            )
        except REDIS_ERRORS as exc:
            self.fallbacks += 1
            self._warn(exc)


# KEYS[1]: the budget; ARGV: deposits, cap, trickle per ms, take (0 or 1).
# The balance and its last refill, as a hash; answers 1 when a token was taken.
BUDGET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local cap = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'balance', 'at')
local balance = tonumber(state[1]) or cap
local at = tonumber(state[2]) or now
balance = math.min(cap, balance + math.max(0, now - at) * tonumber(ARGV[3]))
balance = math.min(cap, balance + tonumber(ARGV[1]))
local taken = 0
if tonumber(ARGV[4]) == 1 and balance >= 1 - 1e-9 then
  balance = math.max(0, balance - 1)
  taken = 1
end
redis.call('HSET', KEYS[1], 'balance', string.format('%.6f', balance), 'at',
           string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], 3600000)
return taken
"""


class SharedRetryBudget:
    """One provider's retry budget for the whole fleet (the :class:`~adapters.
    transport.breaker.Budget` protocol), as :class:`RetryBudget` computes it.

    A first attempt's deposit is added here, without I/O, and carried to Redis
    with the next retry's ``take`` (or once a whole token is pending, in the
    background), so a call that is not retried costs no round trip. Redis down:
    the replica's own ``RetryBudget`` decides (counted in ``fallbacks``).
    """

    def __init__(
        self,
        client: redis.Redis,
        provider: str,
        *,
        ratio: float,
        minimum: int,
        window: float = 10.0,
    ) -> None:
        self.key = f"gw:budget:{provider}"
        self._script = client.register_script(BUDGET)
        self._ratio = ratio
        self._cap = max(float(minimum), 1.0)
        self._trickle_ms = minimum / window / 1000 if window > 0 else 0.0
        self._pending = 0.0
        self._flushing: set[asyncio.Task[object]] = set()
        self.local = RetryBudget(ratio=ratio, minimum=minimum, window=window)
        self._warn = _Warner(f"retry budget {provider}")
        self.fallbacks = 0

    def deposit(self) -> None:
        self.local.deposit()
        self._pending += self._ratio
        if self._pending >= 1.0 and not self._flushing:
            task: asyncio.Task[object] = asyncio.ensure_future(self._run(False))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def take(self) -> bool:
        taken = await self._run(True)
        if taken is None:
            return self.local.withdraw()
        return taken

    async def _run(self, take: bool) -> bool | None:
        pending, self._pending = self._pending, 0.0
        try:
            result = await self._script(
                keys=[self.key],
                args=[pending, self._cap, self._trickle_ms, 1 if take else 0],
            )
        except REDIS_ERRORS as exc:
            self.fallbacks += 1
            self._warn(exc)
            return None
        return bool(result)
