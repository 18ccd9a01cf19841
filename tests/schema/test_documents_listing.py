"""documents(owner:) through GraphQL: every Mambu holder type walked to its end, the
Apiture and connectFi owners, and content fetched only when selected."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.conftest import Gateway

PAGE = """
query Documents($owner: DocumentOwnerInput!, $first: Int, $after: String) {
  documents(owner: $owner, first: $first, after: $after) {
    edges { node { id provider providerId name kind size status owner { kind id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

WITH_CONTENT = """
query Documents($owner: DocumentOwnerInput!, $first: Int) {
  documents(owner: $owner, first: $first) {
    edges { node { providerId name size content } }
  }
}"""

# Every holder type of the Mambu sandbox's demo: (GraphQL kind, holder type, id).
HOLDERS = [
    ("MAMBU_CLIENT", "CLIENT", "cstap_demo0001"),  # 30 documents
    ("MAMBU_GROUP", "GROUP", "2"),  # 27
    ("MAMBU_LOAN", "LOAN_ACCOUNT", "3"),
    ("MAMBU_SAVINGS", "DEPOSIT_ACCOUNT", "2344"),
    ("MAMBU_LOAN_PRODUCT", "LOAN_PRODUCT", "LDP"),
    ("MAMBU_SAVINGS_PRODUCT", "SAVINGS_PRODUCT", "SDP"),
    ("MAMBU_BRANCH", "BRANCH", "b123"),  # 25
    ("MAMBU_CENTRE", "CENTRE", "c123"),
    ("MAMBU_USER", "USER", "demo"),
]
COLLECTIONS = {
    "CLIENT": "clients",
    "GROUP": "groups",
    "LOAN_ACCOUNT": "loans",
    "DEPOSIT_ACCOUNT": "savings",
    "LOAN_PRODUCT": "loanProducts",
    "SAVINGS_PRODUCT": "savingsProducts",
    "BRANCH": "branches",
    "CENTRE": "centres",
    "USER": "users",
}


async def walk(
    gateway: Gateway, owner: dict[str, str], first: int
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(200):
        data = await gateway.data(
            PAGE, {"owner": owner, "first": first, "after": after}
        )
        page = data["documents"]
        assert len(page["edges"]) <= first
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the connection never ended")


def stored(gateway: Gateway, holder_type: str, holder_id: str) -> list[Any]:
    holder = gateway.mambu.store.holder(holder_type, holder_id)
    assert holder is not None
    documents: list[Any] = gateway.mambu.store.documents_of(holder)
    return documents


@pytest.mark.parametrize(("kind", "holder_type", "holder_id"), HOLDERS)
async def test_walking_a_mambu_holders_documents_returns_each_once(
    gateway: Gateway, kind: str, holder_type: str, holder_id: str
) -> None:
    expected = stored(gateway, holder_type, holder_id)
    first = 10

    nodes = await walk(gateway, {"kind": kind, "id": holder_id}, first)

    assert [n["providerId"] for n in nodes] == [d.encoded_key for d in expected]
    assert [(n["name"], n["size"]) for n in nodes] == [
        (d.name, d.file_size) for d in expected
    ]
    assert all(n["provider"] == "MAMBU" and n["status"] == "UPLOADED" for n in nodes)
    assert {(n["owner"]["kind"], n["owner"]["id"]) for n in nodes} == {
        (kind, holder_id)
    }
    # One listing call a page, at the cursor's offset, one more than the page to
    # know whether another follows, and nothing else.
    calls = gateway.mambu.control.requests
    path = f"/api/{COLLECTIONS[holder_type]}/{holder_id}/documents"
    assert {(c.method, c.path) for c in calls} == {("GET", path)}
    pages = max(1, -(-len(expected) // first))  # limit + 1 makes it exact
    assert [parse_qs(c.query) for c in calls] == [
        {"offset": [str(n * first)], "limit": [str(first + 1)]} for n in range(pages)
    ]


async def test_holders_with_more_than_25_documents_page_by_7(
    gateway: Gateway,
) -> None:
    for kind, holder_type, holder_id in (HOLDERS[0], HOLDERS[1], HOLDERS[6]):
        expected = [d.encoded_key for d in stored(gateway, holder_type, holder_id)]
        assert len(expected) >= 25
        nodes = await walk(gateway, {"kind": kind, "id": holder_id}, 7)
        assert [n["providerId"] for n in nodes] == expected


async def test_an_apiture_applications_documents_are_those_it_lists(
    gateway: Gateway,
) -> None:
    record = next(
        r for r in gateway.apiture.store.iter_applications() if r.data["documents"]
    )
    key = record.data["_id"]

    nodes = await walk(gateway, {"kind": "APITURE_APPLICATION", "id": key}, 1)

    assert len(nodes) == len(record.data["documents"])
    assert len({n["id"] for n in nodes}) == len(nodes)
    assert {n["provider"] for n in nodes} == {"APITURE"}
    # The application is read once per page: its representation lists them.
    calls = gateway.apiture.control.requests
    assert {c.path for c in calls} == {f"/accountApplications/applications/{key}"}


async def test_an_apiture_enrollments_documents_are_those_it_lists(
    gateway: Gateway,
) -> None:
    record = next(
        r for r in gateway.apiture.store.iter_enrollments() if r.data.get("documents")
    )
    key = record.data["_id"]

    nodes = await walk(gateway, {"kind": "APITURE_ENROLLMENT", "id": key}, 20)

    assert len(nodes) == len(record.data["documents"])
    assert {n["provider"] for n in nodes} == {"APITURE"}
    assert {c.path for c in gateway.apiture.control.requests} == {
        f"/accountApplications/enrollments/{key}"
    }


async def test_a_connectfi_customers_documents_are_its_mambu_clients(
    gateway: Gateway,
) -> None:
    customer = "cstap_5mBHiIx3QbkvEpjGfKsI9k"  # connectFi's seed customer
    expected = stored(gateway, "CLIENT", customer)
    assert expected

    nodes = await walk(gateway, {"kind": "CONNECTFI_CUSTOMER", "id": customer}, 2)

    assert [n["providerId"] for n in nodes] == [d.encoded_key for d in expected]
    assert {n["provider"] for n in nodes} == {"MAMBU"}
    assert gateway.connectfi.control.requests == []
    assert {c.path for c in gateway.mambu.control.requests} == {
        f"/api/clients/{customer}/documents"
    }


async def test_content_is_fetched_only_when_selected(gateway: Gateway) -> None:
    owner = {"kind": "MAMBU_CLIENT", "id": "cstap_demo0003"}
    await gateway.data(PAGE, {"owner": owner, "first": 50})
    assert gateway.mambu.control.calls("GET", "/api/documents/.+") == 0

    gateway.forget_requests()
    data = await gateway.data(WITH_CONTENT, {"owner": owner, "first": 50})

    nodes = data["documents"]["edges"]
    expected = stored(gateway, "CLIENT", "cstap_demo0003")
    assert len(nodes) == len(expected) > 1
    for edge, document in zip(nodes, expected, strict=True):
        assert base64.b64decode(edge["node"]["content"]) == document.content
        assert edge["node"]["size"] == len(document.content)
    contents = gateway.mambu.control.matching("GET", "/api/documents/.+")
    assert sorted(c.path for c in contents) == sorted(
        f"/api/documents/{d.encoded_key}" for d in expected
    )


async def test_the_seeds_quoted_base64_content_comes_back_decoded_once(
    gateway: Gateway,
) -> None:
    data = await gateway.data(
        WITH_CONTENT, {"owner": {"kind": "MAMBU_CLIENT", "id": "2"}, "first": 10}
    )
    by_name = {e["node"]["name"]: e["node"] for e in data["documents"]["edges"]}
    assert by_name["file_content"]["content"] == "ZmlsZSBjb250ZW50"  # the seed's
