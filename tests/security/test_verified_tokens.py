"""A verified token is remembered briefly; never past its expiry, never if refused."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

import gateway.auth as auth
from gateway.auth import Authenticator, Unauthenticated
from tests.security.tokens import AUDIENCE, ISSUER, SECRET, token


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = jwt.decode

    def counting(value: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(value)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return seen


def authenticator() -> Authenticator:
    return Authenticator(secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway=30)


async def test_the_same_token_is_verified_once(decodes: list[str]) -> None:
    a = authenticator()
    value = token("applicant-7", roles=["applicant"], connectfi_customer_id="C-1")
    callers = [await a.caller(f"Bearer {value}") for _ in range(5)]
    assert decodes == [value]
    assert {c.subject for c in callers} == {"applicant-7"}
    assert callers[0].roles == frozenset({"applicant"})
    assert callers[0].connectfi_customer_id == "C-1"


async def test_other_tokens_are_verified_on_their_own(decodes: list[str]) -> None:
    a = authenticator()
    one, two = token("one"), token("two")
    assert (await a.caller(f"Bearer {one}")).subject == "one"
    assert (await a.caller(f"Bearer {two}")).subject == "two"
    assert (await a.caller(f"Bearer {one}")).subject == "one"
    assert decodes == [one, two]


async def test_a_remembered_token_is_refused_once_it_expires(
    decodes: list[str],
) -> None:
    a = authenticator()
    # Expired 28-29 s ago: inside the 30 s of tolerated clock skew, for now.
    value = token(expires_in=-28)
    await a.caller(f"Bearer {value}")
    await asyncio.sleep(3.1)
    with pytest.raises(Unauthenticated, match="expired"):
        await a.caller(f"Bearer {value}")
    assert decodes == [value, value]


async def test_a_remembered_token_is_verified_again_after_a_while(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = authenticator()
    value = token()
    await a.caller(f"Bearer {value}")
    later = time.monotonic() + auth.VERIFIED_SECONDS + 1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    await a.caller(f"Bearer {value}")
    await a.caller(f"Bearer {value}")
    assert decodes == [value, value]


async def test_refused_tokens_are_not_remembered(decodes: list[str]) -> None:
    a = authenticator()
    forged = token(key="not-the-secret-0123456789abcdefgh")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="not valid"):
            await a.caller(f"Bearer {forged}")
    assert decodes == [forged, forged]
    good = token()
    await a.caller(f"Bearer {good}")
    # A token is its exact text: the forged one is still refused.
    with pytest.raises(Unauthenticated):
        await a.caller(f"Bearer {forged}")


async def test_at_most_so_many_tokens_are_remembered(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "VERIFIED_MAX", 2)
    a = authenticator()
    one, two, three = token("one"), token("two"), token("three")
    for value in (one, two, one, three, one, two):
        await a.caller(f"Bearer {value}")
    # `two` was the least recently used when `three` came in.
    assert decodes == [one, two, three, two]
    assert len(a._verified) == 2
