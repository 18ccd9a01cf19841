"""CORS: a front end on its own dev server may call the gateway; others may not.

And the CSRF refusal says which header is missing (gateway/security.py).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.middleware.cors import CORSMiddleware

from gateway.cors import cors_policy
from gateway.settings import Settings
from tests.conftest import serve
from tests.schema.multipart import PREFLIGHT, File, build, pdf

VITE = "http://localhost:5173"
QUERY = "{ providers { name } }"


def preflight(origin: str, headers: str = "content-type,graphql-preflight") -> dict:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


async def test_a_dev_server_on_localhost_passes_the_preflight() -> None:
    async with serve() as gateway:
        answer = await gateway.client.options("/graphql", headers=preflight(VITE))
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == VITE
        assert answer.headers["access-control-allow-credentials"] == "true"
        allowed = answer.headers["access-control-allow-headers"].lower()
        for header in (
            "content-type",
            "authorization",
            "graphql-preflight",
            "apollo-require-preflight",
            "x-apollo-operation-name",
        ):
            assert header in allowed
        assert gateway.upstream_calls() == 0  # a preflight runs nothing
        # And the request itself comes back readable by the page.
        posted = await gateway.client.post(
            "/graphql", json={"query": QUERY}, headers={"Origin": VITE}
        )
        assert posted.headers["access-control-allow-origin"] == VITE
        assert posted.json()["data"]["providers"][0]["name"] == "APITURE"


async def test_production_allows_no_origin_unless_configured() -> None:
    async with serve(Settings(environment="production")) as gateway:
        answer = await gateway.client.options("/graphql", headers=preflight(VITE))
        assert "access-control-allow-origin" not in answer.headers
        assert answer.status_code == 405


async def test_configured_origins_are_the_only_ones_allowed() -> None:
    app = "https://app.example.com"
    configured = Settings(environment="production", cors_origins=app)
    async with serve(configured) as gateway:
        allowed = await gateway.client.options("/graphql", headers=preflight(app))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == app
        refused = await gateway.client.options("/graphql", headers=preflight(VITE))
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers


def test_origins_come_as_a_comma_separated_or_a_json_list() -> None:
    listed = ["https://a.example.com", "http://localhost:3000"]
    assert Settings(cors_origins=",".join(listed)).cors_origins == listed
    assert Settings(cors_origins=" , ".join(listed) + ",").cors_origins == listed
    assert Settings(cors_origins='["https://a.example.com"]').cors_origins == [
        "https://a.example.com"
    ]
    assert Settings().cors_origins is None


async def test_a_wildcard_allows_any_origin_without_credentials() -> None:
    async with serve(Settings(cors_origins="*")) as gateway:
        answer = await gateway.client.options(
            "/graphql", headers=preflight("https://anywhere.example")
        )
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers


# Origins a browser may send that only look like localhost.
LOOKALIKES = [
    "http://localhost.evil.example",
    "http://127.0.0.1.evil.example",
    "http://evil.example/localhost",
    "https://localhost@evil.example",
    "null",
]


@pytest.mark.parametrize("origin", LOOKALIKES)
async def test_lookalike_origins_are_refused_in_development(origin: str) -> None:
    async with serve() as gateway:
        answer = await gateway.client.options("/graphql", headers=preflight(origin))
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers


labels = st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True)
LOOPBACK = ["localhost", "127.0.0.1", "[::1]"]
hosts = st.one_of(
    st.sampled_from(LOOPBACK),
    labels,
    st.tuples(st.sampled_from(LOOPBACK), labels).map(".".join),
    st.tuples(labels, st.sampled_from(LOOPBACK)).map(".".join),
)
ports = st.one_of(st.none(), st.integers(1, 65535).map(str), labels)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(scheme=st.sampled_from(["http", "https", "ftp"]), host=hosts, port=ports)
def test_development_allows_exactly_the_loopback_origins(
    scheme: str, host: str, port: str | None
) -> None:
    policy = cors_policy(Settings())
    middleware = CORSMiddleware(
        app=None,  # type: ignore[arg-type]  # only its origin check is used
        allow_origins=policy.origins,
        allow_origin_regex=policy.origin_regex,
    )
    origin = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    loopback = (
        scheme in {"http", "https"}
        and host in LOOPBACK
        and (port is None or port.isdigit())
    )
    assert middleware.is_allowed_origin(origin) == loopback


async def test_a_get_without_the_preflight_header_says_which_header_to_add() -> None:
    async with serve() as gateway:
        refused = await gateway.client.get(
            "/graphql", params={"query": QUERY}, headers={"Origin": VITE}
        )
        assert refused.status_code == 400
        # Readable by the page that sent it: the CORS headers are on the refusal.
        assert refused.headers["access-control-allow-origin"] == VITE
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"
        assert error["extensions"]["headers"] == [
            "GraphQL-Preflight",
            "Apollo-Require-Preflight",
        ]
        assert "GET request" in error["message"]
        assert "GraphQL-Preflight: 1" in error["message"]
        assert gateway.upstream_calls() == 0


async def test_a_multipart_post_without_the_preflight_header_says_so() -> None:
    upload = """
    mutation U($file: Upload!) {
      uploadDocument(file: $file, input: {owner: {kind: MAMBU_CLIENT, id: "1"}}) {
        __typename
      }
    }"""
    request = build(upload, {}, {"file": File("a.pdf", "application/pdf", pdf(500))})
    headers = {k: v for k, v in request.headers.items() if k not in PREFLIGHT}
    async with serve() as gateway:
        refused = await gateway.client.post(
            "/graphql", content=request.body(), headers=headers
        )
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"
        assert "multipart/form-data POST" in error["message"]
        assert gateway.upstream_calls() == 0
