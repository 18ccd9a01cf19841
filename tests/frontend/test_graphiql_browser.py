"""GraphiQL in headless Chromium, with every non-loopback address unreachable."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.frontend.conftest import run_node


def test_graphiql_runs_an_example_with_nothing_from_a_cdn(
    node: str, chromium: str, served: str
) -> None:
    shown: dict[str, Any] = run_node(node, "graphiql.browser.mjs", served, chromium)
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
