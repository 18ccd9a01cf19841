"""connectFi identification through the gateway: ``startIdentification`` gives
connectFi ``webhookURL`` = GATEWAY_PUBLIC_URL + ``/webhooks/connectfi/{token}``; the
sandbox posts the manual review to exactly that URL (not a configured one), and a
WebSocket subscriber receives it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.connectfi import checks
from adapters.connectfi.sandbox import JOURNEY_CUSTOMER_ID, SEED_CUSTOMER_ID
from adapters.connectfi.sandbox.schema import IDENTIFICATION, validate
from adapters.model import Provider
from gateway.webhooks.receivers import CONNECTFI_PATH, Webhooks
from schema.live.bus import InProcessBus
from tests.live.support import connect, serving, settle
from tests.security.tokens import bearer, secured_settings, token

PUBLIC_URL = "https://onboarding.bank.test"
START = """mutation Start($input: IdentificationInput!) {
  startIdentification(input: $input) {
    __typename
    ... on Application { id provider state providerState }
    ... on UserError { code message }
  }
}"""
UPDATES = """subscription {
  applicationUpdated { application { id state providerState } state cause }
}"""


def applicant(customer: str) -> dict[str, str]:
    claims = {"connectfi_customer_id": customer, "roles": ["applicant"]}
    return bearer(token(f"applicant-{customer}", **claims))


async def start(
    client: httpx.AsyncClient, url: str, who: dict[str, str], customer: str, ref: str
) -> dict[str, Any]:
    answer = await client.post(
        url,
        headers=who,
        json={
            "query": START,
            "variables": {"input": {"customerId": customer, "reference": ref}},
        },
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["data"]["startIdentification"]
    return found


async def test_a_manual_review_reaches_the_subscriber_through_the_given_url() -> None:
    settings = secured_settings(public_url=PUBLIC_URL)
    async with serving(settings) as served:
        sandbox = served.sandboxes[Provider.CONNECTFI]
        store = sandbox.store
        # Not the configured URL: only the one given when identification starts.
        store.webhook_url = None
        me = applicant(JOURNEY_CUSTOMER_ID)
        async with connect(served, me) as sub, httpx.AsyncClient() as client:
            await sub.subscribe(UPDATES)
            await settle(served, 1)
            started = await start(
                client, served.http_url, me, JOURNEY_CUSTOMER_ID, "kyc1"
            )
            assert started["__typename"] == "Application", started
            assert started["provider"] == "CONNECTFI"
            assert started["providerState"] == "pending_step_up"
            first = await asyncio.wait_for(sub.receive(), 30)
            # The documents uploaded and linked (the sandbox has no /akepa/update):
            # the application waits for a PayGears operator.
            (application_id,) = [
                a
                for a, stored in store.applications.items()
                if stored.record["reference"] == "kyc1"
            ]
            store.set_status(application_id, "waiting_review")
            resolved = await client.post(
                f"http://127.0.0.1:{served.port}/_sandbox/connectfi/applications/"
                f"{application_id}/review",
                json={"outcome": "Approved"},
            )
            assert resolved.status_code == 200, resolved.text
            second = await asyncio.wait_for(sub.receive(), 30)
        sent = [
            r for r in sandbox.control.requests if r.path == "/akepa/identification"
        ]
        attempts = store.webhooks.attempts
    (request,) = sent
    given = json.loads(request.body)
    token_ = served.app.state.webhooks.connectfi_token
    assert given == {
        "customerId": JOURNEY_CUSTOMER_ID,
        "reference": "kyc1",
        "webhookURL": f"{PUBLIC_URL}{CONNECTFI_PATH}/{token_}",
    }
    # Posted once, to exactly that URL, and recorded (200).
    assert [(a.url, a.status) for a in attempts] == [(given["webhookURL"], 200)]
    one = first["payload"]["data"]["applicationUpdated"]
    two = second["payload"]["data"]["applicationUpdated"]
    assert one["cause"] == "mutation:startIdentification"
    assert one["application"]["id"] == started["id"]
    assert two["cause"] == "CONNECTFI:webhook"
    assert two["state"] == "APPROVED"
    assert two["application"] == {
        "id": started["id"],
        "state": "APPROVED",
        "providerState": "completed",
    }


async def test_an_applicant_starts_identification_only_for_their_customer() -> None:
    async with serving(secured_settings()) as served, httpx.AsyncClient() as client:
        sandbox = served.sandboxes[Provider.CONNECTFI]
        me = applicant(JOURNEY_CUSTOMER_ID)
        other = await start(client, served.http_url, me, SEED_CUSTOMER_ID, "kyc2")
        bad = await start(client, served.http_url, me, JOURNEY_CUSTOMER_ID, "no-dash")
        calls = [r.path for r in sandbox.control.requests]
    assert other["__typename"] == "NotFound"
    # connectFi's rule, checked before any call.
    assert bad["__typename"] == "ValidationFailed"
    assert "/akepa/identification" not in calls


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc"]),
    max_size=40,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    customer=st.one_of(TEXT, st.from_regex(r"[0-9a-zA-Z_]{1,36}", fullmatch=True)),
    reference=st.one_of(TEXT, st.from_regex(r"[0-9a-zA-Z]{1,32}", fullmatch=True)),
)
def test_the_client_refuses_what_connectfi_would(customer: str, reference: str) -> None:
    """Input that reaches connectFi's body: the client's checks and the sandbox's
    schema (which plays connectFi) refuse the same fields."""
    body = {"customerId": customer, "reference": reference}
    by_sandbox = {e["instancePath"].strip("/") for e in validate(IDENTIFICATION, body)}
    by_client = {
        v.path[-1] for v in checks.identification_violations(customer, reference, None)
    }
    assert by_client == by_sandbox


def test_a_real_connectfi_is_given_the_public_url_or_none() -> None:
    def webhook_url(**extra: Any) -> str | None:
        settings = secured_settings(
            connectfi_url="https://connectfi.example",
            connectfi_webhook_token="t0ken",
            **extra,
        )
        return Webhooks.from_settings(settings, InProcessBus()).connectfi_url()

    # Without GATEWAY_PUBLIC_URL connectFi could not reach the gateway: no URL.
    assert webhook_url() is None
    assert webhook_url(public_url=f"{PUBLIC_URL}/") == (
        f"{PUBLIC_URL}{CONNECTFI_PATH}/t0ken"
    )
