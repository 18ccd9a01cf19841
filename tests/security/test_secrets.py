"""Configured secrets never reach a client, a repr or a log line."""

from __future__ import annotations

import logging

import pytest

from adapters.sandbox_kit import Fault
from gateway.app import authenticator_for
from tests.conftest import serve
from tests.security.tokens import AUDIENCE, ISSUER, bearer, token

SECRETS = {
    "apiture_api_key": "SECRET-apiture-key-5f1c",
    "apiture_access_token": "SECRET-apiture-token-77aa",
    "connectfi_password": "SECRET-connectfi-pass-0b3e",
    "auco_private_key": "prk_SECRET-auco-private-9d2",
    "auco_public_key": "puk_SECRET-auco-public-4e8",
    "mambu_password": "SECRET-mambu-pass-c61f",
    "auth_jwt_secret": "SECRET-jwt-signing-key-0123456789abcdef",
}


def settings():  # type: ignore[no-untyped-def]
    from gateway.settings import Settings

    return Settings(
        **SECRETS,
        connectfi_login="gateway",
        mambu_username="gateway",
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
    )


def assert_clean(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked"


def test_settings_and_the_authenticator_never_show_a_secret() -> None:
    configured = settings()
    assert_clean(repr(configured))
    assert_clean(str(configured.model_dump()))
    assert_clean(repr(authenticator_for(configured)))


QUERIES = [
    "{ applications(first: 5) { edges { node { id documents { id } } } } }",
    '{ application(id: "bm8tc3VjaC1pZA") { id } }',
    "{ providers { name lastError } }",
    'mutation { approveApplication(id: "x") { __typename } }',
]


async def test_no_secret_in_any_response_or_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = bearer(token(key=SECRETS["auth_jwt_secret"]))
    bad = bearer(token(key="a-forged-key-0123456789abcdef0123"))
    async with serve(settings()) as gateway:
        texts = []
        for headers in (good, bad, {}):
            for query in QUERIES:
                response = await gateway.client.post(
                    "/graphql", json={"query": query}, headers=headers
                )
                texts.append(response.text)
        # Providers failing in every way still leak nothing.
        for sandbox in gateway.sandboxes.values():
            sandbox.control.inject(".*", Fault(status=500, body=b"SECRET-echo"))
        for query in QUERIES:
            response = await gateway.client.post(
                "/graphql", json={"query": query}, headers=good
            )
            texts.append(response.text)
            assert "SECRET-echo" not in response.text  # no upstream body either
    assert_clean("\n".join(texts))
    assert_clean(caplog.text)
    assert caplog.records, "the run did log something"
