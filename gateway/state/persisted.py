"""Registered persisted queries shared by every replica: ``RedisQueries``.

Each registered text under ``gw:apq:<hash of the digest>`` for ``ttl`` seconds
(renewed by each registration); a replica checks that the text hashes to the
digest asked before serving it.

Failure policy: **open**. When Redis cannot be reached a lookup answers None
(the replica's own registry still serves, otherwise the client is asked for the
text once) and a registration stays local; ``outage.count`` counts them, and a
warning is logged when Redis fails and when it is back.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.state.redis import FAILURES, Outage, key, text

NAMESPACE = "apq"


class RedisQueries:
    def __init__(self, redis: Redis, *, ttl: float = 7 * 24 * 3600.0) -> None:
        self.redis = redis
        self.ttl = ttl
        self.outage = Outage("persisted queries", "each replica serves its own")

    async def get(self, digest: str) -> str | None:
        try:
            found = text(await self.redis.get(key(NAMESPACE, digest)))
        except FAILURES as exc:
            self.outage.failed(exc)
            return None
        self.outage.ok()
        return found

    async def put(self, digest: str, query: str) -> None:
        try:
            await self.redis.set(key(NAMESPACE, digest), query, px=int(self.ttl * 1000))
        except FAILURES as exc:
            self.outage.failed(exc)
            return
        self.outage.ok()
