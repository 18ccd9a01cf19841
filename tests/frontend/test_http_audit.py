"""The graphql-http audit suite against /graphql: every audit passes."""

from __future__ import annotations

from typing import Any

from tests.frontend.conftest import run_node


def test_the_graphql_over_http_audit_passes_without_errors_or_warnings(
    node: str, served: str
) -> None:
    report: dict[str, Any] = run_node(node, "audit.mjs", served)
    totals = report["totals"]
    print(f"graphql-http audit: {totals}")
    assert report["failures"] == []
    assert totals["warn"] == 0
    assert totals["error"] == 0
    assert totals["ok"] >= 60  # the suite has not silently shrunk
