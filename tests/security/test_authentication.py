"""Bearer JWTs: verified, or refused with UNAUTHENTICATED before anything runs."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest

from gateway.app import create_app
from gateway.auth import AuthNotConfigured
from gateway.settings import Settings
from tests.conftest import Gateway, serve
from tests.security.tokens import SECRET, bearer, secured_settings, token

QUERY = "{ applications(first: 1) { edges { node { id } } } }"


@pytest.fixture
async def secured() -> AsyncIterator[Gateway]:
    async with serve(secured_settings()) as gateway:
        yield gateway


def unsigned() -> str:
    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    claims = json.loads(base64.urlsafe_b64decode(token().split(".")[1] + "==").decode())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_a_valid_token_is_let_through(secured: Gateway) -> None:
    response = await secured.client.post(
        "/graphql", json={"query": QUERY}, headers=bearer(token())
    )
    assert response.status_code == 200
    assert "errors" not in response.json()


@pytest.mark.parametrize(
    "name",
    ["missing", "forged", "expired", "wrong audience", "wrong issuer", "unsigned"],
)
async def test_a_bad_token_is_unauthenticated(secured: Gateway, name: str) -> None:
    headers = {
        "missing": {},
        "forged": bearer(token(key="someone-elses-secret-0123456789abcdef")),
        "expired": bearer(token(expires_in=-120)),
        "wrong audience": bearer(token(audience="another-api")),
        "wrong issuer": bearer(token(issuer="https://evil.test")),
        "unsigned": bearer(unsigned()),
    }[name]
    response = await secured.client.post(
        "/graphql", json={"query": QUERY}, headers=headers
    )
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert SECRET not in response.text
    assert secured.upstream_calls() == 0


async def test_a_little_clock_skew_is_tolerated(secured: Gateway) -> None:
    response = await secured.client.post(
        "/graphql", json={"query": QUERY}, headers=bearer(token(expires_in=-5))
    )
    assert response.status_code == 200


def test_a_real_provider_without_authentication_refuses_to_start() -> None:
    with pytest.raises(AuthNotConfigured):
        create_app(Settings(apiture_url="https://apiture.bank.example/api"))


def test_a_real_provider_with_authentication_starts() -> None:
    create_app(secured_settings(apiture_url="https://apiture.bank.example/api"))


async def test_running_open_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    create_app(Settings())
    assert "AUTHENTICATION IS OFF" in caplog.text
