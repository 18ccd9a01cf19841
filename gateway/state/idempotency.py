"""Idempotency keys shared by every replica: ``RedisIdempotencyStore``.

One Redis key per (caller, idempotency key), hashed (:func:`gateway.state.redis.key`),
holding JSON: ``{"s": state, "fp": fingerprint, "o": owner, "r": result}``.

- **Claim**: a Lua script sets ``pending`` with this attempt's owner id and an
  expiry (``claim_ttl``, longer than a request may run) only when the key is
  absent or its last attempt failed: atomic, so of concurrent duplicates on any
  replicas exactly one runs. A replica that dies mid-call leaves a claim that
  expires; the next retry then runs, once.
- **Waiting**: the others poll the key (5 ms, growing to 100 ms) until it is
  ``done`` (they return its result, decoded by :mod:`gateway.state.codec`),
  ``failed`` by the attempt they waited for (they return its ``ProviderFailed``,
  or ``Unavailable`` when it raised), or gone (expired: they claim it again).
  Duplicates on the same replica wait on the running attempt's future, without
  Redis.
- **Done**: the result is kept for the retention (24 h); a failure is marked
  ``failed`` for ``FAILED_TTL`` seconds, for the waiters, and a retry runs again.
  Both writes happen only while this attempt still owns the key (or it is gone:
  Redis restarted); a result Redis did not take is written again, backing off,
  for as long as its claim would have lived.

Failure policy: **closed**. When Redis cannot be reached ``claim`` raises
``IdempotencyUnavailable``, and the keyed mutation answers ``Unavailable``
(``IDEMPOTENCY_UNAVAILABLE``) without calling the provider; mutations without a
key run as usual. ``outage.count`` counts the failed operations; ``unsaved``
counts results that ran but could not be written even later (Redis down longer
than ``claim_ttl``: a retry of that key after it comes back would run again).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from gateway.state.codec import Unencodable, dumps, loads
from gateway.state.redis import FAILURES, Outage, key, text
from schema.errors import ProviderFailed
from schema.idempotency import RETENTION, Entry, IdempotencyUnavailable

log = logging.getLogger("gateway.state")

NAMESPACE = "idem"
FAILED_TTL = 10.0
POLL_FIRST, POLL_MAX = 0.005, 0.1

# Claim when absent or failed; otherwise answer what is there.
CLAIM = """
local v = redis.call('GET', KEYS[1])
if v then
  local ok, d = pcall(cjson.decode, v)
  if ok and d['s'] ~= 'failed' then return v end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
# Write the outcome while ``owner`` (ARGV[1]) holds the key, or when the key is
# gone (Redis restarted without it): never over another attempt's claim.
SETTLE = """
local v = redis.call('GET', KEYS[1])
if v then
  local ok, d = pcall(cjson.decode, v)
  if not ok or d['o'] ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


class RedisIdempotencyStore:
    def __init__(
        self,
        redis: Redis,
        *,
        claim_ttl: float = 30.0,
        retention: float = RETENTION,
    ) -> None:
        self.redis = redis
        self.claim_ttl = claim_ttl
        self.retention = retention
        self.outage = Outage("idempotency", "keyed mutations are refused")
        self.unsaved = 0
        self._later: set[asyncio.Task[None]] = set()
        self._claim = redis.register_script(CLAIM)
        self._settle = redis.register_script(SETTLE)
        # Attempts running on this replica: key -> (entry, owner id).
        self._running: dict[str, tuple[Entry, str]] = {}

    async def claim(self, key: str, fingerprint: str) -> tuple[Entry, bool]:
        running = self._running.get(key)
        if running is not None:
            return running[0], False
        name = self.key(key)
        owner = uuid.uuid4().hex
        pending = json.dumps({"s": "pending", "fp": fingerprint, "o": owner})
        delay = POLL_FIRST
        try:
            while True:
                raw = text(
                    await self._claim(
                        keys=[name], args=[pending, int(self.claim_ttl * 1000)]
                    )
                )
                if raw is None:
                    entry = self._entry(fingerprint)
                    self._running[key] = (entry, owner)
                    self.outage.ok()
                    return entry, True
                # Someone else's attempt: wait while it is pending.
                found = json.loads(raw)
                waited = found.get("o")
                while found is not None and found.get("s") == "pending":
                    if found.get("fp") != fingerprint:
                        break
                    running = self._running.get(key)
                    if running is not None:  # claimed here meanwhile
                        return running[0], False
                    waited = found.get("o")
                    await asyncio.sleep(delay)
                    delay = min(delay * 1.5, POLL_MAX)
                    value = text(await self.redis.get(name))
                    found = json.loads(value) if value is not None else None
                self.outage.ok()
                if found is None:
                    continue  # expired (its replica died): claim it again
                if found.get("fp") != fingerprint:
                    return self._entry(str(found.get("fp"))), False
                if found.get("s") == "done":
                    return self._answered(fingerprint, found.get("r")), False
                if found.get("s") == "failed" and found.get("o") == waited:
                    return self._answered(fingerprint, found.get("r")), False
        except FAILURES as exc:
            self.outage.failed(exc)
            raise IdempotencyUnavailable(str(type(exc).__name__)) from exc

    async def keep(self, key: str, entry: Entry) -> None:
        _, owner = self._running.pop(key, (entry, ""))
        try:
            result = dumps(entry.result.result())
        except Unencodable:
            log.exception("idempotency: a result that cannot be shared")
            result = None
        value = {"s": "done", "fp": entry.fingerprint, "o": owner, "r": result}
        await self._write(key, owner, value, self.retention)

    async def forget(self, key: str, entry: Entry | None = None) -> None:
        running = self._running.pop(key, None)
        if running is None:
            return
        entry, owner = running
        failure = None
        if entry.result.done() and not entry.result.exception():
            result = entry.result.result()
            if isinstance(result, ProviderFailed):
                failure = dumps(result)
        value = {"s": "failed", "fp": entry.fingerprint, "o": owner, "r": failure}
        await self._write(key, owner, value, FAILED_TTL)

    async def _write(
        self, key: str, owner: str, value: dict[str, Any], ttl: float
    ) -> None:
        args: list[str | int] = [owner, json.dumps(value), int(ttl * 1000)]
        try:
            await self._settle(keys=[self.key(key)], args=args)
        except FAILURES as exc:
            self.outage.failed(exc)
            if value["s"] == "done":  # a result must not be lost: write it later
                task = asyncio.create_task(self._write_later(self.key(key), args))
                self._later.add(task)
                task.add_done_callback(self._later.discard)

    async def _write_later(self, name: str, args: list[str | int]) -> None:
        """Retry writing a result while its claim would live: a Redis that
        comes back (even empty) then holds it, and no retry runs it again."""
        deadline = time.monotonic() + self.claim_ttl
        delay = 0.1
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            try:
                await self._settle(keys=[name], args=args)
            except FAILURES:
                continue
            self.outage.ok()
            return
        self.unsaved += 1
        log.error("idempotency: a result could not be written to Redis")

    def _entry(self, fingerprint: str) -> Entry:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return Entry(fingerprint, time.monotonic() + self.retention, future)

    def _answered(self, fingerprint: str, result: Any) -> Entry:
        """An entry already holding the result another replica stored."""
        entry = self._entry(fingerprint)
        if isinstance(result, str):
            entry.result.set_result(loads(result))
        else:  # it raised, or its result could not be shared
            entry.result.set_exception(IdempotencyUnavailable("no shared result"))
        return entry

    @staticmethod
    def key(key: str) -> str:
        return _name(key)


def _name(scoped: str) -> str:
    return key(NAMESPACE, scoped)
