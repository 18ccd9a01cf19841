"""The real Redis the fleet tests use answers, and survives a kill and restart."""

from __future__ import annotations

import redis.asyncio as redis

from tests.redis_server import RedisServer


async def test_a_real_redis_answers_and_can_be_killed(
    redis_server: RedisServer, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert await client.set("k", "v", nx=True)
        assert not await client.set("k", "w", nx=True)
        assert await client.get("k") == b"v"
        redis_server.stop()
        redis_server.start()
    finally:
        await client.aclose()
    client = redis.Redis.from_url(redis_url)
    try:
        # Not persisted: a killed Redis comes back empty.
        assert await client.get("k") is None
    finally:
        await client.aclose()
