"""The sandboxes deliver webhooks as their providers do: Auco's events, headers and
retries (counted, never timed), connectFi's envelope after a manual review."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapters.auco import sandbox as auco_sandbox
from adapters.auco.sandbox.store import Store
from adapters.connectfi.sandbox import app as connectfi_sandbox
from adapters.connectfi.sandbox.store import JOURNEY_CUSTOMER_ID, ConnectFiStore
from adapters.sandbox_kit import SandboxAdmin
from tests.webhooks.helpers import three_signer_document

URL = "http://receiver.test/hook"


class Receiver:
    """An ASGI endpoint answering the statuses it is given (the last one forever)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def auco_with(receiver: Receiver) -> tuple[Any, Store]:
    app = auco_sandbox.create_app()
    store = app.store
    assert isinstance(store, Store) and store.webhooks is not None
    store.webhooks.configure(
        URL,
        "X-Hook-Key",
        "hook-value",
        time_factor=0.0001,
        transport=httpx.ASGITransport(app=receiver),
    )
    return app, store


@pytest.mark.parametrize("refusal", [500, 503, 404, 401, 302, 199])
async def test_auco_retries_a_refused_delivery_exactly_3_times_with_the_same_body(
    refusal: int,
) -> None:
    receiver = Receiver(refusal)
    _, store = auco_with(receiver)
    three_signer_document(store)
    assert store.webhooks is not None
    await store.webhooks.sender.drain()
    attempts = store.webhooks.sender.attempts
    assert [a.number for a in attempts] == [0, 1, 2, 3]
    assert {a.status for a in attempts} == {refusal}
    assert len(receiver.bodies) == 4 and len(set(receiver.bodies)) == 1
    assert {h["x-hook-key"] for h in receiver.headers} == {"hook-value"}
    assert json.loads(receiver.bodies[0])["status"] == "CREATE"
    # The schedule is Auco's 2, 4 and 6 minutes, compressed by the factor.
    assert store.webhooks.sender.schedule == (120.0, 240.0, 360.0)


@pytest.mark.parametrize("success", [200, 201, 202, 204, 299])
async def test_auco_stops_at_the_first_2xx(success: int) -> None:
    receiver = Receiver(500, 502, success)
    _, store = auco_with(receiver)
    three_signer_document(store)
    assert store.webhooks is not None
    await store.webhooks.sender.drain()
    statuses = [a.status for a in store.webhooks.sender.attempts]
    assert statuses == [500, 502, success]
    assert len(receiver.bodies) == 3


async def test_auco_without_a_configured_webhook_posts_nothing() -> None:
    app = auco_sandbox.create_app()
    store = app.store
    three_signer_document(store)
    store.sign("THREESIGN1", "signer1@example.com")
    assert store.webhooks.sender.attempts == []


