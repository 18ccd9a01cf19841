"""Paging Apiture to its end, and what a page costs upstream."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from tests.conftest import Gateway

BOUND = 16  # calls in flight to a provider at once, pinned to show it holds


@pytest.fixture
def settings() -> Settings:
    return Settings(max_concurrency_per_provider=BOUND)


PAGE = """
query Page($first: Int, $after: String) {
  applications(first: $first, after: $after, filter: {providers: [APITURE]}) {
    edges { cursor node { providerId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_walking_applications_by_seven_returns_each_exactly_once(
    gateway: Gateway,
) -> None:
    seen: list[str] = []
    after = None
    for _ in range(100):
        data = await gateway.data(PAGE, {"first": 7, "after": after})
        page = data["applications"]
        seen.extend(e["node"]["providerId"] for e in page["edges"])
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    store_ids = gateway.apiture.store.application_ids
    assert len(seen) == len(set(seen)) == len(store_ids)
    assert set(seen) == set(store_ids)


SUMMARY = """
query Summary {
  applications(first: 50) {
    edges { node { id provider providerId state providerState name
                   applicantName productName createdAt } }
  }
}"""

DETAILED = """
query Detailed {
  applications(first: 50) {
    edges { node { id state fundingAmount { value } availableActions version } }
  }
}"""


async def test_a_page_of_summary_fields_costs_one_upstream_call(
    gateway: Gateway,
) -> None:
    data = await gateway.data(SUMMARY)
    assert len(data["applications"]["edges"]) == 50
    assert gateway.upstream_calls() == 1
    assert (
        gateway.apiture.control.calls("GET", "/accountApplications/applications") == 1
    )


async def test_detail_fields_cost_one_concurrent_call_per_item(
    gateway: Gateway,
) -> None:
    gateway.apiture.control.latency = 0.02
    data = await gateway.data(DETAILED)
    edges = data["applications"]["edges"]
    assert len(edges) == 50
    assert all(e["node"]["version"] for e in edges)
    details = gateway.apiture.control.matching(
        "GET", "/accountApplications/applications/.+"
    )
    assert len(details) == 50
    assert len({d.path for d in details}) == 50  # de-duplicated: one per item
    assert gateway.upstream_calls() == 51
    # They overlap in time, bounded by the per-provider concurrency.
    events = sorted(
        [(d.started, 1) for d in details] + [(d.ended, -1) for d in details]
    )
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert 2 <= peak <= BOUND


@pytest.mark.parametrize(
    ("selection", "details"),
    [
        ("...Row", 0),
        ("... on Application { name state }", 0),
        ("n: name ...Row", 0),
        ("...Row ...Money", 10),
        ("... on Application { fundingAmount { value } }", 10),
        ("x: version", 10),
    ],
)
async def test_fragments_and_aliases_are_read_for_what_they_select(
    gateway: Gateway, selection: str, details: int
) -> None:
    fragments = {
        "Row": "fragment Row on Application { name productName createdAt }",
        "Money": "fragment Money on Application { fundingAmount { value currency } }",
    }
    query = " ".join(
        [
            "query($f: ApplicationFilter) { applications(first: 10, filter: $f) "
            f"{{ edges {{ node {{ id {selection} }} }} }} }}",
            *(text for name, text in fragments.items() if f"...{name}" in selection),
        ]
    )
    for _ in range(2):  # the second time from the cache of what is selected
        gateway.forget_requests()
        data = await gateway.data(query, {"f": {"providers": ["APITURE"]}})
        assert len(data["applications"]["edges"]) == 10
        found = gateway.apiture.control.matching(
            "GET", "/accountApplications/applications/.+"
        )
        assert len(found) == details
