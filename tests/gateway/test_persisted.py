"""Persisted queries over HTTP: APQ's miss-then-hit, and the allowlist modes."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest

from gateway.operations import load_operations
from gateway.persisted import Manifest, Mode, PersistedQueries, PersistedQueryError
from gateway.settings import Settings
from tests.conftest import Gateway

OPERATIONS = load_operations()
LIST = next(o for o in OPERATIONS if o.name == "ListApplications")
AD_HOC = "query AdHoc { providers { name sandbox } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def mode(name: str) -> pytest.MarkDecorator:
    """Runs the test on a gateway in that persisted-query mode."""
    return pytest.mark.parametrize(
        "settings", [Settings(persisted_queries=name)], ids=[name]
    )


@mode("apq")
async def test_apq_misses_then_registers_then_hits(gateway: Gateway) -> None:
    hash_only = {"extensions": persisted(sha(AD_HOC))}
    miss = await gateway.client.post("/graphql", json=hash_only)
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    register = await gateway.client.post(
        "/graphql", json={"query": AD_HOC, "extensions": persisted(sha(AD_HOC))}
    )
    assert register.json()["data"]["providers"][0]["name"] == "APITURE"

    hit = await gateway.client.post("/graphql", json=hash_only)
    assert hit.status_code == 200
    assert "errors" not in hit.json()
    assert {p["name"] for p in hit.json()["data"]["providers"]} == {
        "APITURE",
        "CONNECTFI",
        "AUCO",
        "MAMBU",
    }


@mode("apq")
async def test_apq_hits_over_get_too(gateway: Gateway) -> None:
    await gateway.client.post(
        "/graphql", json={"query": AD_HOC, "extensions": persisted(sha(AD_HOC))}
    )
    response = await gateway.client.get(
        "/graphql",
        params={
            "extensions": f'{{"persistedQuery": {{"version": 1, "sha256Hash": '
            f'"{sha(AD_HOC)}"}}}}'
        },
        headers={"Accept": "application/json", "GraphQL-Preflight": "1"},
    )
    assert response.json()["data"]["providers"]


@mode("apq")
async def test_the_manifest_operations_hit_at_once(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/graphql",
        json={"variables": {"first": 2}, "extensions": persisted(LIST.sha256)},
    )
    assert len(response.json()["data"]["applications"]["edges"]) == 2


@mode("apq")
async def test_a_hash_that_does_not_match_its_query_is_refused(
    gateway: Gateway,
) -> None:
    response = await gateway.client.post(
        "/graphql", json={"query": AD_HOC, "extensions": persisted("0" * 64)}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    again = await gateway.client.post(
        "/graphql", json={"extensions": persisted("0" * 64)}
    )
    assert again.json()["errors"][0]["message"] == "PersistedQueryNotFound"


@mode("off")
async def test_with_persisted_queries_off_a_hash_is_not_supported(
    gateway: Gateway,
) -> None:
    response = await gateway.client.post(
        "/graphql", json={"extensions": persisted(LIST.sha256)}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


@mode("allowlist")
async def test_the_allowlist_refuses_an_unknown_operation(
    gateway: Gateway,
) -> None:
    response = await gateway.client.post("/graphql", json={"query": AD_HOC})
    assert response.status_code == 403
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body.get("data") is None
    # Nor can a client register it the APQ way.
    register = await gateway.client.post(
        "/graphql", json={"query": AD_HOC, "extensions": persisted(sha(AD_HOC))}
    )
    assert register.status_code == 403
    lookup = await gateway.client.post(
        "/graphql", json={"extensions": persisted(sha(AD_HOC))}
    )
    assert lookup.json()["errors"][0]["message"] == "PersistedQueryNotFound"


@mode("allowlist")
async def test_the_allowlist_runs_its_operations_by_hash_or_by_text(
    gateway: Gateway,
) -> None:
    by_hash = await gateway.client.post(
        "/graphql",
        json={"variables": {"first": 1}, "extensions": persisted(LIST.sha256)},
    )
    assert by_hash.json()["data"]["applications"]["totalCount"] > 0
    # The file as written (comments, layout) matches its normalized body.
    by_text = await gateway.client.post(
        "/graphql", json={"query": LIST.text, "variables": {"first": 1}}
    )
    assert by_text.status_code == 200
    assert by_text.json()["data"]["applications"]["edges"]


@mode("report")
async def test_report_mode_runs_an_unknown_operation_and_logs_it(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.persisted"):
        response = await gateway.client.post("/graphql", json={"query": AD_HOC})
        await gateway.client.post("/graphql", json={"query": AD_HOC})
        await gateway.client.post("/graphql", json={"query": LIST.text})
    assert response.json()["data"]["providers"]
    reports = [r.getMessage() for r in caplog.records if "allowlist" in r.getMessage()]
    assert len(reports) == 1  # once per operation, and never for a listed one
    assert sha(AD_HOC) in reports[0]


def test_the_registry_forgets_the_least_recently_used_query() -> None:
    registry = PersistedQueries(Mode.APQ, cache_size=2)
    queries = [f"query Q{i} {{ __typename }}" for i in range(3)]
    for query in queries:
        registry.resolve(query, persisted(sha(query)))
    with pytest.raises(PersistedQueryError):
        registry.resolve(None, persisted(sha(queries[0])))
    assert registry.resolve(None, persisted(sha(queries[2]))) == queries[2]


def test_the_allowlist_mode_needs_a_manifest() -> None:
    with pytest.raises(ValueError, match="manifest"):
        PersistedQueries(Mode.ALLOWLIST)
    manifest = Manifest.from_operations(OPERATIONS)
    assert LIST.text in manifest
    assert AD_HOC not in manifest
    assert "{ not graphql" not in manifest
