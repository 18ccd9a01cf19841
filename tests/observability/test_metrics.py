"""``/metrics`` after scripted requests, read with prometheus_client's parser: exact
counts, populated histograms, bounded labels (never an id)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.model import Provider
from adapters.sandbox_kit import Fault
from gateway.operations import Operation, load_operations
from gateway.persisted import manifest_json
from gateway.settings import Settings
from schema.ids import encode
from tests.conftest import serve
from tests.observability.scrape import scrape
from tests.schema import multipart
from tests.schema.multipart import File
from tests.security.tokens import secured_settings

OPERATIONS = {o.name: o for o in load_operations()}
LIST = OPERATIONS["ListApplications"]
DETAIL = OPERATIONS["ApplicationDetail"]
UPLOAD = OPERATIONS["UploadDocument"]
REQUESTS = "gateway_graphql_requests_total"
UPSTREAM = "gateway_upstream_requests_total"


def body(operation: Any, **variables: Any) -> dict[str, Any]:
    return {"query": operation.text, "variables": {**operation.variables, **variables}}


async def test_scripted_requests_are_counted_exactly() -> None:
    async with serve(Settings(max_root_fields=2)) as gateway:
        for _ in range(2):
            response = await gateway.client.post("/graphql", json=body(LIST))
            assert "errors" not in response.json()
        mine = "query Mine { providers { name } }"
        assert "errors" not in (await gateway.execute(mine))
        assert (await gateway.execute("{ nope }"))["errors"]
        three = "{ a: providers { name } b: providers { name } c: providers { name } }"
        refused = await gateway.execute(three)
        assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"

        metrics = await scrape(gateway.client)

    assert metrics.value(REQUESTS) == 5
    assert sorted(metrics.labelled(REQUESTS), key=str) == sorted(
        [
            {"operation": "ListApplications", "type": "query", "outcome": "ok"},
            {"operation": "other", "type": "query", "outcome": "ok"},
            {"operation": "other", "type": "query", "outcome": "BAD_USER_INPUT"},
            {"operation": "other", "type": "query", "outcome": "QUERY_TOO_COMPLEX"},
        ],
        key=str,
    )
    assert metrics.value(REQUESTS, operation="ListApplications", outcome="ok") == 2
    assert metrics.value(REQUESTS, operation="other", outcome="ok") == 1
    assert metrics.value("gateway_graphql_errors_total", code="BAD_USER_INPUT") == 1
    assert metrics.value("gateway_limits_refused_total", kind="root_fields") == 1
    # The latency histogram: one observation per request, in its buckets.
    histogram = "gateway_graphql_request_duration_seconds"
    assert metrics.value(f"{histogram}_count", operation="ListApplications") == 2
    assert metrics.value(f"{histogram}_sum", operation="ListApplications") > 0
    assert (
        metrics.value(f"{histogram}_bucket", operation="ListApplications", le="+Inf")
        == 2
    )
    # Upstream: one attempt counted per call the sandboxes received.
    for provider, sandbox in gateway.sandboxes.items():
        received = len(sandbox.control.requests)
        assert metrics.value(UPSTREAM, provider=provider.value) == received, provider
        seconds = "gateway_upstream_request_duration_seconds_count"
        assert metrics.value(seconds, provider=provider.value) == received
    assert metrics.value(UPSTREAM, provider="apiture", route="/applications") == 2
    assert metrics.value(UPSTREAM, attempt="retry") == 0
    # Answers only (304s: Apiture's conditional reads; 4xx: the HEAD probes).
    statuses = {labels["status"] for labels in metrics.labelled(UPSTREAM)}
    assert statuses <= {"2xx", "3xx", "4xx"}
    # Read at scrape time.
    for provider in Provider:
        closed = {"provider": provider.value, "state": "closed"}
        assert metrics.value("gateway_upstream_breaker_state", **closed) == 1
        assert metrics.value("gateway_upstream_in_flight", provider=provider.value) == 0
        limit = "gateway_upstream_concurrency_limit"
        assert metrics.value(limit, provider=provider.value) == 100
    assert metrics.value("gateway_subscriptions_open") == 0


async def test_a_retry_a_detail_route_and_the_caches() -> None:
    async with serve() as gateway:
        key = next(iter(gateway.apiture.store.applications))
        application = encode("Application", Provider.APITURE, key)
        gateway.apiture.control.inject(
            r"/applications/", Fault(status=503, times=1), method="GET"
        )
        before = await scrape(gateway.client)
        detail = await gateway.data(DETAIL.text, {"id": application})
        assert detail["application"]["providerId"] == key
        again = await gateway.data(DETAIL.text, {"id": application})
        assert again == detail
        metrics = await scrape(gateway.client)

    route = "/applications/{applicationId}"
    first = {"provider": "apiture", "route": route, "attempt": "first"}
    assert metrics.value(UPSTREAM, status="5xx", **first) == 1
    # The second read is conditional (the ETag cache): 304.
    assert metrics.value(UPSTREAM, status="3xx", **first) == 1
    assert metrics.value(UPSTREAM, status="2xx", attempt="retry", route=route) == 1
    assert metrics.value("gateway_upstream_retries_total", provider="apiture") == 1
    assert metrics.value(REQUESTS, operation="ApplicationDetail", outcome="ok") == 2
    # The second identical query found its parsed document in the cache.
    hits = "gateway_cache_hits_total"
    assert metrics.value(hits, cache="documents") > before.value(
        hits, cache="documents"
    )
    # What each cache holds, in bytes, and its bound: a parsed document held,
    # within its bound, and every cache with a bound
    held, bound = "gateway_cache_bytes", "gateway_cache_max_bytes"
    assert (
        0
        < metrics.value(held, cache="documents")
        <= metrics.value(bound, cache="documents")
    )
    names = {labels["cache"] for labels in metrics.labelled(held)}
    assert {"documents", "plans", "mapped_answers", "apiture_etag"} <= names
    for name in names:
        assert 0 <= metrics.value(held, cache=name) <= metrics.value(bound, cache=name)


async def test_an_open_breaker_and_a_partial_answer() -> None:
    settings_ = Settings(breaker_threshold=1)
    async with serve(settings_) as gateway:
        gateway.apiture.control.inject(r"/applications", Fault(status=503))
        answer = await gateway.client.post("/graphql", json=body(LIST))
        result = answer.json()
        assert result["errors"][0]["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
        assert result["data"] is not None  # connectFi's applications still listed
        metrics = await scrape(gateway.client)

    assert metrics.value(REQUESTS, operation="ListApplications", outcome="partial") == 1
    open_ = {"provider": "apiture", "state": "open"}
    assert metrics.value("gateway_upstream_breaker_state", **open_) == 1
    assert (
        metrics.value(
            "gateway_upstream_breaker_state", provider="connectfi", state="closed"
        )
        == 1
    )


async def test_a_retry_the_budget_refuses() -> None:
    async with serve(Settings(retry_budget_min=0, retry_budget_ratio=0)) as gateway:
        gateway.apiture.control.inject(r"/applications", Fault(status=503, times=1))
        answer = await gateway.client.post("/graphql", json=body(LIST))
        assert answer.json()["errors"][0]["extensions"]["provider"] == "APITURE"
        metrics = await scrape(gateway.client)
    refusals = "gateway_upstream_retry_budget_refusals_total"
    assert metrics.value(refusals, provider="apiture") == 1
    assert metrics.value("gateway_upstream_retries_total") == 0
    assert metrics.value(UPSTREAM, provider="apiture", status="5xx") == 1


async def test_persisted_queries_uploads_webhooks() -> None:
    async with serve() as gateway:
        client = gateway.client
        known = {"persistedQuery": {"version": 1, "sha256Hash": LIST.sha256}}
        hit = await client.post("/graphql", json={"extensions": known})
        assert "errors" not in hit.json()
        unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
        miss = await client.post("/graphql", json={"extensions": unknown})
        assert miss.json()["errors"][0]["extensions"]["code"] == (
            "PERSISTED_QUERY_NOT_FOUND"
        )
        request = multipart.build(
            UPLOAD.text,
            UPLOAD.variables,
            {"file": File("scan.pdf", "application/pdf", multipart.pdf(50_000))},
        )
        uploaded = await client.post(
            "/graphql", content=request.stream(), headers=request.headers
        )
        assert uploaded.json()["data"]["uploadDocument"]["__typename"] == "Document"
        refused = await client.post(
            "/webhooks/auco", json={}, headers={"X-Auco-Webhook-Secret": "wrong"}
        )
        assert refused.status_code == 401
        metrics = await scrape(client)

    assert metrics.value("gateway_persisted_query_hits_total") == 1
    assert metrics.value("gateway_persisted_query_misses_total") == 1
    assert metrics.value(REQUESTS, operation="ListApplications", outcome="ok") == 1
    assert (
        metrics.value(REQUESTS, operation="other", outcome="PERSISTED_QUERY_NOT_FOUND")
        == 1
    )
    uploads = {"operation": "UploadDocument", "type": "mutation", "outcome": "ok"}
    assert metrics.value(REQUESTS, **uploads) == 1
    assert metrics.value("gateway_upload_bytes_count") == 1
    assert metrics.value("gateway_upload_bytes_sum") == request.length
    assert metrics.value("gateway_upload_duration_seconds_count") == 1
    webhooks = "gateway_webhooks_received_total"
    assert metrics.value(webhooks, provider="auco", outcome="unauthorized") == 1
    assert metrics.value(UPSTREAM, provider="mambu", method="POST") == 1


async def test_authentication_failures_are_counted() -> None:
    async with serve(secured_settings()) as gateway:
        refused = await gateway.client.post("/graphql", json=body(LIST))
        assert refused.status_code == 401
        metrics = await scrape(gateway.client)
    assert metrics.value("gateway_auth_failures_total", transport="http") == 1
    assert metrics.value(REQUESTS, outcome="UNAUTHENTICATED") == 1
    assert metrics.value(UPSTREAM) == 0


# No label ever carries an id ----------------------------------------------------

apiture_keys = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz0123456789_-",
    min_size=8,
    max_size=40,
)
mambu_holders = st.from_regex(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{7,30}", fullmatch=True)


@settings(
    max_examples=8,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    keys=st.lists(apiture_keys, min_size=1, max_size=4, unique=True),
    holder=mambu_holders,
    name=st.text(min_size=8, max_size=30).filter(lambda s: s.strip() == s != ""),
)
def test_no_label_value_carries_an_id(keys: list[str], holder: str, name: str) -> None:
    asyncio.run(_requests_with_ids(keys, holder, name))


async def _requests_with_ids(keys: list[str], holder: str, name: str) -> None:
    async with serve() as gateway:
        for key in keys:
            application = encode("Application", Provider.APITURE, key)
            answer = await gateway.execute(DETAIL.text, {"id": application})
            assert answer["data"]["application"] is None
        documents = OPERATIONS["ApplicantDocuments"]
        owner = {"kind": "MAMBU_CLIENT", "id": holder}
        listed = await gateway.client.post(
            "/graphql",
            json={"query": documents.text, "variables": {"owner": owner}},
            headers={"X-Request-Id": "rid-" + keys[0]},
        )
        assert listed.status_code == 200
        # An operation name the gateway does not know is "other".
        await gateway.client.post(
            "/graphql",
            json={"query": "query Q { providers { name } }", "operationName": name},
        )
        metrics = await scrape(gateway.client)
        received = {
            r.path for s in gateway.sandboxes.values() for r in s.control.requests
        }

    assert any(key in path for path in received for key in keys)  # they went upstream
    values = metrics.label_values()
    for secret in [*keys, holder, name]:
        assert not any(secret in value for value in values), secret
    routes = {labels["route"] for labels in metrics.labelled(UPSTREAM)}
    assert "/applications/{applicationId}" in routes
    assert routes <= {
        "/applications/{applicationId}",
        "/api/{collection}/{holder}/documents",
        "other",
    }


async def test_a_custom_manifest_names_its_operations(tmp_path: Path) -> None:
    text = "query CustomPage { providers { name } }"
    manifest = tmp_path / "manifest.json"
    operation = Operation("CustomPage", "query", "CustomPage.graphql", text)
    manifest.write_text(manifest_json([operation]))
    async with serve(Settings(persisted_manifest=manifest)) as gateway:
        assert "errors" not in await gateway.execute(text)
        assert "errors" not in await gateway.execute(
            "query Other { providers { name } }"
        )
        metrics = await scrape(gateway.client)
    assert metrics.value(REQUESTS, operation="CustomPage", type="query") == 1
    assert metrics.value(REQUESTS, operation="other", type="query") == 1
