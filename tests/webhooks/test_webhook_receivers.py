"""The webhook receivers: authenticated, validated, idempotent, published once."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from adapters.connectfi.sandbox.store import JOURNEY_CUSTOMER_ID
from adapters.model import Provider
from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from schema.live.bus import InProcessBus
from tests.webhooks.helpers import (
    HEADER,
    SECRET,
    TOKEN,
    running,
    settings,
    three_signer_document,
)

NOTIFICATION = {
    "code": "DOCUMENTCODE",
    "name": "Contrato de prueba del API",
    "signer": {
        "id": "participant_id",
        "name": "Ana Pérez",
        "email": "ana.perez@example.com",
        "phone": "+573001112233",
    },
    "status": "NOTIFICATION",
}


def envelope(status: str = "completed", outcome: str | None = "Approved") -> bytes:
    return json.dumps(
        {
            "code": "0",
            "requestId": "e70a679078d511eeb5658f28ab5fe311",
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
    ).encode()


async def test_three_signatures_make_three_notifications_then_finish() -> None:
    async with running() as gw:
        three_signer_document(gw.auco_store)
        async with gw.sandbox_client(Provider.AUCO) as sandbox:
            for n in (1, 2, 3):
                answer = await sandbox.post(
                    "/_sandbox/documents/THREESIGN1/sign",
                    json={"email": f"signer{n}@example.com"},
                )
                assert answer.status_code == 200, answer.text
        await gw.auco_hooks.sender.drain()
        changes = gw.bus.changes
        assert [c.cause for c in changes] == [
            "AUCO:CREATE",
            "AUCO:NOTIFICATION",
            "AUCO:NOTIFICATION",
            "AUCO:NOTIFICATION",
            "AUCO:FINISH",
        ]
        assert {(c.kind, c.provider, c.key) for c in changes} == {
            ("Document", Provider.AUCO, "THREESIGN1")
        }
        assert [c.state for c in changes] == ["AWAITING_SIGNATURE"] * 4 + ["SIGNED"]
        assert [c.previous_state for c in changes] == [None] + [
            "AWAITING_SIGNATURE"
        ] * 4
        assert len({c.event_id for c in changes}) == 5
        # Every delivery was a first attempt answered 2xx: no retry.
        attempts = gw.auco_hooks.sender.attempts
        assert [(a.number, a.status) for a in attempts] == [(0, 200)] * 5


async def test_a_duplicated_delivery_makes_one_event() -> None:
    async with running() as gw:
        for expected in ("published", "duplicate", "duplicate"):
            answer = await gw.client.post(
                "/webhooks/auco", json=NOTIFICATION, headers={HEADER: SECRET}
            )
            assert answer.status_code == 200
            assert answer.json() == {"status": expected}
        assert len(gw.bus.changes) == 1
        change = gw.bus.changes[0]
        assert (change.key, change.cause) == ("DOCUMENTCODE", "AUCO:NOTIFICATION")
        # Another signer's NOTIFICATION of the same document is another event.
        other = NOTIFICATION | {"signer": {"id": "other_participant"}}
        answer = await gw.client.post(
            "/webhooks/auco", json=other, headers={HEADER: SECRET}
        )
        assert answer.json() == {"status": "published"}
        assert len(gw.bus.changes) == 2


async def test_an_unrecorded_delivery_is_retried_by_the_sandbox_then_one_event() -> (
    None
):
    async with running() as gw:
        gw.bus.fail = 1  # the first publish fails: 503, nothing claimed
        three_signer_document(gw.auco_store)
        await gw.auco_hooks.sender.drain()
        attempts = gw.auco_hooks.sender.attempts
        assert [(a.number, a.status) for a in attempts] == [(0, 503), (1, 200)]
        assert attempts[0].body == attempts[1].body
        assert [c.cause for c in gw.bus.changes] == ["AUCO:CREATE"]
        # Auco retrying a delivery the gateway did record: still one event.
        answer = await gw.client.post(
            "/webhooks/auco",
            content=attempts[0].body,
            headers={HEADER: SECRET, "content-type": "application/json"},
        )
        assert answer.json() == {"status": "duplicate"}
        assert len(gw.bus.changes) == 1


WRONG_HEADERS: list[dict[str, str]] = [
    {},
    {HEADER: "wrong"},
    {HEADER: SECRET + "x"},
    {HEADER: SECRET[:-1]},
    {"X-Other": SECRET},
    {HEADER: ""},
    {HEADER: "é" + SECRET},
]


async def test_a_wrong_auco_secret_is_401_and_no_event() -> None:
    async with running() as gw:
        for headers in WRONG_HEADERS:
            answer = await gw.client.post(
                "/webhooks/auco",
                content=json.dumps(NOTIFICATION).encode(),
                headers={k: v.encode() for k, v in headers.items()},
            )
            assert answer.status_code == 401, headers
        assert gw.bus.changes == []
        # The right secret is then a first delivery, not a duplicate.
        answer = await gw.client.post(
            "/webhooks/auco", json=NOTIFICATION, headers={HEADER: SECRET}
        )
        assert answer.json() == {"status": "published"}


async def test_a_wrong_connectfi_token_is_401_and_no_event() -> None:
    async with running() as gw:
        for token in ("wrong", TOKEN[:-1], TOKEN + "0", "%C3%A9" + TOKEN):
            answer = await gw.client.post(
                f"/webhooks/connectfi/{token}", content=envelope()
            )
            assert answer.status_code == 401, token
        assert gw.bus.changes == []
        answer = await gw.client.post(
            f"/webhooks/connectfi/{TOKEN}", content=envelope()
        )
        assert answer.status_code == 200
        assert len(gw.bus.changes) == 1


MALFORMED_AUCO: list[Any] = [
    b"",
    b"{",
    b"[]",
    b'"FINISH"',
    {"code": "DOCUMENTCODE"},  # no status
    {"code": "DOCUMENTCODE", "status": "SIGNED_BY_MAGIC"},
    {"code": "DOCUMENTCODE", "status": 3},
    {"code": 12345, "status": "FINISH"},
    {"code": "../admin", "status": "FINISH"},  # not an Auco code
    {"status": "BLOCKED", "signer": {"id": "x"}},  # no code: names no document
    {"code": "DOCUMENTCODE", "status": "NOTIFICATION"},  # which signer?
    {"code": "DOCUMENTCODE", "status": "NOTIFICATION", "signer": {"id": 7}},
    {"package": "", "status": "FINISH", "documents": []},
]


MALFORMED_CONNECTFI = [
    b"{}",
    json.dumps({"code": "0", "data": {"applicationId": "iapp_1"}}).encode(),
    envelope().replace(b'"code": "0"', b'"code": "customerNotFound"'),
    envelope().replace(b"cstap_5mBHiIx3QbkvEpjGfKsI9k", b"cstap/../x"),
    envelope().replace(b'"status": "completed"', b'"status": 1'),
]


async def test_a_malformed_body_is_400_and_no_event() -> None:
    async with running() as gw:
        for body in MALFORMED_AUCO:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            answer = await gw.client.post(
                "/webhooks/auco", content=raw, headers={HEADER: SECRET}
            )
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json() == {"status": "malformed"}
        for raw in MALFORMED_CONNECTFI:
            answer = await gw.client.post(f"/webhooks/connectfi/{TOKEN}", content=raw)
            assert answer.status_code == 400, (raw, answer.text)
        assert gw.bus.changes == []


async def test_refusals_are_logged_without_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The signer's id has the wrong type: malformed, with the name, email and
    # phone in the body; the log names the field, never the values.
    body = NOTIFICATION | {"signer": NOTIFICATION["signer"] | {"id": 7}}  # type: ignore[operator]
    caplog.set_level(logging.INFO, logger="gateway")
    async with running() as gw:
        answer = await gw.client.post(
            "/webhooks/auco", json=body, headers={HEADER: SECRET}
        )
        assert answer.status_code == 400
        answer = await gw.client.post(
            "/webhooks/auco", json=NOTIFICATION, headers={HEADER: SECRET}
        )
        assert answer.status_code == 200
    logged = caplog.text
    assert "signer.id" in logged
    for personal in ("Ana", "Pérez", "ana.perez", "example.com", "3001112233"):
        assert personal not in logged, personal
    assert SECRET not in logged


async def test_a_body_over_the_limit_is_413_and_no_event() -> None:
    async with running(settings(webhook_max_bytes=512)) as gw:
        big = NOTIFICATION | {"message": "x" * 600}
        answer = await gw.client.post(
            "/webhooks/auco", json=big, headers={HEADER: SECRET}
        )
        assert answer.status_code == 413
        # Streamed with no Content-Length: cut at the limit too.

        async def chunks() -> Any:
            for _ in range(10):
                yield b" " * 100

        answer = await gw.client.post(
            "/webhooks/auco", content=chunks(), headers={HEADER: SECRET}
        )
        assert answer.status_code == 413
        assert gw.bus.changes == []


async def test_a_package_event_is_acknowledged_without_an_event() -> None:
    package = {
        "package": "64b7f1c2e4b0a1a2b3c4d5e6",
        "name": "Paquete",
        "status": "SIGNED_PACKAGE",
        "documents": [{"code": "DOCUMENTCODE", "name": "Contrato", "url": "https://x"}],
    }
    async with running() as gw:
        answer = await gw.client.post(
            "/webhooks/auco", json=package, headers={HEADER: SECRET}
        )
        assert answer.json() == {"status": "ignored"}
        assert gw.bus.changes == []


async def test_a_receiver_with_no_secret_before_a_real_provider_is_off() -> None:
    # Auco real and no webhook secret: the receiver answers 404 to everyone.
    config = Settings(
        auco_url="http://auco.invalid/v1.5/ext",
        auth_jwt_secret="x" * 32,
        connectfi_webhook_token=TOKEN,
    )
    async with running(config) as gw:
        for headers in ({}, {HEADER: ""}, {HEADER: "None"}):
            answer = await gw.client.post(
                "/webhooks/auco", json=NOTIFICATION, headers=headers
            )
            assert answer.status_code == 404
        assert gw.bus.changes == []


async def test_make_run_needs_no_configuration() -> None:
    # No secret, no token configured: random ones, known to the embedded sandboxes.
    async with running(Settings(sandbox_webhook_time_factor=0.0001)) as gw:
        assert gw.webhooks.auco_secret and len(gw.webhooks.auco_secret) >= 32
        assert gw.webhooks.connectfi_token and len(gw.webhooks.connectfi_token) >= 32
        three_signer_document(gw.auco_store)
        await gw.auco_hooks.sender.drain()
        assert [c.cause for c in gw.bus.changes] == ["AUCO:CREATE"]


async def test_a_resolved_manual_review_makes_one_change_for_that_application() -> None:
    from schema import ids

    async with running() as gw:
        store = gw.connectfi_store
        waiting = next(
            a
            for a in store.applications_of(JOURNEY_CUSTOMER_ID)
            if a.record["status"] == "waiting_review"
        )
        application_id = waiting.record["applicationId"]
        key = f"{JOURNEY_CUSTOMER_ID}:{application_id}"
        gid = ids.encode("Application", Provider.CONNECTFI, key)
        query = "query($id: ID!) { application(id: $id) { id state } }"
        before = await gw.client.post(
            "/graphql", json={"query": query, "variables": {"id": gid}}
        )
        assert before.json()["data"]["application"]["state"] == "RUNNING"
        async with gw.sandbox_client(Provider.CONNECTFI) as sandbox:
            path = f"/_sandbox/applications/{application_id}/review"
            answer = await sandbox.post(path, json={"outcome": "Approved"})
            assert answer.status_code == 200, answer.text
            await store.webhooks.drain()
            again = await sandbox.post(path, json={"outcome": "Denied"})
            assert again.status_code == 409
        await store.webhooks.drain()
        assert len(gw.bus.changes) == 1
        change = gw.bus.changes[0]
        assert (change.kind, change.provider, change.key) == (
            "Application",
            Provider.CONNECTFI,
            key,
        )
        assert (change.state, change.cause) == ("APPROVED", "CONNECTFI:webhook")
        # The posted body is connectFi's envelope, to the token's URL.
        (attempt,) = store.webhooks.attempts
        assert attempt.url.endswith(f"/webhooks/connectfi/{TOKEN}")
        posted = json.loads(attempt.body)
        assert posted["code"] == "0"
        assert posted["data"]["applicationId"] == application_id
        # The change's key is the record's global id: it reads the new state.
        after = await gw.client.post(
            "/graphql", json={"query": query, "variables": {"id": gid}}
        )
        assert after.json()["data"]["application"] == {"id": gid, "state": "APPROVED"}


async def test_make_run_signs_through_the_gateway_onto_its_event_bus() -> None:
    # As with `make run`: nothing configured, the app's own in-process bus, the
    # embedded sandbox's participant routes reached through the gateway.
    config = Settings(sandbox_webhook_time_factor=0.0001)
    sandboxes = create_sandboxes(config)
    app = create_app(config, sandboxes=sandboxes)
    bus: InProcessBus = app.state.events
    listener = bus.listen()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://g"
        ) as client:
            auco = sandboxes[Provider.AUCO].store
            three_signer_document(auco)
            for n in (1, 2, 3):
                answer = await client.post(
                    "/_sandbox/auco/documents/THREESIGN1/sign",
                    json={"email": f"signer{n}@example.com"},
                )
                assert answer.status_code == 200, answer.text
            assert answer.json() == {"code": "THREESIGN1", "status": "FINISH"}
            refused = await client.post(
                "/_sandbox/auco/documents/THREESIGN1/sign",
                json={"email": "signer1@example.com"},
            )
            assert refused.status_code == 409
            absent = await client.post("/_sandbox/nobody/x", json={})
            assert absent.status_code == 404
            await auco.webhooks.sender.drain()
    listener.close()
    causes = [change.cause async for change in listener]
    assert causes == ["AUCO:CREATE"] + ["AUCO:NOTIFICATION"] * 3 + ["AUCO:FINISH"]


async def test_a_real_provider_has_no_sandbox_route() -> None:
    config = Settings(
        connectfi_url="http://connectfi.invalid",
        auth_jwt_secret="x" * 32,
        connectfi_webhook_token=TOKEN,
    )
    async with running(config) as gw:
        answer = await gw.client.post(
            "/_sandbox/connectfi/applications/iapp_x/review",
            json={"outcome": "Approved"},
        )
        assert answer.status_code == 404
