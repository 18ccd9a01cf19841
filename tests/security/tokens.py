"""Tokens for tests: signed with the test secret, or deliberately wrong."""

from __future__ import annotations

import time
from typing import Any

import jwt

from gateway.settings import Settings

SECRET = "test-signing-secret-0123456789abcdef"
ISSUER = "https://idp.bank.test"
AUDIENCE = "onboarding-gateway"


def secured_settings(**extra: Any) -> Settings:
    return Settings(
        auth_jwt_secret=SECRET, auth_issuer=ISSUER, auth_audience=AUDIENCE, **extra
    )


def token(
    sub: str = "user-1",
    *,
    roles: list[str] | None = None,
    key: str = SECRET,
    audience: str = AUDIENCE,
    issuer: str = ISSUER,
    expires_in: float = 300,
    **claims: Any,
) -> str:
    payload = {
        "sub": sub,
        "iss": issuer,
        "aud": audience,
        "exp": int(time.time() + expires_in),
        "roles": roles if roles is not None else ["staff"],
        **claims,
    }
    return jwt.encode(payload, key, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def staff() -> dict[str, str]:
    return bearer(token("staff-1", roles=["staff"]))


def applicant(**claims: Any) -> dict[str, str]:
    return bearer(token("applicant-1", roles=["applicant"], **claims))
