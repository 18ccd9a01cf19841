"""ConnectFiClient's applications against the sandbox: results and requests sent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.envelope import MALFORMED
from adapters.connectfi.mapping import APPLICATION_FIELDS
from adapters.connectfi.sandbox import (
    BULK_APPLICATIONS,
    BULK_CUSTOMER_ID,
    BUSINESS_CUSTOMER_ID,
    JOURNEY_CUSTOMER_ID,
    SEED_CUSTOMER_ID,
    create_app,
)
from adapters.errors import NotFound, ValidationFailed
from adapters.model import Application, ApplicationEntity, Provider, State
from adapters.sandbox_kit import Controlled, Fault

from .support import BASE_URL, FakeClock, logins, paths

EXPECTED_STATES = {
    "running": State.RUNNING,
    "waiting_review": State.RUNNING,
    "pending_journey_application_review": State.RUNNING,
    "pending_step_up": State.BLOCKED,
    "pending_documents": State.BLOCKED,
    "data_request": State.BLOCKED,
    "completed/Approved": State.APPROVED,
    "completed/Denied": State.REJECTED,
}


async def test_listing_the_seed_customer_gives_the_seed_applications(
    client: ConnectFiClient, app: Controlled
) -> None:
    page = await client.list_applications(SEED_CUSTOMER_ID)
    assert page.offset == 0
    assert page.total is None
    assert page.has_more is False
    first = page.items[0]
    assert first == Application(
        provider=Provider.CONNECTFI,
        key=f"{SEED_CUSTOMER_ID}:iapp_1BGgJeDQJFo5MCup15zq9A",
        provider_id="iapp_1BGgJeDQJFo5MCup15zq9A",
        state=State.BLOCKED,
        provider_state="pending_step_up",
        customer_id=SEED_CUSTOMER_ID,
        reference="extRefApp101",
        outcome=None,
        entities=(
            ApplicationEntity(
                entity_id=SEED_CUSTOMER_ID,
                is_customer=True,
                state=State.BLOCKED,
                provider_state="pending_step_up",
                outcome=None,
            ),
        ),
        fields=APPLICATION_FIELDS,
    )
    assert [a.reference for a in page.items] == ["extRefApp101", "extRefApp100"]

    assert paths(app) == ["/auth/get-token", "/akepa/list"]
    login, listing = app.control.requests
    assert json.loads(login.body) == {
        "user": {"login": "sandbox", "password": "sandbox"}
    }
    assert "x-connectfi-token" not in login.headers
    [token] = app.store.tokens
    assert listing.method == "POST"
    assert listing.headers["x-connectfi-token"] == token
    assert listing.headers["content-type"] == "application/json"
    assert json.loads(listing.body) == {
        "customerId": SEED_CUSTOMER_ID,
        "numberOfRecords": 1000,
        "skipRecords": 0,
    }


async def test_the_date_range_and_the_page_are_sent_as_connectfi_wants(
    client: ConnectFiClient, app: Controlled
) -> None:
    page = await client.list_applications(
        BULK_CUSTOMER_ID,
        created_from=datetime(2022, 6, 2, tzinfo=UTC),
        created_to=datetime(2022, 6, 2, 23, 59, 59, 999000),  # naive: UTC
        offset=4,
        limit=10,
    )
    assert [a.reference for a in page.items] == [f"bulk{n}" for n in range(43, 33, -1)]
    assert page.offset == 4
    assert page.has_more is True
    assert json.loads(app.control.requests[-1].body) == {
        "customerId": BULK_CUSTOMER_ID,
        "dateCreateFrom": "2022-06-02T00:00:00.000Z",
        "dateCreateTo": "2022-06-02T23:59:59.999Z",
        "numberOfRecords": 10,
        "skipRecords": 4,
    }


async def test_paging_the_bulk_customer_to_the_end_gives_each_application_once(
    client: ConnectFiClient, app: Controlled
) -> None:
    seen: list[str] = []
    offset, pages = 0, 0
    while True:
        page = await client.list_applications(
            BULK_CUSTOMER_ID, offset=offset, limit=1000
        )
        pages += 1
        seen.extend(a.provider_id for a in page.items)
        offset += len(page.items)
        if not page.has_more:
            break
    assert pages == 2
    assert len(seen) == len(set(seen)) == BULK_APPLICATIONS
    assert seen == app.store.application_ids(BULK_CUSTOMER_ID)
    assert logins(app) == 1


@pytest.mark.parametrize(
    ("customer_id", "offset", "limit", "path"),
    [
        (BULK_CUSTOMER_ID, 0, 1001, ("first",)),
        (BULK_CUSTOMER_ID, 0, 0, ("first",)),
        (BULK_CUSTOMER_ID, -1, 10, ("after",)),
        ("cstap-with-dash", 0, 10, ("filter", "customerId")),
        ("c" * 37, 0, 10, ("filter", "customerId")),
    ],
)
async def test_a_page_connectfi_would_refuse_is_refused_without_a_call(
    client: ConnectFiClient,
    app: Controlled,
    customer_id: str,
    offset: int,
    limit: int,
    path: tuple[str, ...],
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await client.list_applications(customer_id, offset=offset, limit=limit)
    assert [v.path for v in caught.value.violations] == [path]
    assert caught.value.provider is Provider.CONNECTFI
    assert app.control.requests == []


async def test_a_hundred_concurrent_lists_log_in_once(
    client: ConnectFiClient, app: Controlled
) -> None:
    app.control.latency = 0.001  # let the calls overlap
    pages = await asyncio.gather(
        *(client.list_applications(JOURNEY_CUSTOMER_ID, limit=3) for _ in range(100))
    )
    assert all(len(p.items) == 3 for p in pages)
    assert logins(app) == 1
    assert app.control.calls("POST", "/akepa/list") == 100


async def test_every_journey_status_is_normalized(
    client: ConnectFiClient,
) -> None:
    page = await client.list_applications(JOURNEY_CUSTOMER_ID)
    found = {
        "/".join(filter(None, (a.provider_state, a.outcome))): a.state
        for a in page.items
    }
    assert found == EXPECTED_STATES


async def test_business_representatives_become_entities(
    client: ConnectFiClient,
) -> None:
    page = await client.list_applications(BUSINESS_CUSTOMER_ID)
    denied = next(a for a in page.items if a.outcome == "Denied")
    assert denied.state is State.REJECTED
    assert [e.is_customer for e in denied.entities] == [True, False, False]
    assert [e.state for e in denied.entities] == [
        State.APPROVED,
        State.REJECTED,
        State.APPROVED,
    ]
    assert denied.entities[1].outcome == "denied"


async def test_get_applications_asks_status_for_each_key(
    client: ConnectFiClient, app: Controlled
) -> None:
    listed = (await client.list_applications(JOURNEY_CUSTOMER_ID)).items
    app.control.clear()
    keys = [a.key for a in listed]
    found = await client.get_applications([*keys, keys[0]])
    assert list(found) == keys
    assert [found[k] for k in keys] == list(listed)  # a list item is complete
    status_calls = app.control.matching("POST", "/akepa/status")
    assert len(status_calls) == len(keys)  # the duplicate asked once
    assert sorted(json.loads(r.body)["applicationId"] for r in status_calls) == sorted(
        a.provider_id for a in listed
    )
    assert {json.loads(r.body)["customerId"] for r in status_calls} == {
        JOURNEY_CUSTOMER_ID
    }
    assert all(r.headers["x-connectfi-token"] for r in status_calls)


async def test_unknown_and_malformed_keys_are_not_found(
    client: ConnectFiClient, app: Controlled
) -> None:
    unknown = f"{SEED_CUSTOMER_ID}:iapp_nothere"
    other_customers = f"{JOURNEY_CUSTOMER_ID}:iapp_1BGgJeDQJFo5MCup15zq9A"
    malformed = ["no-separator", ":iapp_x", "cstap_x:", "a/b:c", "cstap_x:iapp/../x"]
    found = await client.get_applications([unknown, other_customers, *malformed])
    for key in (unknown, other_customers):
        error = found[key]
        assert isinstance(error, NotFound)
        assert error.provider_code == "applicationNotFound"
        assert error.request_id is not None and len(error.request_id) == 32
    for key in malformed:
        assert isinstance(found[key], NotFound)
    assert app.control.calls("POST", "/akepa/status") == 2


async def test_get_applications_is_bounded(app: Controlled, clock: FakeClock) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://connectfi.test"
    ) as http:
        client = ConnectFiClient(
            http, login="sandbox", password="sandbox", clock=clock, max_concurrency=3
        )
        keys = [
            f"{BULK_CUSTOMER_ID}:{a}"
            for a in app.store.application_ids(BULK_CUSTOMER_ID)[:12]
        ]
        app.control.latency = 0.01
        found = await client.get_applications(keys)
    assert all(isinstance(v, Application) for v in found.values())
    calls = app.control.matching("POST", "/akepa/status")
    events = sorted([(c.started, 1) for c in calls] + [(c.ended, -1) for c in calls])
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most == 3


async def _status_answering_404(body: bytes, content_type: str) -> object:
    app = create_app()
    app.control.inject(
        "^/akepa/status$", Fault(status=404, body=body, content_type=content_type)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as http:
        client = ConnectFiClient(http, login="sandbox", password="sandbox")
        key = f"{SEED_CUSTOMER_ID}:iapp_1BGgJeDQJFo5MCup15zq9A"
        found = await client.get_applications([key])
    assert app.control.calls("POST", "/akepa/status") == 1
    return found[key]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"Not Found", "text/plain"),
        (b"", "application/json"),
        (b"{}", "application/json"),
        (b'{"message": "Not Found"}', "application/json"),
        (b'{"code": "notFound", "requestId": "r1"}', "application/json"),
        (b"<html><body>404</body></html>", "text/html"),
    ],
)
async def test_a_404_from_status_is_no_such_record_not_a_malformed_answer(
    body: bytes, content_type: str
) -> None:
    error = await _status_answering_404(body, content_type)

    assert isinstance(error, NotFound)
    assert str(error) != MALFORMED


@settings(max_examples=15, derandomize=True, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=64),
        st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3).map(
            lambda d: json.dumps(d).encode()
        ),
    )
)
def test_any_404_body_from_status_reads_as_not_found(body: bytes) -> None:
    # A provider answer crosses a trust boundary: whatever a 404 carries, the read
    # is "no such record", never a malformed answer or a crash.
    error = asyncio.run(_status_answering_404(body, "application/json"))

    assert isinstance(error, NotFound)
