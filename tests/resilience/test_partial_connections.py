"""A connection is never lost whole to a provider, whichever read of it fails: the
merged lists themselves, a read before them (the owner of a document list) or one
after them (the details of a page).

In process, over the embedded sandboxes; the proxied matrix
(test_proxied_faults.py) drives every fault through real sockets.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.errors import ProviderTimeout, ValidationFailed
from adapters.model import Provider
from adapters.sandbox_kit import Fault
from schema import pagination
from tests.conftest import Gateway

from .support import assert_nothing_leaks, record_ids


def errors_at(body: dict[str, Any], path: list[str]) -> dict[str, str]:
    """provider → code of the errors at ``path``; fails on an error elsewhere."""
    found = {}
    for error in body["errors"]:
        assert error["path"] == path, error
        found[error["extensions"]["provider"]] = error["extensions"]["code"]
    return found


async def test_a_failing_owner_read_leaves_an_empty_page_naming_it(
    gateway: Gateway,
) -> None:
    found = await record_ids(gateway)
    app = await gateway.data(
        "query A($id: ID!) { application(id: $id) { providerId } }",
        {"id": found[Provider.APITURE]},
    )
    owner = {"kind": "APITURE_APPLICATION", "id": app["application"]["providerId"]}
    gateway.apiture.control.inject(r"/applications/[^/]+$", Fault(status=503))

    body = await gateway.execute(
        """query D($owner: DocumentOwnerInput!, $doc: ID!) {
             documents(owner: $owner) {
               edges { node { id } } missingProviders totalCount
               pageInfo { hasNextPage }
             }
             healthy: document(id: $doc) { id }
           }""",
        {"owner": owner, "doc": found[Provider.MAMBU]},
    )

    assert_nothing_leaks(body)
    data = body["data"]
    assert data["healthy"]["id"] == found[Provider.MAMBU]
    assert data["documents"] == {
        "edges": [],
        "missingProviders": ["APITURE"],
        "totalCount": None,
        "pageInfo": {"hasNextPage": False},
    }
    assert errors_at(body, ["documents"]) == {"APITURE": "PROVIDER_UNAVAILABLE"}


async def test_a_failing_detail_read_costs_its_provider_not_the_response(
    gateway: Gateway,
) -> None:
    # fundingAmount is only on an Apiture application's detail: the list is read,
    # then each application, and those reads fail.
    gateway.apiture.control.inject(
        r"/applications/[^/]+$", Fault(status=500), method="GET"
    )
    body = await gateway.execute(
        """query L($c: String!) {
             applications(filter: {providers: [APITURE]}, first: 3) {
               edges { node { id fundingAmount { value } } } missingProviders
             }
             connectfi: applications(filter: {customerId: $c}, first: 3) {
               edges { node { id provider } } missingProviders
             }
           }""",
        {"c": SEED_CUSTOMER_ID},
    )

    assert_nothing_leaks(body)
    data = body["data"]
    assert data["applications"]["edges"] == []
    assert data["applications"]["missingProviders"] == ["APITURE"]
    assert data["connectfi"]["edges"]
    assert data["connectfi"]["missingProviders"] == []
    assert errors_at(body, ["applications"]) == {"APITURE": "PROVIDER_UNAVAILABLE"}


async def test_a_bad_cursor_is_still_the_callers_error(gateway: Gateway) -> None:
    body = await gateway.execute(
        '{ enrollments(after: "not-a-cursor") { totalCount } }'
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert gateway.upstream_calls() == 0


async def test_a_page_of_every_provider_failing_is_empty_and_names_them() -> None:
    async def down(offset: int, limit: int) -> Any:
        raise ProviderTimeout("down", provider=Provider.MAMBU)

    async def rejected(offset: int, limit: int) -> Any:
        raise ProviderTimeout("down", provider=Provider.AUCO)

    after = pagination.encode_cursor({Provider.MAMBU: 4, Provider.AUCO: 2})
    page = await pagination.merged_slice(
        [
            pagination.Source(Provider.MAMBU, down),
            pagination.Source(Provider.AUCO, rejected),
        ],
        after,
        5,
        created_at=lambda _: None,
    )
    assert page.items == []
    assert sorted(p.name for p in page.failures) == ["AUCO", "MAMBU"]
    assert page.start_cursor == after  # asking again resumes where it stood
    assert page.total_count is None
    assert not page.has_next_page


async def test_only_provider_failures_become_missing_items() -> None:
    async def failing() -> pagination.Slice[int]:
        raise ProviderTimeout("down", provider=Provider.MAMBU)

    async def refused() -> pagination.Slice[int]:
        raise ValidationFailed("first must be between 0 and 100")

    page = await pagination.read_or_failed(failing(), "abc")
    assert (page.items, page.start_cursor) == ([], "abc")
    assert list(page.failures) == [Provider.MAMBU]
    with pytest.raises(ValidationFailed):
        await pagination.read_or_failed(refused(), None)
