"""connectFi applications through GraphQL: the merged connection with Apiture walked
to its end, both providers asked at once, and a customer with 1203 applications."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from adapters.connectfi.sandbox import (
    BULK_APPLICATIONS,
    BULK_CUSTOMER_ID,
    JOURNEY_CUSTOMER_ID,
)
from adapters.sandbox_kit import Fault, RecordedRequest
from tests.conftest import Gateway

PAGE = """
query Page($filter: ApplicationFilter, $first: Int, $after: String) {
  applications(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id provider providerId customerId state } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def shared_contact(gateway: Gateway) -> tuple[str, set[str]]:
    """An Apiture applicant contact URI on more than one demo application (a joint
    applicant is the primary one elsewhere), and those applications' ids."""
    by_contact: dict[str, set[str]] = {}
    uris: dict[str, str] = {}
    for record in gateway.apiture.store.iter_applications():
        for applicant in record.data["applicants"]:
            contact = applicant["contact"]
            by_contact.setdefault(contact["_id"], set()).add(record.data["_id"])
            uris[contact["_id"]] = contact["_links"]["self"]["href"]
    contact_id = next(c for c, apps in by_contact.items() if len(apps) > 1)
    return uris[contact_id], by_contact[contact_id]


async def walk(
    gateway: Gateway, filter: dict[str, Any], first: int
) -> list[dict[str, Any]]:
    """Every node of the connection, page by page, following endCursor."""
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(2000):
        data = await gateway.data(
            PAGE, {"filter": filter, "first": first, "after": after}
        )
        page = data["applications"]
        assert len(page["edges"]) <= first
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        assert page["edges"], "a page with more to come must not be empty"
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the connection never ended")


@pytest.mark.parametrize("first", [1, 3, 4, 7, 100])
async def test_walking_apiture_and_connectfi_returns_each_application_once(
    gateway: Gateway, first: int
) -> None:
    contact, apiture_ids = shared_contact(gateway)
    connectfi_ids = gateway.connectfi.store.application_ids(JOURNEY_CUSTOMER_ID)
    filter = {"customerId": JOURNEY_CUSTOMER_ID, "applicantContact": contact}

    nodes = await walk(gateway, filter, first)

    seen = Counter((n["provider"], n["providerId"]) for n in nodes)
    assert all(count == 1 for count in seen.values()), seen
    assert set(seen) == {("APITURE", key) for key in apiture_ids} | {
        ("CONNECTFI", key) for key in connectfi_ids
    }
    assert len(apiture_ids) == 2 and len(connectfi_ids) == 8
    # connectFi lists its own order (newest first); the merge keeps it.
    assert [n["providerId"] for n in nodes if n["provider"] == "CONNECTFI"] == list(
        connectfi_ids
    )
    assert {n["customerId"] for n in nodes if n["provider"] == "CONNECTFI"} == {
        JOURNEY_CUSTOMER_ID
    }
    # Upstream, each provider is asked for pages of `first` at growing offsets,
    # Apiture with the applicant filter, connectFi for the customer.
    apiture = gateway.apiture.control.matching(
        "GET", "/accountApplications/applications"
    )
    assert apiture and all(f"limit={first}" in r.query for r in apiture)
    assert all("applicant=" in r.query for r in apiture)
    lists = [
        json.loads(r.body)
        for r in gateway.connectfi.control.matching("POST", "/akepa/list")
    ]
    assert all(b["customerId"] == JOURNEY_CUSTOMER_ID for b in lists)
    assert all(b["numberOfRecords"] == first for b in lists)
    # Each page reads on from its cursor (a page whose items all came from
    # Apiture leaves connectFi's offset where it was, so it is asked again).
    skips = [b["skipRecords"] for b in lists]
    assert skips == sorted(skips) and skips[-1] < len(connectfi_ids)


async def test_a_page_that_splits_a_provider_page_resumes_where_it_stopped(
    gateway: Gateway,
) -> None:
    # 3 a page over 8 connectFi applications: the cursor stops inside the page
    # connectFi sent; the next page starts at the next item, not the next page.
    filter = {"customerId": JOURNEY_CUSTOMER_ID, "providers": ["CONNECTFI"]}
    first = await gateway.data(PAGE, {"filter": filter, "first": 3})
    after = first["applications"]["pageInfo"]["endCursor"]
    gateway.forget_requests()
    second = await gateway.data(PAGE, {"filter": filter, "first": 3, "after": after})
    ids = gateway.connectfi.store.application_ids(JOURNEY_CUSTOMER_ID)
    assert [e["node"]["providerId"] for e in second["applications"]["edges"]] == ids[
        3:6
    ]
    (call,) = gateway.connectfi.control.matching("POST", "/akepa/list")
    assert json.loads(call.body)["skipRecords"] == 3


def overlap(a: RecordedRequest, b: RecordedRequest) -> bool:
    return a.started < b.ended and b.started < a.ended


async def test_apiture_and_connectfi_are_asked_at_the_same_time(
    gateway: Gateway,
) -> None:
    gateway.apiture.control.latency = 0.1
    gateway.connectfi.control.latency = 0.1
    contact, _ = shared_contact(gateway)
    filter = {"customerId": JOURNEY_CUSTOMER_ID, "applicantContact": contact}

    data = await gateway.data(PAGE, {"filter": filter, "first": 20})

    assert len(data["applications"]["edges"]) == 10
    first_apiture = gateway.apiture.control.requests[0]
    first_connectfi = gateway.connectfi.control.requests[0]
    assert first_connectfi.path == "/auth/get-token"  # the login opens its round
    assert overlap(first_apiture, first_connectfi)
    # connectFi's login then its list; Apiture's one call runs alongside the
    # login, not after the list.
    assert gateway.upstream_calls() == 3
    assert first_apiture.ended < gateway.connectfi.control.requests[1].ended


async def test_walking_a_customer_with_1203_applications_by_100(
    gateway: Gateway,
) -> None:
    nodes = await walk(gateway, {"customerId": BULK_CUSTOMER_ID}, 100)

    ids = [n["providerId"] for n in nodes]
    assert len(ids) == len(set(ids)) == BULK_APPLICATIONS
    assert ids == gateway.connectfi.store.application_ids(BULK_CUSTOMER_ID)
    assert {n["provider"] for n in nodes} == {"CONNECTFI"}
    # customerId alone leaves Apiture out; connectFi is paged by 100.
    assert gateway.apiture.control.requests == []
    lists = [
        json.loads(r.body)
        for r in gateway.connectfi.control.matching("POST", "/akepa/list")
    ]
    assert [b["skipRecords"] for b in lists] == list(range(0, 1300, 100))
    assert {b["numberOfRecords"] for b in lists} == {100}
    assert gateway.connectfi.control.calls("POST", "/auth/get-token") == 1


async def test_a_404_from_connectfi_status_reads_as_no_such_application(
    gateway: Gateway,
) -> None:
    # Issue 15: a 404 whose body is not connectFi's envelope is "no such record"
    # (null), not "connectFi sent a malformed answer".
    listed = await gateway.data(
        PAGE,
        {
            "filter": {"customerId": JOURNEY_CUSTOMER_ID, "providers": ["CONNECTFI"]},
            "first": 1,
        },
    )
    application_id = listed["applications"]["edges"][0]["node"]["id"]
    gateway.connectfi.control.inject(
        "^/akepa/status$",
        Fault(status=404, body=b"<html>Not Found</html>", content_type="text/html"),
    )

    body = await gateway.execute(
        "query One($id: ID!) { application(id: $id) { id } }", {"id": application_id}
    )

    assert body == {"data": {"application": None}}
    assert gateway.connectfi.control.calls("POST", "/akepa/status") == 1
