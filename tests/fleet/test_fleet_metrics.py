"""The fleet's counters in ``/metrics``: callers refused by a rate limit, the
providers' quotas, and each concern's Redis fallbacks while Redis is down,
read at scrape time and parsed with prometheus_client's parser. Counts only:
the refill rates are so slow that nothing refills while a test runs."""

from __future__ import annotations

import uuid

from gateway.operations import sha256
from gateway.settings import Settings
from tests.conftest import serve
from tests.observability.scrape import Scrape, scrape
from tests.redis_server import RedisServer
from tests.schema.apiture_helpers import app_id
from tests.schema.test_idempotency import APPROVE

SLOW = 0.001  # units per second: none come back during a test
PROVIDERS = "{ providers { name } }"
BIG = "{ applications(first: 20) { edges { node { id name } } } }"  # cost 81
PAGE = "{ applications(first: 1) { totalCount } }"  # cost 2, one Apiture call
CONCERNS = {
    "rate_limits",
    "retry_budget",
    "idempotency",
    "idempotency_unsaved",
    "persisted_queries",
    "event_bus",
    "webhook_dedupe",
    "document_owners",
}


def by(found: Scrape, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in found.samples if s.name == name}


async def test_refused_callers_and_provider_quotas_are_counted_by_kind(
    redis_url: str,
) -> None:
    settings = Settings(
        redis_url=redis_url,
        rate_limit_requests=SLOW,
        rate_limit_burst=2,
        rate_limit_cost=SLOW,
        rate_limit_cost_burst=10,
        apiture_rate_limit=SLOW,
        provider_rate_burst=1,
        provider_rate_max_wait=0,
    )
    async with serve(settings) as gateway:
        before = await scrape(gateway.client)
        assert by(before, "gateway_rate_limited_total", "limit") == {
            "requests": 0,
            "cost": 0,
        }
        answers = [
            await gateway.client.post("/graphql", json={"query": query})
            for query in (PAGE, BIG, PAGE, PROVIDERS)
        ]
        # PAGE; BIG over the cost left (nothing charged); PAGE past Apiture's
        # quota (refused locally: a partial answer); a third request.
        assert [a.status_code for a in answers] == [200, 429, 200, 429]
        assert [e["extensions"]["limit"] for e in answers[1].json()["errors"]] == [
            "cost"
        ]
        assert [e["extensions"]["limit"] for e in answers[3].json()["errors"]] == [
            "requests"
        ]
        codes = {e["extensions"]["code"] for e in answers[2].json()["errors"]}
        assert codes == {"RATE_LIMITED"}
        found = await scrape(gateway.client)
    assert by(found, "gateway_rate_limited_total", "limit") == {
        "requests": 1,
        "cost": 1,
    }
    quota = {
        (s.labels["provider"], s.labels["outcome"]): s.value
        for s in found.samples
        if s.name == "gateway_provider_quota_total"
    }
    assert quota == {
        ("apiture", "waited"): 0,
        ("apiture", "refused"): 1,
        ("apiture", "held"): 0,
    }
    assert found.value("gateway_graphql_errors_total", code="RATE_LIMITED") == 3
    # Redis answered every time: no fallback, every store up.
    assert set(by(found, "gateway_redis_fallbacks_total", "concern").values()) == {0}
    assert set(by(found, "gateway_redis_up", "concern").values()) == {1}


async def test_with_redis_killed_each_concern_counts_its_fallbacks(
    redis_server: RedisServer, redis_url: str
) -> None:
    settings = Settings(redis_url=redis_url, rate_limit_requests=100.0)
    async with serve(settings) as gateway:
        up = await scrape(gateway.client)
        assert by(up, "gateway_redis_fallbacks_total", "concern") == dict.fromkeys(
            CONCERNS, 0
        )
        assert set(by(up, "gateway_redis_up", "concern")) == CONCERNS - {
            "rate_limits",
            "retry_budget",
            "idempotency_unsaved",
        }
        query = "query Fleet { __typename }"
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
        key = gateway.apiture.store.ids_in_state("running")[0]
        redis_server.stop()
        try:
            # APQ: the lookup and the registration fail open.
            unknown = await gateway.client.post(
                "/graphql", json={"extensions": extensions}
            )
            assert unknown.json()["errors"][0]["extensions"]["code"] == (
                "PERSISTED_QUERY_NOT_FOUND"
            )
            registered = await gateway.client.post(
                "/graphql", json={"query": query, "extensions": extensions}
            )
            assert registered.json() == {"data": {"__typename": "Query"}}
            # Idempotency: closed, a typed answer and no approval.
            variables = {"id": app_id(key), "key": str(uuid.uuid4())}
            approval = await gateway.data(APPROVE, variables)
            assert approval["approveApplication"]["__typename"] == "Unavailable"
            down = await scrape(gateway.client)
        finally:
            redis_server.start()
    counted = by(down, "gateway_redis_fallbacks_total", "concern")
    assert set(counted) == CONCERNS
    # The event bus's subscriber notices on its own schedule: present, not pinned.
    del counted["event_bus"]
    assert counted == {
        "rate_limits": 2,  # the two requests that reached the limit (not the
        # hash-only one, refused as not found first)
        "persisted_queries": 2,
        "idempotency": 1,
        "idempotency_unsaved": 0,
        "retry_budget": 0,
        "webhook_dedupe": 0,
        "document_owners": 0,
    }
    state = by(down, "gateway_redis_up", "concern")
    assert state["persisted_queries"] == 0 and state["idempotency"] == 0
    assert state["webhook_dedupe"] == 1 and state["document_owners"] == 1
    assert down.value("gateway_rate_limited_total") == 0  # failed open


async def test_without_redis_the_families_are_there_and_empty() -> None:
    async with serve(Settings()) as gateway:
        found = await scrape(gateway.client)
    assert by(found, "gateway_rate_limited_total", "limit") == {
        "requests": 0,
        "cost": 0,
    }
    for name in (
        "gateway_redis_fallbacks_total",
        "gateway_redis_up",
        "gateway_provider_quota_total",
    ):
        assert not [s for s in found.samples if s.name == name], name
