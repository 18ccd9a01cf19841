"""Every limit, exceeded once: refused with its code before any upstream call."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.settings import Settings
from tests.conftest import Gateway, serve
from tests.schema.multipart import PREFLIGHT, File, build, pdf


@pytest.fixture
async def limited() -> AsyncIterator[Gateway]:
    settings = Settings(
        max_query_depth=5,
        max_aliases=3,
        max_root_fields=3,
        max_tokens=400,
        max_query_cost=2000,
        max_request_bytes=20_000,
        max_upload_files=2,
    )
    async with serve(settings) as gateway:
        yield gateway


DEEP = "{ applications { edges { node { documents { owner { kind } } } } } }"
ALIASES = "{ a: providers { name } b: providers { name } c: providers { name } " + (
    "d: providers { name } }"
)
ROOTS = "{ providers { name } p2: providers { name } nodes(ids: []) { id } " + (
    "applications(first: 1) { totalCount } }"
)
TOKENS = "{ applications(first: 1) { edges { node { " + "id " * 400 + "} } } }"
COSTLY = "{ applications(first: 100) { edges { node { " + (
    "id name state providerId providerState applicants { name email phone } "
    "documents { id name kind status owner { kind id } signers { name email } } "
    "} } } }"
)
WIDE_PAGE = "{ applications(first: 101) { totalCount } }"


@pytest.mark.parametrize(
    ("name", "query", "code"),
    [
        ("depth", DEEP, "QUERY_TOO_COMPLEX"),
        ("aliases", ALIASES, "QUERY_TOO_COMPLEX"),
        ("root fields", ROOTS, "QUERY_TOO_COMPLEX"),
        ("tokens", TOKENS, "QUERY_TOO_COMPLEX"),
        ("cost", COSTLY, "QUERY_TOO_COMPLEX"),
        ("page size", WIDE_PAGE, "QUERY_TOO_COMPLEX"),
    ],
)
async def test_a_query_over_a_limit_is_refused_before_any_call(
    limited: Gateway, name: str, query: str, code: str
) -> None:
    body = await limited.execute(query)
    assert body.get("data") is None, name
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}, body
    assert limited.upstream_calls() == 0


async def test_a_page_size_from_a_variable_is_refused_before_any_call(
    limited: Gateway,
) -> None:
    body = await limited.execute(
        "query Q($n: Int) { applications(first: $n) { totalCount } }", {"n": 500}
    )
    assert body["errors"][0]["extensions"]["code"] in {
        "QUERY_TOO_COMPLEX",
        "BAD_USER_INPUT",
    }
    assert limited.upstream_calls() == 0


async def test_an_ordinary_page_is_within_every_limit(limited: Gateway) -> None:
    body = await limited.execute(
        "{ applications(first: 20) { edges { node { id state documents { id } } } } }"
    )
    assert "errors" not in body


async def test_a_request_body_over_its_limit_is_refused(limited: Gateway) -> None:
    padding = " " * 30_000
    response = await limited.client.post(
        "/graphql", json={"query": "{ providers { name } }" + padding}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert limited.upstream_calls() == 0


UPLOADS = """
mutation U($a: Upload!, $b: Upload!, $c: Upload!) {
  a: uploadDocument(file: $a, input: {owner: {kind: MAMBU_CLIENT, id: "cstap_demo0001"}}) { __typename }
  b: uploadDocument(file: $b, input: {owner: {kind: MAMBU_CLIENT, id: "cstap_demo0001"}}) { __typename }
  c: uploadDocument(file: $c, input: {owner: {kind: MAMBU_CLIENT, id: "cstap_demo0001"}}) { __typename }
}"""  # noqa: E501 - three whole mutations read better on one line each


async def test_too_many_files_in_one_request_are_refused(limited: Gateway) -> None:
    files = {k: File(f"{k}.pdf", "application/pdf", pdf(1000)) for k in "abc"}
    request = build(UPLOADS, {}, files)
    response = await limited.client.post(
        "/graphql", content=request.body(), headers=request.headers
    )
    assert response.status_code == 413
    assert limited.upstream_calls() == 0


UPLOAD = """
mutation U($file: Upload!) {
  uploadDocument(file: $file, input: {owner: {kind: MAMBU_CLIENT, id: "cstap_demo0001"}}) {
    __typename
  }
}"""  # noqa: E501


async def test_a_multipart_request_needs_a_preflight_header(gateway: Gateway) -> None:
    request = build(UPLOAD, {}, {"file": File("a.pdf", "application/pdf", pdf(500))})
    headers = {k: v for k, v in request.headers.items() if k not in PREFLIGHT}
    refused = await gateway.client.post(
        "/graphql", content=request.body(), headers=headers
    )
    assert refused.status_code == 400
    assert "cross-site" in refused.json()["errors"][0]["message"]
    assert gateway.upstream_calls() == 0
    accepted = await gateway.client.post(
        "/graphql", content=request.body(), headers=request.headers
    )
    assert accepted.status_code == 200
    assert accepted.json()["data"]["uploadDocument"]["__typename"] == "Document"


async def test_a_get_operation_needs_a_preflight_header(gateway: Gateway) -> None:
    params = {"query": "{ providers { name } }"}
    refused = await gateway.client.get("/graphql", params=params)
    assert refused.status_code == 400
    accepted = await gateway.client.get(
        "/graphql", params=params, headers={"GraphQL-Preflight": "1"}
    )
    assert accepted.status_code == 200


async def test_a_json_post_needs_no_preflight_header(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/graphql", json={"query": "{ providers { name } }"}
    )
    assert response.status_code == 200


async def test_introspection_and_graphiql_are_off_in_production() -> None:
    async with serve(
        Settings(environment="production", auth_jwt_secret="s" * 32)
    ) as gateway:
        from tests.security.tokens import bearer, token

        response = await gateway.client.post(
            "/graphql",
            json={"query": "{ __schema { types { name } } }"},
            headers=bearer(token(key="s" * 32, audience="x", issuer="y")),
        )
        assert response.status_code == 200
        assert response.json()["errors"]
        page = await gateway.client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
