"""Issue 21's traces, read from an in-memory exporter: the span tree of one
request, the trace context each provider receives (both transports), retries as
attempt spans, and nothing at all with tracing off."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from opentelemetry.trace import SpanKind, StatusCode

from adapters.apiture.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY
from adapters.model import Provider
from adapters.sandbox_kit import Controlled, Fault
from adapters.transport.pooled import PooledTransport
from adapters.transport.resilience import ResilientTransport
from gateway.settings import Settings
from gateway.upstreams import _BASE_PATHS, create_sandboxes
from tests.security.tokens import secured_settings, staff
from tests.tracing.support import (
    EVERY_PROVIDER,
    EVERY_PROVIDER_VARIABLES,
    PAGE_WITH_DOCUMENTS,
    PARENT_ID,
    TRACE_ID,
    TRACEPARENT,
    parent_of,
    serve_traced,
)

TRACEPARENT_FORMAT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-01")


async def test_the_span_tree_of_a_page_with_documents() -> None:
    async with serve_traced() as traced:
        data = await traced.gateway.data(
            PAGE_WITH_DOCUMENTS, {"first": 3}, headers={"traceparent": TRACEPARENT}
        )
        spans = traced.spans()
    edges = data["applications"]["edges"]
    assert len(edges) == 3 and any(e["node"]["documents"] for e in edges)

    (operation,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert operation.name == "query PageWithDocuments"
    assert dict(operation.attributes or {}) == {
        "graphql.operation.name": "PageWithDocuments",
        "graphql.operation.type": "query",
        "gateway.cost": operation.attributes["gateway.cost"],  # type: ignore[index]
        "gateway.outcome": "ok",
        "gateway.document.cached": False,
    }
    assert operation.attributes["gateway.cost"] > 3  # type: ignore[index, operator]
    # the caller's trace, continued
    assert operation.parent is not None and operation.parent.is_remote
    assert f"{operation.parent.span_id:016x}" == PARENT_ID
    assert {f"{s.context.trace_id:032x}" for s in spans} == {TRACE_ID}

    for name in ("graphql.parse", "graphql.validate", "graphql.plan"):
        found = [s for s in spans if s.name == name]
        assert found, name
        assert all(parent_of(s, spans) is operation for s in found)

    # the list: one upstream call straight under the operation
    (listing,) = [s for s in spans if s.name == "GET /applications"]
    assert parent_of(listing, spans) is operation
    # the details: one batch of three keys under the operation, a call each
    (batch,) = [s for s in spans if s.name == "dataloader.batch"]
    assert parent_of(batch, spans) is operation
    assert batch.attributes == {
        "gateway.loader": "apiture_application",
        "gateway.batch.size": 3,
    }
    # named by the contract's template, the metrics' label for the same call
    details = [s for s in spans if s.name == "GET /applications/{applicationId}"]
    assert len(details) == 3
    for call in details:
        assert parent_of(call, spans) is batch
        assert call.kind is SpanKind.CLIENT
        attributes = dict(call.attributes or {})
        assert attributes["url.template"] == "/applications/{applicationId}"
        assert attributes["gateway.provider"] == "apiture"
        assert attributes["http.request.method"] == "GET"
        assert attributes["http.response.status_code"] == 200
        assert attributes["gateway.attempt"] == 1
        assert "gateway.retry_delay_s" not in attributes  # not a retry
        assert "http.request.resend_count" not in attributes
        assert attributes["http.response.body.size"] > 100  # type: ignore[operator]
    # the same query again: its document is kept, neither parsed nor validated
    # again (no span for either); its plans too
    async with serve_traced() as traced:
        for _ in range(2):
            traced.exporter.clear()
            await traced.gateway.data(PAGE_WITH_DOCUMENTS, {"first": 3})
        again = traced.spans()
    names = [s.name for s in again]
    assert not {"graphql.parse", "graphql.validate", "graphql.plan"} & set(names)
    (operation,) = [s for s in again if s.kind is SpanKind.SERVER]
    assert operation.attributes["gateway.document.cached"] is True  # type: ignore[index]
    assert names.count("GET /applications/{applicationId}") == 3

    # no span names a record: every upstream span is named by its template
    keys = [e["node"]["id"] for e in edges]
    for span in spans:
        text = span.name + repr(dict(span.attributes or {}))
        assert not any(key in text for key in keys)
        assert "6a8d3e84" not in text  # the first application's key


async def test_every_provider_receives_the_trace_in_process() -> None:
    async with serve_traced() as traced:
        await traced.gateway.data(
            EVERY_PROVIDER,
            EVERY_PROVIDER_VARIABLES,
            headers={"traceparent": TRACEPARENT, "tracestate": "vendor=abc"},
        )
        _assert_every_call_carries_the_trace(traced.gateway.sandboxes, traced.spans())


async def test_every_provider_receives_the_trace_over_the_pooled_transport() -> None:
    sandboxes = create_sandboxes(Settings())
    async with _listening(sandboxes) as urls:
        settings = secured_settings(
            apiture_url=urls[Provider.APITURE],
            apiture_api_key=DEMO_API_KEY,
            apiture_access_token=DEMO_ACCESS_TOKEN,
            connectfi_url=urls[Provider.CONNECTFI],
            connectfi_login="sandbox",
            connectfi_password="sandbox",
            auco_url=urls[Provider.AUCO],
            auco_private_key="prk_sandbox",
            auco_public_key="puk_sandbox",
            mambu_url=urls[Provider.MAMBU],
            mambu_username="sandbox",
            mambu_password="sandbox",
        )
        assert settings.sandboxed() == frozenset()  # every one over a socket
        # none in process: every provider through the pooled transport
        async with serve_traced(settings, {}) as traced:
            transports = [
                c._transport for c in traced.app.state.upstreams.http.values()
            ]
            assert all(isinstance(_inner(t), PooledTransport) for t in transports)
            headers = {**staff(), "traceparent": TRACEPARENT, "tracestate": "v=1"}
            await traced.gateway.data(
                EVERY_PROVIDER, EVERY_PROVIDER_VARIABLES, headers=headers
            )
            _assert_every_call_carries_the_trace(sandboxes, traced.spans())


def _assert_every_call_carries_the_trace(
    sandboxes: dict[Provider, Controlled], spans: list
) -> None:
    attempts = {
        f"{s.context.span_id:016x}": s for s in spans if s.kind is SpanKind.CLIENT
    }
    for provider in Provider:
        requests = sandboxes[provider].control.requests
        assert requests, f"{provider.value} was not called"
        for request in requests:
            found = TRACEPARENT_FORMAT.fullmatch(request.headers["traceparent"])
            assert found, request.headers["traceparent"]
            assert found[1] == TRACE_ID
            # its parent: the span of this very attempt, to this provider
            span = attempts[found[2]]
            assert span.attributes["gateway.provider"] == provider.value  # type: ignore[index]
            assert request.headers["tracestate"] in ("vendor=abc", "v=1")
    assert len(attempts) == sum(len(s.control.requests) for s in sandboxes.values())


async def test_a_retried_read_is_one_span_per_attempt() -> None:
    settings = Settings(retry_backoff=0.002, retry_backoff_max=0.004)
    async with serve_traced(settings) as traced:
        apiture = traced.gateway.apiture
        apiture.control.inject(
            r"/applications/[^/]+$", Fault(status=503, retry_after="0", times=1)
        )
        await traced.gateway.data(PAGE_WITH_DOCUMENTS, {"first": 1})
        spans = traced.spans()
        sent = [r.headers["traceparent"] for r in apiture.control.requests]
    first, second = [s for s in spans if s.name == "GET /applications/{applicationId}"]
    assert first.attributes["gateway.attempt"] == 1  # type: ignore[index]
    assert first.attributes["http.response.status_code"] == 503  # type: ignore[index]
    assert first.attributes["error.type"] == "503"  # type: ignore[index]
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["gateway.attempt"] == 2  # type: ignore[index]
    assert second.attributes["http.request.resend_count"] == 1  # type: ignore[index]
    delay = second.attributes["gateway.retry_delay_s"]  # type: ignore[index]
    assert 0.001 <= delay <= 0.004  # type: ignore[operator]
    assert second.attributes["http.response.status_code"] == 200  # type: ignore[index]
    assert first.parent == second.parent  # the same batch
    # each attempt sent its own span as the provider's parent
    assert [s.split("-")[2] for s in sent[1:]] == [
        f"{s.context.span_id:016x}" for s in (first, second)
    ]


async def test_a_failed_operation_says_how() -> None:
    async with serve_traced() as traced:
        body = await traced.gateway.execute("query Broken { nope }")
        (operation,) = [s for s in traced.spans() if s.kind is SpanKind.SERVER]
    assert body["errors"]
    assert operation.attributes["gateway.outcome"] == "BAD_USER_INPUT"  # type: ignore[index]
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.name == "query Broken"


async def test_tracing_off_sends_no_trace_context_and_makes_no_span() -> None:
    async with serve_traced(traced=False) as traced:
        assert traced.app.state.tracing.tracer is None
        await traced.gateway.data(
            EVERY_PROVIDER,
            EVERY_PROVIDER_VARIABLES,
            headers={"traceparent": TRACEPARENT},
        )
        upstreams = traced.app.state.upstreams
        transports = [c._transport for c in upstreams.http.values()]
        sandboxes = traced.gateway.sandboxes
    requests = [r for s in sandboxes.values() for r in s.control.requests]
    assert len(requests) >= 4
    assert not any("traceparent" in r.headers for r in requests)
    assert not any("tracestate" in r.headers for r in requests)
    assert traced.spans() == []
    for transport in transports:
        resilient = _resilient(transport)
        assert resilient.tracer is None


def _resilient(transport: object) -> ResilientTransport:
    """The resilient transport under the coalescing layer, if any."""
    found = getattr(transport, "_inner", transport)
    assert isinstance(found, ResilientTransport)
    return found


def _inner(transport: object) -> object:
    return _resilient(transport)._inner


@asynccontextmanager
async def _listening(
    sandboxes: dict[Provider, Controlled],
) -> AsyncIterator[dict[Provider, str]]:
    """Each sandbox served by uvicorn on a free loopback port: provider → the
    base URL a configured provider is given."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    urls: dict[Provider, str] = {}
    try:
        for provider, app in sandboxes.items():
            config = uvicorn.Config(
                app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            servers.append((server, task))
            for _ in range(500):
                if server.started or task.done():
                    break
                await asyncio.sleep(0.01)
            assert server.started, f"{provider.value} sandbox did not start"
            port = server.servers[0].sockets[0].getsockname()[1]
            urls[provider] = f"http://127.0.0.1:{port}{_BASE_PATHS[provider]}"
        yield urls
    finally:
        for server, task in servers:
            server.should_exit = True
            await task


@pytest.fixture(autouse=True)
def _no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests choose tracing themselves, whatever the shell exports."""
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
