"""A gateway over fresh in-process sandboxes whose spans go to an in-memory
exporter (a tracer provider of the test's own, never the global one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from adapters.connectfi.sandbox import SEED_CUSTOMER_ID
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from gateway.app import create_app
from gateway.settings import Settings
from gateway.upstreams import create_sandboxes
from schema import ids
from tests.conftest import Gateway

# A page of applications with their documents: the list, then one detail read
# per application (a loader's batch), which lists each one's documents.
PAGE_WITH_DOCUMENTS = """
query PageWithDocuments($first: Int) {
  applications(first: $first) {
    edges { node { id provider name documents { id name status } } }
  }
}"""

# Every provider in one request: Apiture's page and details, a connectFi
# customer's applications with the Mambu documents of that customer, an Auco
# document.
EVERY_PROVIDER = """
query EveryProvider($auco: ID!, $customer: String!) {
  page: applications(first: 2) { edges { node { id documents { id } } } }
  customer: applications(
    first: 5, filter: {customerId: $customer, providers: [CONNECTFI]}
  ) { edges { node { id documents { id name } } } }
  signed: document(id: $auco) { id name status }
}"""
EVERY_PROVIDER_VARIABLES = {
    "auco": ids.encode("Document", Provider.AUCO, "DEMOWAIT01"),
    "customer": SEED_CUSTOMER_ID,
}

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@dataclass
class Traced:
    gateway: Gateway
    exporter: InMemorySpanExporter
    app: FastAPI

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]


@asynccontextmanager
async def serve_traced(
    settings: Settings | None = None,
    sandboxes: dict[Provider, Controlled] | None = None,
    *,
    traced: bool = True,
) -> AsyncIterator[Traced]:
    """``tests.conftest.serve`` with spans kept in memory (``traced=False``:
    tracing off, as with no ``OTEL_*`` variable)."""
    provider: TracerProvider | None = None
    settings = settings or Settings()
    chosen = sandboxes if sandboxes is not None else create_sandboxes(settings)
    exporter = InMemorySpanExporter()
    if traced:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, sandboxes=chosen, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway.test"
        ) as client:
            yield Traced(Gateway(client, chosen), exporter, app)


def by_id(spans: Iterable[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans if s.context is not None}


def parent_of(span: ReadableSpan, spans: Iterable[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    return by_id(spans)[span.parent.span_id]


def traced_to_memory(
    processor: type[Any] = SimpleSpanProcessor, limits: SpanLimits | None = None
) -> tuple[Any, InMemorySpanExporter, TracerProvider]:
    """The gateway's tracer (lean) over a provider of its own with ``processor``
    on an in-memory exporter: (tracer, exporter, provider)."""
    from gateway.tracing import Tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(processor(exporter))
    return Tracing(provider).tracer, exporter, provider
