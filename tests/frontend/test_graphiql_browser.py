"""GraphiQL in headless Chromium, with every non-loopback address unreachable."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from adapters.model import Provider
from schema import ids
from tests.frontend.conftest import run_node


@pytest.fixture(scope="module")
def shown(node: str, chromium: str, served: str) -> dict[str, Any]:
    """What the browser script saw: one Chromium run for every test here."""
    seen: dict[str, Any] = run_node(node, "graphiql.browser.mjs", served, chromium)
    return seen


def test_graphiql_runs_an_example_with_nothing_from_a_cdn(
    shown: dict[str, Any], served: str
) -> None:
    # Every request went to the gateway; none was even attempted elsewhere.
    assert shown["blocked"] == []
    assert {urlsplit(url).netloc for url in shown["requests"]} == {
        urlsplit(served).netloc
    }
    assert shown["consoleErrors"] == []
    # It opened with the examples, the list first, and ran it.
    assert shown["tabs"][0] == "ListApplications"
    assert "query ApplicationDetail" in shown["examples"]
    page = shown["firstTab"]["data"]["applications"]
    assert page["totalCount"] > 0
    assert len(page["edges"]) == 10  # the example's own variables: first 10
    # An example picked from the Examples panel runs with its variables.
    detail = shown["fromPanel"]["data"]["application"]
    assert detail["providerState"] == "running"
    assert detail["applicantName"] == "Omar Snowqueen"


def test_graphiql_shows_the_schema_and_autocompletes(shown: dict[str, Any]) -> None:
    # The Docs panel has the schema (fetched by GraphiQL's introspection query).
    assert shown["docs"] == {
        "rootTypes": [
            "query: Query",
            "mutation: Mutation",
            "subscription: Subscription",
        ],
        "errors": [],
    }
    # Typing "appl" in a selection offers the root fields that start so.
    assert shown["autocomplete"] == ["application", "applications"]
    assert shown["consoleErrors"] == []


def test_a_page_on_another_localhost_port_can_call_the_gateway(
    shown: dict[str, Any], served: str
) -> None:
    calls = shown["crossOrigin"]
    assert urlsplit(calls["origin"]).port != urlsplit(served).port
    names = [p["name"] for p in calls["post"]["data"]["providers"]]
    assert names == ["APITURE", "CONNECTFI", "AUCO", "MAMBU"]
    assert calls["get"] == calls["post"]
    # Without the preflight header the browser still reads why it was refused.
    error = calls["noPreflight"]["errors"][0]
    assert error["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"
    assert "GraphQL-Preflight: 1" in error["message"]


def test_graphiql_runs_the_example_subscription_and_shows_an_event(
    shown: dict[str, Any], served: str
) -> None:
    run = shown["subscription"]
    # Over the gateway's own WebSocket, with GraphiQL's bundled graphql-ws client.
    assert urlsplit(run["frames"]["url"]).netloc == urlsplit(served).netloc
    assert run["frames"]["sent"][:2] == ["connection_init", "subscribe"]
    assert run["frames"]["received"][:2] == ["connection_ack", "next"]
    assert run["signed"] == 200
    # The sandbox's webhook, received by the gateway, shown by the page.
    event = run["shown"]["data"]["documentUpdated"]
    assert event["cause"] in ("AUCO:NOTIFICATION", "AUCO:FINISH")
    assert event["document"]["id"] == ids.encode(
        "Document", Provider.AUCO, "DEMOWAIT01"
    )
    # Read when delivered: the document as it is then. The sandbox's signature
    # sends NOTIFICATION, then FINISH; a NOTIFICATION read after FINISH has
    # landed already finds the document signed (a status never goes back).
    expected = {
        "AUCO:NOTIFICATION": {"AWAITING_SIGNATURE", "SIGNED"},
        "AUCO:FINISH": {"SIGNED"},
    }
    assert event["document"]["status"] in expected[event["cause"]]
    assert shown["consoleErrors"] == []
