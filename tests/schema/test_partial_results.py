"""A provider that fails costs only its own part of the answer."""

from __future__ import annotations

from typing import Any

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.sandbox_kit import Fault
from tests.conftest import Gateway

MERGED = """
query Merged($filter: ApplicationFilter) {
  applications(filter: $filter, first: 50) {
    edges { node { provider providerId } }
    missingProviders
    totalCount
  }
}"""


def contact_with_applications(gateway: Gateway) -> str:
    store = gateway.apiture.store
    for key in store.application_ids:
        applicants = store.application(key).get("applicants") or []
        if applicants:
            href: str = applicants[0]["contact"]["_links"]["self"]["href"]
            return href
    raise AssertionError("no demo application has an applicant contact")


def both(gateway: Gateway) -> dict[str, Any]:
    return {
        "customerId": SEED_CUSTOMER_ID,
        "applicantContact": contact_with_applications(gateway),
    }


async def test_both_providers_answer_one_connection(gateway: Gateway) -> None:
    data = await gateway.data(MERGED, {"filter": both(gateway)})
    providers = {e["node"]["provider"] for e in data["applications"]["edges"]}
    assert providers == {"APITURE", "CONNECTFI"}
    assert data["applications"]["missingProviders"] == []


async def test_a_failing_connectfi_costs_only_its_items(gateway: Gateway) -> None:
    gateway.connectfi.control.inject("^/akepa/list$", Fault(status=500))
    body = await gateway.execute(MERGED, {"filter": both(gateway)})
    page = body["data"]["applications"]
    assert {e["node"]["provider"] for e in page["edges"]} == {"APITURE"}
    assert page["edges"], "Apiture's applications still come back"
    assert page["missingProviders"] == ["CONNECTFI"]
    assert page["totalCount"] is None
    [error] = body["errors"]
    assert error["path"] == ["applications"]
    assert error["extensions"]["provider"] == "CONNECTFI"
    assert error["extensions"]["code"] in {"PROVIDER_UNAVAILABLE", "PROVIDER_ERROR"}


async def test_when_every_provider_fails_the_page_names_them_all(
    gateway: Gateway,
) -> None:
    gateway.apiture.control.inject("applications", Fault(status=503))
    gateway.connectfi.control.inject("^/akepa/list$", Fault(status=500))
    body = await gateway.execute(
        """query Both($filter: ApplicationFilter) {
             providers { name }
             applications(filter: $filter) {
               edges { node { id } } missingProviders totalCount
               pageInfo { hasNextPage }
             }
           }""",
        {"filter": both(gateway)},
    )
    # The connection is not nulled (nor, with it, the whole response): empty,
    # both providers named, an error for each at its path.
    assert len(body["data"]["providers"]) == 4
    page = body["data"]["applications"]
    assert page["edges"] == []
    assert sorted(page["missingProviders"]) == ["APITURE", "CONNECTFI"]
    assert page["totalCount"] is None
    assert page["pageInfo"] == {"hasNextPage": False}
    found = {e["extensions"]["provider"]: e for e in body["errors"]}
    assert sorted(found) == ["APITURE", "CONNECTFI"]
    assert found["APITURE"]["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
    assert all(e["path"] == ["applications"] for e in body["errors"])


DOCUMENTS = """
query Docs($filter: ApplicationFilter) {
  applications(filter: $filter, first: 5) {
    edges { node { providerId state documents { name } } }
  }
}"""


async def test_a_failing_mambu_nulls_only_the_documents(gateway: Gateway) -> None:
    gateway.mambu.control.inject("^/api/", Fault(status=503))
    body = await gateway.execute(
        DOCUMENTS,
        {"filter": {"customerId": SEED_CUSTOMER_ID, "providers": ["CONNECTFI"]}},
    )
    edges = body["data"]["applications"]["edges"]
    assert edges
    for edge in edges:
        assert edge["node"]["state"]  # the connectFi data is all there
        assert edge["node"]["documents"] is None
    assert {e["extensions"]["provider"] for e in body["errors"]} == {"MAMBU"}
    assert all(e["path"][-1] == "documents" for e in body["errors"])


async def test_a_variable_of_the_wrong_type_is_bad_user_input(
    gateway: Gateway,
) -> None:
    body = await gateway.execute(
        "query Q($n: Int) { applications(first: $n) { totalCount } }",
        {"n": "many"},
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$n" in error["message"]
    assert gateway.upstream_calls() == 0


DETAILED = """
query Detailed($filter: ApplicationFilter, $after: String) {
  applications(filter: $filter, first: 50, after: $after) {
    edges { cursor node { provider providerId applicants { name } } }
    missingProviders
    totalCount
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_a_failing_detail_read_costs_only_its_providers_items(
    gateway: Gateway,
) -> None:
    # The list answers; reading an Apiture application's detail (its applicants
    # are not in the summary) fails. ConnectFi's items stay on the page.
    gateway.apiture.control.inject(r"applications/[^/?]+$", Fault(status=500))
    body = await gateway.execute(DETAILED, {"filter": both(gateway)})
    page = body["data"]["applications"]
    assert page["edges"], "connectFi's applications still come back"
    assert {e["node"]["provider"] for e in page["edges"]} == {"CONNECTFI"}
    assert page["missingProviders"] == ["APITURE"]
    assert page["totalCount"] is None
    assert page["pageInfo"]["hasNextPage"] is True
    [error] = body["errors"]
    assert error["path"] == ["applications"]
    assert error["extensions"]["provider"] == "APITURE"

    # Every cursor still points before the first Apiture item left out: once
    # Apiture answers again, reading on from the last cursor returns them all.
    healthy = await gateway.data(
        """query All($filter: ApplicationFilter) {
             applications(filter: $filter, first: 100) {
               edges { node { provider providerId } }
             }
           }""",
        {"filter": both(gateway)},
    )
    apiture = {
        e["node"]["providerId"]
        for e in healthy["applications"]["edges"]
        if e["node"]["provider"] == "APITURE"
    }
    assert apiture
    gateway.apiture.control.clear()
    after = page["edges"][-1]["cursor"]
    again = await gateway.data(DETAILED, {"filter": both(gateway), "after": after})
    resumed = {
        e["node"]["providerId"]
        for e in again["applications"]["edges"]
        if e["node"]["provider"] == "APITURE"
    }
    assert apiture <= resumed