async def test_auco_event_bodies_follow_the_reference_examples() -> None:
    receiver = Receiver(200)
    app, store = auco_with(receiver)
    three_signer_document(store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        sign = "/_sandbox/documents/THREESIGN1/sign"
        # Signer 2 is not notified before signer 1 signed: 409, no event.
        refused = await client.post(sign, json={"email": "signer2@example.com"})
        assert refused.status_code == 409
        assert (await client.post(sign, json={"email": "nobody@x.co"})).status_code == (
            404
        )
        assert (
            await client.post("/_sandbox/documents/NOSUCHCODE/sign", json={})
        ).status_code == 404
        assert (await client.post(sign, json={})).status_code == 400
        ok = await client.post(sign, json={"email": "signer1@example.com"})
        assert ok.json() == {"code": "THREESIGN1", "status": "CREATED"}
        rejected = await client.post(
            "/_sandbox/documents/THREESIGN1/reject",
            json={"email": "signer2@example.com"},
        )
        assert rejected.json() == {"code": "THREESIGN1", "status": "REJECTED"}
    assert store.webhooks is not None
    await store.webhooks.sender.drain()
    create, notification, reject = (json.loads(b) for b in receiver.bodies)
    assert create == {
        "code": "THREESIGN1",
        "name": "Three signers",
        "status": "CREATE",
        "url": "http://auco.sandbox/v1.5/ext/_download/THREESIGN1",
    }
    assert notification == {
        "code": "THREESIGN1",
        "name": "Three signers",
        "status": "NOTIFICATION",
        "signer": {
            "id": "P1",
            "name": "Signer 1",
            "email": "signer1@example.com",
            "phone": "+57300000001",
        },
    }
    assert reject["status"] == "REJECT" and reject["signer"]["id"] == "P2"


async def test_auco_cancel_block_and_expiry_are_delivered() -> None:
    receiver = Receiver(200)
    app, store = auco_with(receiver)
    three_signer_document(store, "DOCA")
    three_signer_document(store, "DOCB")
    store.block("DOCA", "signer1@example.com")
    assert store.cancel("DOCA", "no longer needed")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        expired = await client.post("/_sandbox/documents/DOCB/expire")
        assert expired.json() == {"code": "DOCB", "status": "EXPIRED"}
    assert store.webhooks is not None
    await store.webhooks.sender.drain()
    seen = [(b["code"], b["status"]) for b in map(json.loads, receiver.bodies)]
    assert seen == [
        ("DOCA", "CREATE"),
        ("DOCB", "CREATE"),
        ("DOCA", "BLOCKED"),
        ("DOCA", "REJECTED"),
        ("DOCB", "EXPIRED"),
    ]


async def test_the_standalone_sandbox_serves_its_own_sandbox_routes() -> None:
    # `gateway sandbox` wraps the app in SandboxAdmin: its /_sandbox/calls still
    # answers, and the provider's own /_sandbox/ routes reach the provider.
    app = auco_sandbox.create_app()
    three_signer_document(app.store)
    admin = SandboxAdmin(app)
    transport = httpx.ASGITransport(app=admin)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        signed = await client.post(
            "/_sandbox/documents/THREESIGN1/sign",
            json={"email": "signer1@example.com"},
        )
        assert signed.status_code == 200
        calls = await client.get("/_sandbox/calls")
        assert calls.json()["total"] == 1
        unknown = await client.get("/_sandbox/nothing")
        assert unknown.status_code == 404
    assert app.store.documents["THREESIGN1"].signers[0].status == "FINISH"


async def test_connectfi_review_posts_the_envelope_once_without_retries() -> None:
    receiver = Receiver(500)
    app = connectfi_sandbox.create_app()
    store = app.store
    assert isinstance(store, ConnectFiStore)
    store.webhook_url = URL
    store.webhooks.transport = httpx.ASGITransport(app=receiver)
    in_review = [
        a.record["applicationId"]
        for a in store.applications_of(JOURNEY_CUSTOMER_ID)
        if a.record["status"] in connectfi_sandbox.REVIEW_STATUSES
    ]
    running = next(
        a.record["applicationId"]
        for a in store.applications_of(JOURNEY_CUSTOMER_ID)
        if a.record["status"] == "running"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        for application_id, outcome in zip(
            in_review, ("Approved", "Denied"), strict=True
        ):
            answer = await client.post(
                f"/_sandbox/applications/{application_id}/review",
                json={"outcome": outcome},
            )
            assert answer.json()["data"]["outcome"] == outcome
        refused = [
            await client.post(
                f"/_sandbox/applications/{running}/review", json={"outcome": "Approved"}
            ),
            await client.post(
                f"/_sandbox/applications/{in_review[0]}/review", json={"outcome": "x"}
            ),
            await client.post(
                "/_sandbox/applications/iapp_nope/review", json={"outcome": "Approved"}
            ),
        ]
        assert [r.status_code for r in refused] == [409, 400, 404]
    await store.webhooks.drain()
    # One post per resolved review, not retried although refused (connectFi
    # documents no retries).
    assert len(receiver.bodies) == 2
    posted = [json.loads(b) for b in receiver.bodies]
    assert [p["data"]["applicationId"] for p in posted] == in_review
    assert [(p["data"]["status"], p["data"]["outcome"]) for p in posted] == [
        ("completed", "Approved"),
        ("completed", "Denied"),
    ]
    assert all(p["code"] == "0" and len(p["requestId"]) == 32 for p in posted)
