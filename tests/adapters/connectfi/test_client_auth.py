"""The connectFi token: one login, kept until dtsExpireAt, renewed on a 401."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.sandbox import (
    JOURNEY_CUSTOMER_ID,
    SEED_CUSTOMER_ID,
    create_app,
)
from adapters.errors import ProviderAuthFailed
from adapters.model import Provider
from adapters.sandbox_kit import Controlled, Fault

from .support import BASE_URL, FakeClock, logins, paths


async def test_the_token_is_kept_until_the_margin_before_expiry(
    client: ConnectFiClient, app: Controlled, clock: FakeClock
) -> None:
    await client.list_applications(SEED_CUSTOMER_ID)
    clock.advance(3600 - 60 - 1)  # the sandbox's one hour, less the 60 s margin
    await client.list_applications(SEED_CUSTOMER_ID)
    assert logins(app) == 1
    clock.advance(1)
    await client.list_applications(SEED_CUSTOMER_ID)
    assert logins(app) == 2
    # Renewed before it expired: no call was refused.
    assert paths(app) == [
        "/auth/get-token",
        "/akepa/list",
        "/akepa/list",
        "/auth/get-token",
        "/akepa/list",
    ]
    tokens = [
        r.headers["x-connectfi-token"] for r in app.control.matching(path="/akepa/list")
    ]
    assert tokens[0] == tokens[1] != tokens[2]


async def test_an_expired_token_is_renewed_transparently(
    app: Controlled, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    # No margin: the client uses the token up to the last instant, and the
    # sandbox (on the same clock) refuses it one second later.
    client = ConnectFiClient(
        http, login="sandbox", password="sandbox", clock=clock, expiry_margin=0
    )
    await client.list_applications(SEED_CUSTOMER_ID)
    clock.advance(3600)
    page = await client.list_applications(SEED_CUSTOMER_ID)
    assert len(page.items) == 2
    assert logins(app) == 2


async def test_a_401_mid_life_causes_one_login_and_one_retry(
    client: ConnectFiClient, app: Controlled
) -> None:
    await client.list_applications(SEED_CUSTOMER_ID)
    app.store.revoke_tokens()
    page = await client.list_applications(SEED_CUSTOMER_ID)
    assert len(page.items) == 2
    assert paths(app) == [
        "/auth/get-token",
        "/akepa/list",
        "/akepa/list",  # refused: 401
        "/auth/get-token",
        "/akepa/list",  # retried with the new token
    ]
    first, refused, retried = app.control.matching(path="/akepa/list")
    assert first.headers["x-connectfi-token"] == refused.headers["x-connectfi-token"]
    assert retried.headers["x-connectfi-token"] in app.store.tokens
    assert json.loads(refused.body) == json.loads(retried.body)


async def test_many_calls_refused_at_once_share_one_renewal(
    client: ConnectFiClient, app: Controlled
) -> None:
    await client.list_applications(SEED_CUSTOMER_ID)
    app.store.revoke_tokens()
    app.control.latency = 0.001
    await asyncio.gather(
        *(client.list_applications(JOURNEY_CUSTOMER_ID) for _ in range(30))
    )
    assert logins(app) == 2


async def test_a_token_refused_even_when_fresh_is_an_auth_failure(
    client: ConnectFiClient, app: Controlled
) -> None:
    body = b'{"requestId": "0123456789abcdef0123456789abcdef", "code": "unauthorized"}'
    app.control.inject("^/akepa/list$", Fault(status=401, body=body))
    with pytest.raises(ProviderAuthFailed) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    assert caught.value.provider is Provider.CONNECTFI
    assert caught.value.provider_code == "unauthorized"
    assert caught.value.request_id == "0123456789abcdef0123456789abcdef"
    assert paths(app) == [
        "/auth/get-token",
        "/akepa/list",
        "/auth/get-token",
        "/akepa/list",
    ]


async def test_wrong_credentials_are_an_auth_failure_without_the_password(
    app: Controlled, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    client = ConnectFiClient(http, login="sandbox", password="hunter2", clock=clock)
    with pytest.raises(ProviderAuthFailed) as caught:
        await client.list_applications(SEED_CUSTOMER_ID)
    error = caught.value
    assert error.provider_code == "unauthorized"
    assert error.request_id is not None
    assert "hunter2" not in str(error)
    assert "connectfi.test" not in str(error)
    assert paths(app) == ["/auth/get-token"]


async def test_the_client_works_under_another_base_url_and_ttl(
    clock: FakeClock,
) -> None:

    app = create_app(token_ttl=30, clock=clock, login="bank_1", password="s3cret!")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        client = ConnectFiClient(http, login="bank_1", password="s3cret!", clock=clock)
        await client.list_applications(SEED_CUSTOMER_ID)
        clock.advance(14)  # the margin is at most half a short lifetime
        await client.list_applications(SEED_CUSTOMER_ID)
        assert logins(app) == 1
        clock.advance(1)
        await client.list_applications(SEED_CUSTOMER_ID)
        assert logins(app) == 2
