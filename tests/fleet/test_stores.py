"""Each shared-state store, in process and in Redis, through the same test body.

A pair of stores stands for two replicas: in process both are the one store (one
replica is all it serves); in Redis they are two stores with their own clients.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.sandbox import create_app as connectfi_sandbox
from adapters.connectfi.sandbox.store import SEED_CUSTOMER_ID
from adapters.errors import ProviderUnavailable
from adapters.model import Owner, OwnerKind, Provider
from gateway.operations import sha256
from gateway.persisted import Mode, PersistedQueries
from gateway.state import codec
from gateway.state.bus import RedisBus
from gateway.state.connectfi import RedisToken
from gateway.state.dedupe import RedisDedupe
from gateway.state.idempotency import RedisIdempotencyStore
from gateway.state.owners import RedisDocumentOwners
from gateway.state.persisted import RedisQueries
from gateway.state.redis import connect, key
from gateway.webhooks.dedupe import InMemoryDedupe
from schema.authz import DocumentOwners
from schema.errors import NotFound, ProviderFailed
from schema.idempotency import IdempotencyUnavailable, MemoryIdempotencyStore
from schema.live.bus import InProcessBus
from schema.live.events import Change
from tests.redis_server import RedisServer

KINDS = ["memory", "redis"]
SAFE_KEY = re.compile(r"^gw:[a-z-]+:[0-9a-f]{64}$")


@asynccontextmanager
async def clients(url: str, n: int = 2) -> AsyncIterator[list[Redis]]:
    made = [connect(url, timeout=0.5) for _ in range(n)]
    try:
        yield made
    finally:
        for client in made:
            await client.aclose()


@asynccontextmanager
async def idempotency_pair(
    kind: str, url: str, claim_ttl: float = 30.0
) -> AsyncIterator[tuple[Any, Any]]:
    if kind == "memory":
        store = MemoryIdempotencyStore()
        yield store, store
        return
    async with clients(url) as (a, b):
        yield (
            RedisIdempotencyStore(a, claim_ttl=claim_ttl),
            RedisIdempotencyStore(b, claim_ttl=claim_ttl),
        )


async def waiting(store: Any, key_: str, fingerprint: str) -> Any:
    entry, mine = await store.claim(key_, fingerprint)
    assert not mine
    return await entry.result


@pytest.mark.parametrize("kind", KINDS)
async def test_duplicates_wait_for_the_first_and_get_its_result(
    kind: str, redis_url: str
) -> None:
    async with idempotency_pair(kind, redis_url) as (a, b):
        entry, mine = await a.claim("caller\x00k1", "fp")
        assert mine
        waiters = [
            asyncio.create_task(waiting(b, "caller\x00k1", "fp")) for _ in range(3)
        ]
        await asyncio.sleep(0.02)  # let them find the claim pending
        result = NotFound(code="NOT_FOUND", message="no such thing")
        entry.result.set_result(result)
        await a.keep("caller\x00k1", entry)
        assert await asyncio.gather(*waiters) == [result] * 3
        # Later repeats get it at once, on either replica.
        assert await waiting(b, "caller\x00k1", "fp") == result
        assert await waiting(a, "caller\x00k1", "fp") == result


@pytest.mark.parametrize("kind", KINDS)
async def test_the_same_key_with_other_input_shows_the_first_fingerprint(
    kind: str, redis_url: str
) -> None:
    async with idempotency_pair(kind, redis_url) as (a, b):
        entry, _ = await a.claim("k2", "first")
        entry.result.set_result(NotFound(code="NOT_FOUND", message="x"))
        await a.keep("k2", entry)
        other, mine = await b.claim("k2", "second")
        assert not mine and other.fingerprint == "first"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_provider_failure_reaches_the_waiters_and_is_forgotten(
    kind: str, redis_url: str
) -> None:
    async with idempotency_pair(kind, redis_url) as (a, b):
        entry, mine = await a.claim("k3", "fp")
        assert mine
        waiter = asyncio.create_task(waiting(b, "k3", "fp"))
        await asyncio.sleep(0.02)
        failed = ProviderFailed.of(ProviderUnavailable("down", provider=Provider.MAMBU))
        entry.result.set_result(failed)
        await a.forget("k3", entry)
        assert await waiter == failed
        # A retry runs again.
        _, mine = await b.claim("k3", "fp")
        assert mine


async def test_a_claim_whose_replica_died_expires_and_one_retry_runs(
    redis_url: str,
) -> None:
    async with idempotency_pair("redis", redis_url, claim_ttl=0.3) as (dead, alive):
        _, mine = await dead.claim("k4", "fp")  # and never finishes
        assert mine
        answer = NotFound(code="NOT_FOUND", message="once")

        async def retry() -> tuple[bool, Any]:
            entry, mine = await alive.claim("k4", "fp")
            if mine:
                entry.result.set_result(answer)
                await alive.keep("k4", entry)
            return mine, await entry.result

        retries = await asyncio.gather(*(retry() for _ in range(5)))
        # One retry claims it once expired; the others get its result.
        assert [r for _, r in retries] == [answer] * 5
        assert sorted(m for m, _ in retries) == [False] * 4 + [True]


@pytest.mark.parametrize("kind", KINDS)
async def test_dedupe_claims_each_delivery_once(kind: str, redis_url: str) -> None:
    async with clients(redis_url) as (a, b):
        local = InMemoryDedupe()
        first: Any = local if kind == "memory" else RedisDedupe(a, InMemoryDedupe())
        second: Any = local if kind == "memory" else RedisDedupe(b, InMemoryDedupe())
        assert await first.claim("delivery-1")
        assert not await second.claim("delivery-1")
        await second.release("delivery-1")
        assert await first.claim("delivery-1")


def change(n: int) -> Change:
    return Change(
        kind="Application",
        provider=Provider.CONNECTFI,
        key=f"cust:app{n}",
        state="APPROVED",
        previous_state="IN_REVIEW",
        cause="CONNECTFI:webhook",
        event_id=f"event-{n}",
        at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_change_published_on_one_replica_reaches_the_others_listener(
    kind: str, redis_url: str
) -> None:
    async with clients(redis_url) as (a, b):
        if kind == "memory":
            publisher: Any = InProcessBus()
            subscriber: Any = publisher
        else:
            publisher, subscriber = RedisBus(a), RedisBus(b)
            subscriber.start()
            await subscriber.subscribed.wait()
        listener = subscriber.listen()
        try:
            await publisher.publish(change(1))
            got = await asyncio.wait_for(anext(aiter(listener)), 10)
            assert got == change(1)
        finally:
            listener.close()
            if kind == "redis":
                await subscriber.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_an_apq_registration_is_served_by_the_other_replica(
    kind: str, redis_url: str
) -> None:
    query = "query Shared { __typename }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    async with clients(redis_url) as (a, b):
        if kind == "memory":
            first = second = PersistedQueries(Mode.APQ)
        else:
            first = PersistedQueries(Mode.APQ, shared=RedisQueries(a))
            second = PersistedQueries(Mode.APQ, shared=RedisQueries(b))
        assert await first.resolve_shared(query, extensions) == query
        assert await second.resolve_shared(None, extensions) == query


async def test_a_shared_text_that_does_not_match_its_hash_is_not_served(
    redis_url: str,
) -> None:
    query = "query Real { __typename }"
    digest = sha256(query)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with clients(redis_url, 1) as (a,):
        shared = RedisQueries(a)
        await shared.put(digest, "mutation Other { __typename }")
        with pytest.raises(Exception, match="PersistedQueryNotFound"):
            await PersistedQueries(Mode.APQ, shared=shared).resolve_shared(
                None, extensions
            )


@asynccontextmanager
async def connectfi_replicas(
    redis: list[Redis] | None,
) -> AsyncIterator[tuple[Any, list[ConnectFiClient]]]:
    sandbox = connectfi_sandbox()
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url="http://cf") as http:
        replicas = [
            ConnectFiClient(
                http,
                login="sandbox",
                password="sandbox",
                shared=RedisToken(
                    r, url="http://cf", login="sandbox", password="sandbox"
                )
                if r is not None
                else None,
            )
            for r in (redis or [None, None])
        ]
        yield sandbox, replicas


SEED_KEY = f"{SEED_CUSTOMER_ID}:iapp_1BGgJeDQJFo5MCup15zq9A"


async def test_two_replicas_share_one_connectfi_login(redis_url: str) -> None:
    async with clients(redis_url) as redis, connectfi_replicas(redis) as (sandbox, cf):
        answers = await asyncio.gather(
            *(c.get_applications([SEED_KEY]) for c in cf * 3)
        )
        assert all(a[SEED_KEY].key == SEED_KEY for a in answers)  # type: ignore[union-attr]
        assert sandbox.control.calls("POST", "/auth/get-token") == 1
        # At rest the token is encrypted: Redis holds no token connectFi issued.
        stored = [await redis[0].get(k) for k in await redis[0].keys("gw:*")]
        tokens = set(sandbox.store.tokens)
        assert tokens and not any(
            t.encode() in (s or b"") for s in stored for t in tokens
        )


async def test_with_redis_down_each_replica_logs_in_on_its_own(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with clients(redis_url) as redis, connectfi_replicas(redis) as (sandbox, cf):
        redis_server.stop()
        try:
            answers = await asyncio.gather(
                *(c.get_applications([SEED_KEY]) for c in cf)
            )
            assert all(a[SEED_KEY].key == SEED_KEY for a in answers)  # type: ignore[union-attr]
            assert sandbox.control.calls("POST", "/auth/get-token") == 2
            assert all(c._session.shared.outage.count >= 1 for c in cf)  # type: ignore[union-attr]
        finally:
            redis_server.start()


async def test_with_redis_down_each_store_follows_its_policy_then_recovers(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with clients(redis_url, 1) as (redis,):
        idempotency = RedisIdempotencyStore(redis)
        queries = RedisQueries(redis)
        dedupe = RedisDedupe(redis, InMemoryDedupe())
        bus = RedisBus(redis)
        listener = bus.listen()
        redis_server.stop()
        try:
            # Idempotency: closed.
            with pytest.raises(IdempotencyUnavailable):
                await idempotency.claim("k", "fp")
            assert idempotency.outage.count == 1
            # APQ: open, nothing shared.
            assert await queries.get("a" * 64) is None
            await queries.put("a" * 64, "{ __typename }")
            assert queries.outage.count == 2
            # Webhook de-duplication: this replica's own.
            assert await dedupe.claim("d") and not await dedupe.claim("d")
            assert dedupe.outage.count == 2
            # The bus: delivered here only.
            await bus.publish(change(2))
            assert await asyncio.wait_for(anext(aiter(listener)), 5) == change(2)
            assert bus.outage.count == 1
        finally:
            redis_server.start()
        _, mine = await idempotency.claim("k", "fp")
        assert mine
        await queries.put("b" * 64, "{ __typename }")
        assert await queries.get("b" * 64) == "{ __typename }"
        assert await dedupe.claim("d")  # Redis had not seen it
        listener.close()


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5), st.text())
def test_any_input_maps_to_a_safe_distinct_key(parts: list[str], other: str) -> None:
    name = key("idem", *parts)
    assert SAFE_KEY.match(name)
    if [other] != parts:
        assert key("idem", other) != name


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.text(), min_size=1, max_size=8, unique=True))
def test_any_idempotency_keys_reach_redis_only_as_safe_distinct_keys(
    redis_url: str, keys: list[str]
) -> None:
    async def run() -> tuple[list[bool], list[bytes]]:
        async with clients(redis_url, 1) as (redis,):
            await redis.flushall()
            store = RedisIdempotencyStore(redis)
            claimed = [(await store.claim(k, "fp"))[1] for k in keys]
            return claimed, await redis.keys("*")

    claimed, names = asyncio.run(run())
    assert all(claimed)  # distinct keys never collide
    assert len(names) == len(keys)
    assert all(SAFE_KEY.match(n.decode()) for n in names)


def test_the_codec_builds_only_the_gateways_own_classes() -> None:
    failed = ProviderFailed.of(ProviderUnavailable("down", provider=Provider.AUCO))
    assert codec.loads(codec.dumps(failed)) == failed
    for name in ("os:system", "subprocess:Popen", "builtins:eval", "schema:nothing"):
        with pytest.raises(ValueError):
            codec.loads(json.dumps({"$d": name, "f": {}}))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_document_bound_on_one_replica_has_its_owner_on_the_other(
    kind: str, redis_url: str
) -> None:
    owner = Owner(OwnerKind.CONNECTFI_CUSTOMER, "cstap_owner")
    async with clients(redis_url) as (a, b):
        if kind == "memory":
            first: Any = DocumentOwners()
            second: Any = first
        else:
            first = RedisDocumentOwners(a, DocumentOwners())
            second = RedisDocumentOwners(b, DocumentOwners())
        await first.bind("doc_1", owner)
        assert await second.owner_of("doc_1") == owner
        assert await second.owner_of("doc_2") is None


async def test_with_redis_down_document_owners_are_this_replicas_own(
    redis_server: RedisServer, redis_url: str
) -> None:
    owner = Owner(OwnerKind.CONNECTFI_CUSTOMER, "cstap_owner")
    async with clients(redis_url) as (a, b):
        here, there = (RedisDocumentOwners(r, DocumentOwners()) for r in (a, b))
        redis_server.stop()
        try:
            await here.bind("doc_3", owner)
            assert await here.owner_of("doc_3") == owner
            assert await there.owner_of("doc_3") is None  # never someone's
            assert here.outage.count == 2 and there.outage.count == 1
        finally:
            redis_server.start()


async def test_a_result_redis_missed_is_written_when_it_is_back(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with idempotency_pair("redis", redis_url) as (a, b):
        entry, mine = await a.claim("k5", "fp")
        assert mine
        answer = NotFound(code="NOT_FOUND", message="done while Redis was down")
        entry.result.set_result(answer)
        redis_server.stop()
        try:
            await a.keep("k5", entry)  # fails: retried in the background
            with pytest.raises(IdempotencyUnavailable):
                await b.claim("k5", "fp")  # closed meanwhile
        finally:
            redis_server.start()  # empty: the claim is gone too
        for _ in range(1000):
            if await b.redis.exists(a.key("k5")):
                break
            await asyncio.sleep(0.01)
        replayed, mine = await b.claim("k5", "fp")
        assert not mine and await replayed.result == answer
        assert a.unsaved == 0
