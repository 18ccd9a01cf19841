"""/graphql speaks GraphQL over HTTP: media types and status codes by the spec."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.graphql_transport import GRAPHQL_RESPONSE_JSON, negotiate
from tests.conftest import Gateway

MODERN = {"Accept": GRAPHQL_RESPONSE_JSON}
LEGACY = {"Accept": "application/json"}
PROVIDERS = "query Providers { providers { name } }"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", "application/json"),
        ("text/plain", "application/json"),
    ],
)
def test_the_response_type_follows_the_accept_header(
    accept: str | None, expected: str
) -> None:
    assert negotiate(accept) == expected


async def test_a_client_that_accepts_graphql_response_json_gets_it(
    gateway: Gateway,
) -> None:
    response = await gateway.client.post(
        "/graphql", json={"query": PROVIDERS}, headers=MODERN
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert len(response.json()["data"]["providers"]) == 4


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{", None),  # does not parse
        ("{ noSuchField }", None),  # does not validate
        ("query Q($id: ID!) { application(id: $id) { id } }", {"id": None}),
    ],
    ids=["parse", "validation", "coercion"],
)
async def test_a_request_error_is_a_400_without_data_in_the_modern_type(
    gateway: Gateway, query: str, variables: dict[str, object] | None
) -> None:
    payload = {"query": query, "variables": variables}
    modern = await gateway.client.post("/graphql", json=payload, headers=MODERN)
    assert modern.status_code == 400
    assert modern.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert "data" not in modern.json()
    assert modern.json()["errors"]
    # application/json keeps the legacy 200 for a well-formed request.
    legacy = await gateway.client.post("/graphql", json=payload, headers=LEGACY)
    assert legacy.status_code == 200
    assert legacy.headers["content-type"] == "application/json"
    assert legacy.json()["errors"]


async def test_malformed_requests_are_answered_as_graphql_errors(
    gateway: Gateway,
) -> None:
    bad_json = await gateway.client.post(
        "/graphql",
        content=b'{ "not json',
        headers={"Content-Type": "application/json", **MODERN},
    )
    assert bad_json.status_code == 400
    assert bad_json.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert "JSON" in bad_json.json()["errors"][0]["message"]

    operation_name = await gateway.client.post(
        "/graphql", json={"query": PROVIDERS, "operationName": 0}, headers=LEGACY
    )
    assert operation_name.status_code == 400
    assert "operationName" in operation_name.json()["errors"][0]["message"]

    no_query = await gateway.client.post("/graphql", json={"qeury": PROVIDERS})
    assert no_query.status_code == 400


async def test_a_mutation_over_get_is_refused(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql",
        params={"query": 'mutation { cancelApplication(id: "x") { __typename } }'},
        headers={**MODERN, "GraphQL-Preflight": "1"},
    )
    assert response.status_code in range(400, 500)
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON


async def test_graphql_is_served_before_fastapi_routing_and_the_rest_after(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.routing import APIRouter

    routed: list[str] = []
    real = APIRouter.__call__

    async def counting(self: APIRouter, scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await real(self, scope, receive, send)

    monkeypatch.setattr(APIRouter, "__call__", counting)
    for path in ("/graphql", "/graphql/"):
        response = await gateway.client.post(path, json={"query": PROVIDERS})
        assert response.status_code == 200
        assert {p["name"] for p in response.json()["data"]["providers"]} == {
            "APITURE",
            "CONNECTFI",
            "AUCO",
            "MAMBU",
        }
    assert routed == []
    assert (await gateway.client.get("/healthz")).json()["status"] == "ok"
    assert (await gateway.client.get("/nowhere")).status_code == 404
    assert routed == ["/healthz", "/nowhere"]


async def test_a_graphql_request_still_passes_the_guard(gateway: Gateway) -> None:
    # A GET with a query but no CSRF preflight header is refused before running.
    response = await gateway.client.get("/graphql", params={"query": PROVIDERS})
    assert response.status_code == 400
    assert gateway.upstream_calls() == 0
