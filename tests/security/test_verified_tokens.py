"""A verified token is remembered briefly; never past its expiry, never if refused."""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.auth as auth
from caching import bounds
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


def weight(value: str) -> int:
    return bounds.VERIFIED_ENTRY_BYTES + 2 * len(value)


async def test_at_most_so_many_tokens_are_remembered(decodes: list[str]) -> None:
    one, two, three = token("one"), token("two"), token("three")
    # Room for any two of them, not for three.
    room = 2 * max(map(weight, (one, two, three)))
    a = Authenticator(
        secret=SECRET, issuer=ISSUER, audience=AUDIENCE, verified_max_bytes=room
    )
    for value in (one, two, one, three, one, two):
        await a.caller(f"Bearer {value}")
    # `two` was the least recently used when `three` came in.
    assert decodes == [one, two, three, two]
    assert len(a._verified) == 2
    assert a._verified.bytes == weight(one) + weight(two) <= room


async def test_the_tokens_remembered_hold_no_more_than_their_bound() -> None:
    """Tokens of every length (claims from 0 to 4,000 characters), many times as
    many as the bound holds: what remembering them holds (tracemalloc: the same
    tokens verified with and without room to remember, the cyclic garbage of
    decoding collected) stays within the bound in bytes, and the weight counted
    for a token is no less than what it holds."""
    room = 64 * 1024
    sizes = random.Random(18).choices(range(4000), k=200)

    async def held(room: int) -> tuple[Authenticator, list[int]]:
        """Bytes traced after the first 10 tokens, then every 20."""
        a = Authenticator(
            secret=SECRET, issuer=ISSUER, audience=AUDIENCE, verified_max_bytes=room
        )
        found: list[int] = []
        gc.collect()
        gc.freeze()  # the collections below look at this test's objects only
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            for n, size in enumerate(sizes):
                await a.caller(f"Bearer {token(f'user-{n}', email='e' * size)}")
                if n == 9 or n % 20 == 19:
                    gc.collect()
                    found.append(tracemalloc.get_traced_memory()[0] - start)
        finally:
            tracemalloc.stop()
            gc.unfreeze()
        return a, found

    await held(0)  # warms the free lists and PyJWT's and json's internals
    _, without = await held(0)
    a, using = await held(room)
    kept = [u - w for u, w in zip(using, without, strict=True)]
    assert 0 < a._verified.bytes <= room
    assert 10 < len(a._verified) < 200
    # kept[0]: the first ten, before any eviction.
    first = [token(f"user-{n}", email="e" * s) for n, s in enumerate(sizes[:10])]
    assert 0 < kept[0] <= sum(map(weight, first))
    assert max(kept) <= room


@settings(max_examples=50, derandomize=True, deadline=None)
@given(st.lists(st.text(max_size=3000), min_size=1, max_size=12))
def test_any_claims_keep_the_bound(emails: list[str]) -> None:
    """Whatever a verified token carries: the bytes counted never pass the
    bound, and the token just verified is remembered unless it alone is over."""
    room = 12 * 1024

    async def run() -> None:
        a = Authenticator(
            secret=SECRET, issuer=ISSUER, audience=AUDIENCE, verified_max_bytes=room
        )
        for n, email in enumerate(emails):
            value = token(f"user-{n}", email=email)
            caller = await a.caller(f"Bearer {value}")
            assert caller.subject == f"user-{n}"
            assert a._verified.bytes <= room
            assert (value in a._verified) == (weight(value) <= room)

    asyncio.run(run())
