"""What a page of 50 applications with their documents costs upstream."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.sandbox_kit import RecordedRequest
from gateway.settings import Settings
from tests.conftest import Gateway

BOUND = 16  # calls in flight to a provider at once, pinned to show it holds


@pytest.fixture
def settings() -> Settings:
    return Settings(max_concurrency_per_provider=BOUND)


PAGE = """
query WithDocuments($filter: ApplicationFilter) {
  applications(filter: $filter, first: 50) {
    edges { node { id provider providerId state
                   documents { id provider providerId name size } } }
  }
}"""


def peak_concurrency(calls: list[RecordedRequest]) -> int:
    events = sorted([(c.started, 1) for c in calls] + [(c.ended, -1) for c in calls])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


async def test_fifty_apiture_applications_with_documents_cost_one_round_of_51(
    gateway: Gateway,
) -> None:
    gateway.apiture.control.latency = 0.02

    data = await gateway.data(PAGE, {"filter": {"providers": ["APITURE"]}})

    edges = data["applications"]["edges"]
    assert len(edges) == 50
    store = gateway.apiture.store
    for edge in edges:
        listed = store.application(edge["node"]["providerId"])["documents"]
        assert len(edge["node"]["documents"]) == len(listed)
    assert sum(len(e["node"]["documents"]) for e in edges) > 0
    lists = gateway.apiture.control.matching("GET", "/accountApplications/applications")
    details = gateway.apiture.control.matching(
        "GET", "/accountApplications/applications/.+"
    )
    assert len(lists) == 1
    assert len(details) == len({d.path for d in details}) == 50
    assert gateway.upstream_calls() == 51
    # One round: every detail starts after the list and before any detail could
    # have been waited for in sequence; at most BOUND at once.
    assert min(d.started for d in details) >= lists[0].ended
    assert 2 <= peak_concurrency(details) <= BOUND
    print(
        f"\n50 Apiture applications with documents: {len(lists)} list + "
        f"{len(details)} detail GETs = {gateway.upstream_calls()} upstream calls, "
        f"at most {peak_concurrency(details)} at once"
    )


async def test_fifty_connectfi_applications_share_one_mambu_listing(
    gateway: Gateway,
) -> None:
    store = gateway.connectfi.store
    start = datetime(2024, 6, 1, tzinfo=UTC)
    for n in range(48):  # the seed customer's 2, and 48 more
        store.add_application(
            SEED_CUSTOMER_ID, status="running", created_at=start + timedelta(hours=n)
        )
    holder = gateway.mambu.store.holder("CLIENT", SEED_CUSTOMER_ID)
    documents = [d.encoded_key for d in gateway.mambu.store.documents_of(holder)]
    assert documents

    data = await gateway.data(PAGE, {"filter": {"customerId": SEED_CUSTOMER_ID}})

    edges = data["applications"]["edges"]
    assert len(edges) == 50
    assert {e["node"]["provider"] for e in edges} == {"CONNECTFI"}
    for edge in edges:
        assert [d["providerId"] for d in edge["node"]["documents"]] == documents
    connectfi = [r.path for r in gateway.connectfi.control.requests]
    mambu = [(r.method, r.path) for r in gateway.mambu.control.requests]
    assert connectfi == ["/auth/get-token", "/akepa/list"]
    assert mambu == [("GET", f"/api/clients/{SEED_CUSTOMER_ID}/documents")]
    assert gateway.apiture.control.requests == []
    print(
        f"\n50 connectFi applications with documents: {len(connectfi)} connectFi "
        f"calls (login, list) + {len(mambu)} Mambu listing = "
        f"{gateway.upstream_calls()} upstream calls"
    )


async def test_a_customers_documents_are_read_alongside_its_list(
    gateway: Gateway,
) -> None:
    # The Mambu client to read is the filter's customer: known before connectFi
    # answers, so both reads make one round trip.
    gateway.connectfi.control.latency = 0.05
    variables = {"filter": {"customerId": SEED_CUSTOMER_ID, "providers": ["CONNECTFI"]}}

    data = await gateway.data(PAGE, variables)

    edges = data["applications"]["edges"]
    assert edges and all(e["node"]["documents"] for e in edges)
    [listing] = gateway.connectfi.control.matching("POST", "/akepa/list")
    [documents] = gateway.mambu.control.requests
    assert documents.path == f"/api/clients/{SEED_CUSTOMER_ID}/documents"
    assert documents.started < listing.ended


async def test_documents_not_selected_are_not_read(gateway: Gateway) -> None:
    query = PAGE.replace("documents { id provider providerId name size }", "")
    data = await gateway.data(query, {"filter": {"customerId": SEED_CUSTOMER_ID}})
    assert data["applications"]["edges"]
    assert gateway.mambu.control.requests == []


async def test_a_customer_without_applications_costs_one_mambu_read(
    gateway: Gateway,
) -> None:
    # The price of reading early: a customer with no application (here none
    # that Mambu knows either) still had its documents asked for, once. The
    # answer is unaffected.
    body = await gateway.execute(PAGE, {"filter": {"customerId": "cstap_nobody"}})
    assert body == {"data": {"applications": {"edges": []}}}
    # In-process sandboxes without latency answer without the loop ever
    # waiting: the early read may not have left before the answer did (an
    # upstream read runs in its caller's task, adapters/transport/singleflight).
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(gateway.mambu.control.requests) == 1


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kind of each record whose `documents` field had to await a read."""
    import schema.types.application as application
    import schema.types.enrollment as enrollment

    seen: list[str] = []
    for module, name in (
        (application, "documents_of_application"),
        (enrollment, "documents_of_enrollment"),
    ):
        real = getattr(module, name)

        def counting(ctx: Any, record: Any, real: Any = real) -> Any:
            seen.append(type(record).__name__)
            return real(ctx, record)

        monkeypatch.setattr(module, name, counting)
    return seen


async def test_documents_a_detail_holds_are_answered_without_a_read(
    gateway: Gateway, reads: list[str]
) -> None:
    # A detailed Apiture application lists its documents: the field answers
    # them as they are, with nothing to await (no coroutine, no task per
    # application of the page).
    data = await gateway.data(PAGE, {"filter": {"providers": ["APITURE"]}})

    edges = data["applications"]["edges"]
    assert len(edges) == 50 and sum(len(e["node"]["documents"]) for e in edges) > 0
    assert reads == []
    store = gateway.apiture.store
    for edge in edges:
        listed = store.application(edge["node"]["providerId"])["documents"]
        assert [d["providerId"] for d in edge["node"]["documents"]] == [
            d["uri"] for d in listed
        ]


async def test_documents_elsewhere_are_read(gateway: Gateway, reads: list[str]) -> None:
    # A connectFi customer's documents are on its Mambu client: each
    # application's field awaits them (one Mambu read for all).
    data = await gateway.data(PAGE, {"filter": {"customerId": SEED_CUSTOMER_ID}})

    edges = data["applications"]["edges"]
    assert edges and all(e["node"]["documents"] for e in edges)
    assert reads == ["Application"] * len(edges)
    assert len(gateway.mambu.control.requests) == 1
