"""A caller's rate limit across two gateway processes sharing one Redis.

Two real uvicorn processes (``gateway serve``), the caller's requests spread over
both: the fleet allows the burst once, not once per replica. Then Redis is
killed: the limit fails open (requests pass) and each replica logs a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from gateway.redis_limits import bucket_key
from tests.fleet.processes import Replica, replicas
from tests.redis_server import RedisServer

BURST = 5
QUERY = {"query": "{ providers { name } }"}


@pytest.fixture
def two_replicas(redis_url: str) -> Iterator[list[Replica]]:
    env = {
        "GATEWAY_REDIS_URL": redis_url,
        # One request per 1000 s: nothing refills during the test.
        "GATEWAY_RATE_LIMIT_REQUESTS": "0.001",
        "GATEWAY_RATE_LIMIT_BURST": str(BURST),
    }
    started = replicas(2, env)
    try:
        yield started
    finally:
        for replica in started:
            replica.stop()


def test_a_rate_limit_holds_across_two_replicas_and_fails_open_without_redis(
    two_replicas: list[Replica], redis_server: RedisServer, redis_url: str
) -> None:
    answers = [
        httpx.post(two_replicas[i % 2].url + "/graphql", json=QUERY, timeout=10)
        for i in range(12)
    ]
    allowed = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(allowed) == BURST, [a.status_code for a in answers]
    assert len(refused) == 12 - BURST
    # Both replicas served some of the allowed ones: the count is the fleet's.
    assert {a.url.port for a in allowed} == {r.port for r in two_replicas}
    for answer in allowed:
        assert answer.json()["data"]["providers"]
    for answer in refused:
        assert int(answer.headers["retry-after"]) >= 1
        (error,) = answer.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == "requests"
        assert error["extensions"]["retryAfter"] == int(answer.headers["retry-after"])
    # One bucket in Redis for this caller (anonymous: its address), not one
    # per replica.
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists(bucket_key("req", "ip:127.0.0.1"))
        assert len(client.keys("gw:rl:req:*")) == 1
    finally:
        client.close()

    redis_server.stop()
    after = [
        httpx.post(two_replicas[i % 2].url + "/graphql", json=QUERY, timeout=10)
        for i in range(4)
    ]
    assert [a.status_code for a in after] == [200] * 4
    assert all(a.json()["data"]["providers"] for a in after)
    for replica in two_replicas:
        assert "rate limits: Redis failed" in replica.log()
        assert "failing open" in replica.log()
