"""Two gateway processes, one Redis, one set of sandboxes: the fleet's shared
state seen from outside, counted at the sandboxes.

Order matters inside this module (one fleet for all of it): the connectFi login
is counted first, and Redis is killed last.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from adapters.model import Provider
from gateway.operations import sha256
from schema import ids
from tests.redis_server import RedisServer

from .replicas import STAFF, WEBHOOK_TOKEN, Fleet, running_fleet

APPROVE = """
mutation Approve($id: ID!, $key: String) {
  approveApplication(id: $id, idempotencyKey: $key) {
    __typename
    ... on Application { id state version }
    ... on UserError { code message }
  }
}"""
CONNECTFI_APP = ids.encode(
    "Application",
    Provider.CONNECTFI,
    "cstap_5mBHiIx3QbkvEpjGfKsI9k:iapp_1BGgJeDQJFo5MCup15zq9A",
)
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Application { state } } }"
SUBSCRIPTION = (
    "subscription { applicationUpdated { application { id } cause eventId } }"
)
LOGIN = "POST /auth/get-token"


@pytest.fixture(scope="module")
def fleet(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    if redis_server.process is None:
        redis_server.start()
    redis_server.flush()
    yield from running_fleet(redis_server.url, tmp_path_factory.mktemp("fleet"))


async def post(
    client: httpx.AsyncClient, url: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(url + "/graphql", json=body, headers=STAFF)
    found: dict[str, Any] = answer.json()
    return found


def approvals(fleet: Fleet, key: str, idem: str | None, n: int) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        body = {
            "query": APPROVE,
            "variables": {
                "id": ids.encode("Application", Provider.APITURE, key),
                "key": idem,
            },
        }
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(post(client, fleet.replicas[i % 2], body) for i in range(n))
            )

    return asyncio.run(run())


def test_one_connectfi_login_for_both_replicas(fleet: Fleet) -> None:
    async def run() -> list[dict[str, Any]]:
        body = {"query": NODE, "variables": {"id": CONNECTFI_APP}}
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(post(client, fleet.replicas[i % 2], body) for i in range(6))
            )

    answers = asyncio.run(run())
    assert all(a["data"]["node"]["id"] == CONNECTFI_APP for a in answers), answers
    assert fleet.calls(Provider.CONNECTFI, "POST /akepa/status") >= 2
    assert fleet.calls(Provider.CONNECTFI, LOGIN) == 1


def test_twenty_keyed_approvals_over_two_replicas_approve_once(fleet: Fleet) -> None:
    (running,) = fleet.seed_running(1)
    before = fleet.routes(Provider.APITURE)
    answers = approvals(fleet, running, str(uuid.uuid4()), 20)
    after = fleet.routes(Provider.APITURE)
    posts = {r: n - before.get(r, 0) for r, n in after.items() if r.startswith("POST")}
    assert sum(posts.values()) == 1, (posts, answers[0])
    assert all(a == answers[0] for a in answers), {json.dumps(a) for a in answers}
    assert answers[0]["data"]["approveApplication"]["state"] == "APPROVED"


def test_an_apq_hash_registered_on_one_replica_is_served_by_the_other(
    fleet: Fleet,
) -> None:
    query = "query Fleet { __typename }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    first, second = fleet.replicas

    async def run() -> tuple[dict[str, Any], ...]:
        async with httpx.AsyncClient(timeout=30) as client:
            unknown = await post(client, second, {"extensions": extensions})
            registered = await post(
                client, first, {"query": query, "extensions": extensions}
            )
            served = await post(client, second, {"extensions": extensions})
            return unknown, registered, served

    unknown, registered, served = asyncio.run(run())
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered == {"data": {"__typename": "Query"}}
    assert served == {"data": {"__typename": "Query"}}


def webhook_envelope(status: str, outcome: str | None) -> dict[str, Any]:
    return {
        "code": "0",
        "requestId": uuid.uuid4().hex,
        "data": {
            "applicationId": "iapp_1BGgJeDQJFo5MCup15zq9A",
            "aggregatorId": "CLIENTID",
            "customerId": "cstap_5mBHiIx3QbkvEpjGfKsI9k",
            "reference": "extRefApp101",
            "status": status,
            "outcome": outcome,
            "entityApplications": [],
        },
    }


async def subscribed(url: str) -> websockets.ClientConnection:
    connection = await websockets.connect(
        url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
    )
    await connection.send(json.dumps({"type": "connection_init", "payload": STAFF}))
    assert json.loads(await connection.recv())["type"] == "connection_ack"
    payload = {"query": SUBSCRIPTION}
    await connection.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": payload})
    )
    return connection


async def next_event(connection: websockets.ClientConnection) -> dict[str, Any]:
    while True:
        # A bound so that a lost event fails the test instead of hanging it.
        message = json.loads(await asyncio.wait_for(connection.recv(), 15))
        if message["type"] == "ping":
            await connection.send(json.dumps({"type": "pong"}))
            continue
        assert message["type"] == "next", message
        event: dict[str, Any] = message["payload"]["data"]["applicationUpdated"]
        return event


def test_a_webhook_received_by_one_replica_reaches_a_subscriber_on_the_other(
    fleet: Fleet,
) -> None:
    receiver, other = fleet.replicas

    async def run() -> dict[str, Any]:
        connection = await subscribed(other)
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                # Retried until the subscription listens (no event is kept for later).
                for _ in range(200):
                    sent = await client.post(
                        f"{receiver}/webhooks/connectfi/{WEBHOOK_TOKEN}",
                        json=webhook_envelope("completed", "Approved"),
                    )
                    assert sent.status_code < 300, sent.text
                    try:
                        return await asyncio.wait_for(next_event(connection), 0.25)
                    except TimeoutError:
                        continue
                raise AssertionError("no event reached the other replica")
        finally:
            await connection.close()

    event = asyncio.run(run())
    assert event["cause"] == "CONNECTFI:webhook"
    assert event["application"]["id"] == CONNECTFI_APP


def apiture_posts(fleet: Fleet) -> int:
    routes = fleet.routes(Provider.APITURE)
    return sum(n for r, n in routes.items() if r.startswith("POST"))


def test_with_redis_killed_each_concern_keeps_its_policy_then_recovers(
    fleet: Fleet, redis_server: RedisServer
) -> None:
    keyed, unkeyed = fleet.seed_running(2)
    idem = str(uuid.uuid4())
    query = "query Outage { __typename }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    first, second = fleet.replicas

    async def apq() -> tuple[dict[str, Any], ...]:
        async with httpx.AsyncClient(timeout=30) as client:
            registered = await post(
                client, first, {"query": query, "extensions": extensions}
            )
            here = await post(client, first, {"extensions": extensions})
            there = await post(client, second, {"extensions": extensions})
            return registered, here, there

    redis_server.stop()
    try:
        posts = apiture_posts(fleet)
        # Idempotency fails closed: refused on both replicas, nothing sent.
        refused = approvals(fleet, keyed, idem, 4)
        assert apiture_posts(fleet) == posts
        for answer in refused:
            result = answer["data"]["approveApplication"]
            assert result["__typename"] == "Unavailable", result
            assert result["code"] == "IDEMPOTENCY_UNAVAILABLE"
        # A mutation without a key does not need the store.
        (plain,) = approvals(fleet, unkeyed, None, 1)
        assert plain["data"]["approveApplication"]["state"] == "APPROVED"
        assert apiture_posts(fleet) == posts + 1
        # APQ fails open: each replica serves what it registered itself.
        registered, here, there = asyncio.run(apq())
        assert registered == here == {"data": {"__typename": "Query"}}
        assert there["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        # Webhooks are still received (de-duplicated per replica meanwhile).
        sent = httpx.post(
            f"{first}/webhooks/connectfi/{WEBHOOK_TOKEN}",
            json=webhook_envelope("completed", "Approved"),
        )
        assert sent.status_code < 300
    finally:
        redis_server.start()
    # Back: the refused key runs now, once for all its repeats on both replicas.
    answers = approvals(fleet, keyed, idem, 6)
    assert apiture_posts(fleet) == posts + 2
    assert all(a == answers[0] for a in answers)
    assert answers[0]["data"]["approveApplication"]["state"] == "APPROVED"
