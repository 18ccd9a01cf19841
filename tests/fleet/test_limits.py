"""Rate limits, provider quotas and retry budgets on a real Redis, in process.

Two ``RedisLimiter``/``SharedRetryBudget`` objects on one Redis stand for two
replicas; the gateway is the real app over its sandboxes (``tests.conftest.serve``).
Counts, never timings: the refill rates are so slow that nothing refills while a
test runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import string

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from adapters.model import Provider
from adapters.sandbox_kit import Fault
from adapters.transport.ratelimit import (
    Bucket,
    MemoryLimiter,
    OutboundLimit,
    RateLimitedTransport,
)
from gateway.caller_limits import CallerLimits
from gateway.redis_limits import (
    RedisLimiter,
    SharedRetryBudget,
    bucket_key,
    redis_client,
)
from gateway.settings import Settings
from schema.context import Caller
from tests.conftest import serve
from tests.redis_server import RedisServer

SLOW = 0.001  # units per second: none come back during a test
PROVIDERS = "{ providers { name } }"
PAGE = "query Page($first: Int) { applications(first: $first) { totalCount } }"


def request_from(host: str, caller: Caller | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [],
        "client": (host, 1234),
        "state": {"caller": caller} if caller is not None else {},
    }
    return Request(scope)


async def test_redis_buckets_charge_all_or_nothing_and_say_when(
    redis_url: str,
) -> None:
    client = redis_client(redis_url)
    try:
        one, two = RedisLimiter(client), RedisLimiter(client)  # two replicas
        requests = Bucket("gw:rl:req:t", SLOW, 3)
        costly = Bucket("gw:rl:cost:t", SLOW, 100, cost=60)
        assert (await one.acquire([requests, costly])).allowed
        refused = await two.acquire([requests, costly])  # 120 > 100
        assert not refused.allowed
        assert refused.refused_by == "gw:rl:cost:t"
        assert refused.retry_after > 1000  # 20 units at one per 1000 s
        # The refusal charged nothing: two requests are still left of three.
        assert (await two.acquire([requests])).allowed
        assert (await one.acquire([requests])).allowed
        third = await two.acquire([requests])
        assert not third.allowed and third.refused_by == "gw:rl:req:t"
        assert one.fallbacks == two.fallbacks == 0
    finally:
        await client.aclose()


async def test_the_cost_limit_charges_each_operation_its_estimated_cost(
    redis_url: str,
) -> None:
    settings = Settings(
        redis_url=redis_url, rate_limit_cost=SLOW, rate_limit_cost_burst=25
    )
    async with serve(settings) as gateway:
        limits: CallerLimits = gateway.client._transport.app.state.caller_limits  # type: ignore[attr-defined]
        assert limits.cost(PAGE, "Page") == 101  # a page size in a variable: 100
        assert limits.cost(PAGE, "Page", {"first": 3}) == 4
        big = "{ applications(first: 20) { edges { node { id name } } } }"
        # applications, then edges, node, id, name for each of 20.
        assert limits.cost(big, None) == 1 + 20 * 4
        ok = await gateway.client.post(
            "/graphql", json={"query": PAGE, "variables": {"first": 1}}
        )
        assert ok.status_code == 200 and "errors" not in ok.json()
        refused = await gateway.client.post("/graphql", json={"query": big})
        assert refused.status_code == 429
        (error,) = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == "cost"
        assert limits.refused == {"requests": 0, "cost": 1}


async def test_limits_fail_open_with_a_warning_and_a_count_when_redis_dies(
    redis_server: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        redis_url=redis_url, rate_limit_requests=SLOW, rate_limit_burst=2
    )
    async with serve(settings) as gateway:
        app = gateway.client._transport.app  # type: ignore[attr-defined]
        statuses = [
            (
                await gateway.client.post("/graphql", json={"query": PROVIDERS})
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="gateway.fleet"):
            for _ in range(3):
                answer = await gateway.client.post(
                    "/graphql", json={"query": PROVIDERS}
                )
                assert answer.status_code == 200
                assert answer.json()["data"]["providers"]
        assert app.state.fleet_limits.limiter.fallbacks == 3
        warnings = [r for r in caplog.records if "failing open" in r.getMessage()]
        assert len(warnings) == 1  # one warning, not one per request


async def test_outbound_quota_is_shared_by_replicas_and_counted_at_the_provider(
    redis_url: str,
) -> None:
    settings = Settings(
        redis_url=redis_url,
        apiture_rate_limit=SLOW,
        provider_rate_burst=3,
        provider_rate_max_wait=0,
    )
    async with serve(settings) as one, serve(settings) as two:
        for i in range(6):
            gateway = (one, two)[i % 2]
            body = await gateway.execute(PAGE, {"first": i + 1})
            if i < 3:
                assert "errors" not in body, body
        apiture_calls = sum(
            g.sandboxes[Provider.APITURE].control.calls("GET") for g in (one, two)
        )
        assert apiture_calls == 3  # the fleet's quota, not 3 per replica
        refused = [
            g.client._transport.app.state.fleet_limits.outbound["apiture"].refused  # type: ignore[attr-defined]
            for g in (one, two)
        ]
        assert sum(refused) == 3
        errors = body["errors"]
        assert {e["extensions"]["code"] for e in errors} == {"RATE_LIMITED"}
        assert {e["extensions"].get("provider") for e in errors} == {"APITURE"}
        # Only Apiture's part failed: the answer is partial, not refused.
        assert body["data"] is not None


async def test_a_provider_429_with_retry_after_holds_every_replica(
    redis_url: str,
) -> None:
    client = redis_client(redis_url)
    calls: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "30"})
        return httpx.Response(200, json={})

    limit = OutboundLimit("gw:rl:provider:test", rate=100.0, burst=100, max_wait=1.0)
    replicas = [
        RateLimitedTransport(
            httpx.MockTransport(provider), limit=limit, limiter=RedisLimiter(client)
        )
        for _ in range(2)
    ]
    try:
        first = await replicas[0].handle_async_request(
            httpx.Request("GET", "http://p/a")
        )
        assert first.status_code == 429
        for replica in replicas:
            held = await replica.handle_async_request(
                httpx.Request("GET", "http://p/b")
            )
            assert held.status_code == 429
            assert 29 <= int(held.headers["retry-after"]) <= 30
        assert calls == ["/a"]  # nothing more reached the provider
        assert replicas[0].held == 1
        assert [r.refused for r in replicas] == [1, 1]
    finally:
        await client.aclose()


async def test_an_outbound_call_waits_its_turn_when_it_is_near() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    sent: list[float] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sent.append(now[0])
        return httpx.Response(200)

    transport = RateLimitedTransport(
        httpx.MockTransport(provider),
        limit=OutboundLimit("p", rate=2.0, burst=2, max_wait=1.0),
        limiter=MemoryLimiter(clock=lambda: now[0]),
        clock=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(6):
        answer = await transport.handle_async_request(httpx.Request("GET", "http://p/"))
        assert answer.status_code == 200
    # Two at once, then one every half second: never more than the quota.
    assert sent == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0]
    assert transport.waited == 4 and transport.refused == 0


async def test_the_retry_budget_is_one_for_the_fleet(
    redis_server: RedisServer, redis_url: str
) -> None:
    client = redis_client(redis_url)
    try:
        one, two = (
            SharedRetryBudget(client, "apiture", ratio=0.0, minimum=3, window=1e9)
            for _ in range(2)
        )
        taken = [await (one, two)[i % 2].take() for i in range(6)]
        assert taken == [True, True, True, False, False, False]
        # Deposits of first attempts (a tenth each) come back to the fleet.
        three = SharedRetryBudget(client, "apiture", ratio=0.5, minimum=3, window=1e9)
        three.deposit()
        three.deposit()
        assert await three.take() is True
        assert await one.take() is False
        redis_server.stop()
        # Redis gone: each replica's own budget decides, counted.
        assert await one.take() is True
        assert one.fallbacks == 1
    finally:
        await client.aclose()


subjects = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=200
)


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(a=subjects, b=subjects, host=st.ip_addresses().map(str))
def test_any_subject_or_address_makes_one_short_key_of_its_own(
    redis_url: str, a: str, b: str, host: str
) -> None:
    keys = {bucket_key("req", "sub:" + s) for s in (a, b)}
    assert len(keys) == (1 if a == b else 2)
    for key in keys | {bucket_key("req", "ip:" + host)}:
        assert re.fullmatch(r"gw:rl:req:[0-9a-f]{32}", key)
        assert set(key) <= set(string.printable)

    async def run() -> None:
        client = redis_client(redis_url)
        try:
            limits = CallerLimits(
                RedisLimiter(client), requests_per_second=SLOW, request_burst=1
            )
            caller_a = request_from(host, Caller(subject=a or "a", roles=frozenset()))
            caller_b = request_from(host, Caller(subject=b + "~", roles=frozenset()))
            anonymous = request_from(host)
            await client.flushall()
            assert await limits.check(caller_a, PROVIDERS, None) is None
            assert await limits.check(caller_a, PROVIDERS, None) is not None
            # Another subject, and an anonymous caller at the same address,
            # have buckets of their own.
            assert await limits.check(caller_b, PROVIDERS, None) is None
            assert await limits.check(anonymous, PROVIDERS, None) is None
            assert await limits.check(anonymous, PROVIDERS, None) is not None
            assert limits.refused == {"requests": 2, "cost": 0}
        finally:
            await client.aclose()

    asyncio.run(run())


def test_a_text_that_does_not_parse_or_names_no_operation_costs_one() -> None:
    limits = CallerLimits(MemoryLimiter(), cost_per_second=SLOW, cost_burst=10)
    assert limits.cost("{ applications(first: ", None) == 1
    assert limits.cost(PAGE, "NotThere") == 1
    assert limits.cost(PAGE, "Page", {"first": 7}) == 8
    assert limits.cost(PAGE, "Page", {"first": 10_000}) == 101  # at most a page


async def test_a_sandbox_429_holds_the_provider_through_the_whole_stack(
    redis_url: str,
) -> None:
    settings = Settings(redis_url=redis_url, apiture_rate_limit=100.0)
    async with serve(settings) as one, serve(settings) as two:
        apiture = one.sandboxes[Provider.APITURE].control
        apiture.inject(r".*", Fault(status=429, retry_after="30", times=1))
        first = await one.execute(PAGE, {"first": 1})
        assert {e["extensions"]["code"] for e in first["errors"]} == {"RATE_LIMITED"}
        assert apiture.calls() == 1  # 30 s is past the deadline: not retried
        for gateway in (one, two):
            held = await gateway.execute(PAGE, {"first": 2})
            assert {e["extensions"]["code"] for e in held["errors"]} == {"RATE_LIMITED"}
        # Neither replica called Apiture again while it asked to wait.
        assert apiture.calls() == 1
        assert two.sandboxes[Provider.APITURE].control.calls() == 0
