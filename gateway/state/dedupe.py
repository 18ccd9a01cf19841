"""Webhook de-duplication shared by every replica: ``RedisDedupe``.

``claim`` is ``SET key 1 NX EX ttl`` (key hashed from the delivery's id),
``release`` is ``DEL``: a delivery retried to another replica is published once.

Failure policy: **open, local**. When Redis cannot be reached the replica's own
:class:`InMemoryDedupe` decides (``outage.count`` counts those): a retry that
reaches another replica during the outage may publish its change twice, which a
subscriber sees as the same state twice (a change is a notification: the record
is read again), never as a lost one.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.state.redis import FAILURES, Outage, key
from gateway.webhooks.dedupe import InMemoryDedupe

NAMESPACE = "webhook"


class RedisDedupe:
    def __init__(self, redis: Redis, fallback: InMemoryDedupe) -> None:
        self.redis = redis
        self.fallback = fallback
        self.outage = Outage("webhook de-duplication", "each replica de-duplicates")

    async def claim(self, key_: str) -> bool:
        try:
            claimed = await self.redis.set(
                key(NAMESPACE, key_), b"1", nx=True, px=int(self.fallback.ttl * 1000)
            )
        except FAILURES as exc:
            self.outage.failed(exc)
            return await self.fallback.claim(key_)
        self.outage.ok()
        return bool(claimed)

    async def release(self, key_: str) -> None:
        try:
            await self.redis.delete(key(NAMESPACE, key_))
        except FAILURES as exc:
            self.outage.failed(exc)
        await self.fallback.release(key_)
