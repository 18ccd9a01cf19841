"""The connectFi login through GraphQL: one token for a burst of queries, renewed
without the caller noticing when connectFi stops taking it."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.connectfi import sandbox as connectfi
from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from gateway.settings import Settings
from tests.conftest import Gateway, serve

LOGIN = "/auth/get-token"
LIST = "/akepa/list"

QUERY = """
query Customer($filter: ApplicationFilter) {
  applications(filter: $filter, first: 10) {
    edges { node { providerId state } }
  }
}"""
FILTER = {"filter": {"customerId": SEED_CUSTOMER_ID}}
SEED_APPLICATIONS = ["iapp_1BGgJeDQJFo5MCup15zq9A", "iapp_ASiuCX9tz9FGwlyiNHba2"]


@pytest.fixture
def settings() -> Settings:
    # Every query sends its own list call, so that a burst really meets the login
    # (identical reads in flight together would otherwise share one call).
    return Settings(coalesce_reads=False)


async def burst(gateway: Gateway, n: int) -> None:
    """``n`` concurrent queries, each answered in full with no error."""
    answers = await asyncio.gather(*(gateway.data(QUERY, FILTER) for _ in range(n)))
    for data in answers:
        edges = data["applications"]["edges"]
        assert [e["node"]["providerId"] for e in edges] == SEED_APPLICATIONS


def paths(gateway: Gateway) -> list[str]:
    return [r.path for r in gateway.connectfi.control.requests]


async def test_a_hundred_concurrent_queries_log_in_once(gateway: Gateway) -> None:
    gateway.connectfi.control.latency = 0.01  # so the queries really overlap

    await burst(gateway, 100)

    assert gateway.connectfi.control.calls("POST", LOGIN) == 1
    assert gateway.connectfi.control.calls("POST", LIST) == 100
    assert paths(gateway)[0] == LOGIN
    tokens = {
        r.headers["x-connectfi-token"]
        for r in gateway.connectfi.control.matching("POST", LIST)
    }
    assert len(tokens) == 1
    assert tokens <= set(gateway.connectfi.store.tokens)


async def test_a_revoked_token_is_renewed_once_for_a_whole_burst(
    gateway: Gateway,
) -> None:
    await burst(gateway, 100)
    gateway.connectfi.store.revoke_tokens()
    gateway.forget_requests()
    gateway.connectfi.control.latency = 0.01

    await burst(gateway, 100)  # every answer complete: nobody noticed

    logins = gateway.connectfi.control.matching("POST", LOGIN)
    assert len(logins) == 1
    lists = gateway.connectfi.control.matching("POST", LIST)
    # The calls that met the revoked token were refused (401) and retried once
    # with the new one; the rest went out with the new token straight away.
    new = {r.headers["x-connectfi-token"] for r in lists if r.started > logins[0].ended}
    assert len(new) == 1 and new <= set(gateway.connectfi.store.tokens)
    refused = [r for r in lists if r.headers["x-connectfi-token"] not in new]
    assert 1 <= len(refused) <= 100
    assert len(lists) == 100 + len(refused)


async def test_a_token_past_its_lifetime_is_renewed_on_the_providers_refusal() -> None:
    now = [time.time()]
    sandbox = connectfi.create_app(token_ttl=600, clock=lambda: now[0])
    async with serve(connectfi=sandbox) as gateway:
        await gateway.data(QUERY, FILTER)
        now[0] += 601  # connectFi's clock passes the token's expiry, ours not

        data = await gateway.data(QUERY, FILTER)

        assert len(data["applications"]["edges"]) == 2
        assert paths(gateway) == [LOGIN, LIST, LIST, LOGIN, LIST]
        first, stale, renewed = gateway.connectfi.control.matching("POST", LIST)
        token = first.headers["x-connectfi-token"]
        assert stale.headers["x-connectfi-token"] == token
        assert renewed.headers["x-connectfi-token"] != token


async def test_a_token_is_renewed_before_its_announced_expiry() -> None:
    # connectFi's clock runs an hour and a half behind: the token it gives is
    # still good by its clock, but its dtsExpireAt has passed by ours, so the
    # gateway logs in again before the next call instead of meeting a 401.
    behind = 5400.0
    sandbox = connectfi.create_app(token_ttl=3600, clock=lambda: time.time() - behind)
    async with serve(connectfi=sandbox) as gateway:
        await gateway.data(QUERY, FILTER)
        await gateway.data(QUERY, FILTER)

        assert paths(gateway) == [LOGIN, LIST, LOGIN, LIST]
