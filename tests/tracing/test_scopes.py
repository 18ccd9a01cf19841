"""A block's span by the lean tracer's scope recorder (``gateway.tracing_scopes``)
is the span ``current(tracer.start_span(...))`` makes: the two roads side by
side, over any sequence of what code may do with the span it holds, field by
field (what differs by nature: the ids drawn and the times)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode, get_current_span

from adapters.transport.tracing import current, scope
from gateway.tracing import Tracing
from tests.tracing.support import traced_to_memory


def _fields(span: ReadableSpan) -> dict[str, Any]:
    return {
        "class": type(span),
        "name": span.name,
        "kind": span.kind,
        "parented": span.parent is not None,
        "attributes": list(span.attributes.items()),
        "dropped": span.dropped_attributes,
        "status": (span.status.status_code, span.status.description),
        "events": [
            (e.name, sorted(k for k in e.attributes if k != "exception.stacktrace"))
            for e in span.events
        ],
        "event messages": [e.attributes.get("exception.message") for e in span.events],
        "links": [(link.context.span_id, dict(link.attributes)) for link in span.links],
        "resource": span.resource,
        "scope": span.instrumentation_scope,
        "timed": span.start_time is not None
        and span.end_time is not None
        and span.start_time <= span.end_time,
    }


class Failed(Exception):
    pass


STEPS = st.sampled_from(
    [
        ("set_attributes", ({"gateway.outcome": "ok", "n": 3},)),
        ("set_attributes", ({"list.value": ["a", "b"]},)),  # cleaned: the SDK's
        ("set_attributes", ({"n": 4, "gateway.outcome": "partial"},)),
        ("set_attribute", ("flag", True)),
        ("update_name", ("query Q",)),
        ("set_status", (StatusCode.ERROR, "BAD_USER_INPUT")),
        ("set_status", (StatusCode.OK,)),
        ("add_event", ("retry", {"n": 1})),
        ("child", ()),
    ]
)
ENDINGS = st.sampled_from(["ok", "exception", "cancelled"])
START = st.sampled_from([None, {"gateway.loader": "apiture", "gateway.batch.size": 2}])


def _run(
    road: str,
    tracer: Any,
    steps: list[tuple[str, tuple[Any, ...]]],
    ending: str,
    attributes: dict[str, Any] | None,
    record_exception: bool,
) -> None:
    opened = (
        scope(
            tracer,
            "block",
            attributes=attributes,
            kind=SpanKind.SERVER,
            record_exception=record_exception,
        )
        if road == "scope"
        else current(
            tracer.start_span("block", kind=SpanKind.SERVER, attributes=attributes),
            record_exception=record_exception,
        )
    )
    try:
        with opened as span:
            assert get_current_span() is span
            assert span.is_recording()
            for method, args in steps:
                if method == "child":
                    child = tracer.start_span("child")
                    assert child.parent == span.get_span_context()
                    child.end()
                else:
                    getattr(span, method)(*args)
            if ending == "exception":
                raise Failed("it broke")
            if ending == "cancelled":
                raise asyncio.CancelledError
    except (Failed, asyncio.CancelledError):
        pass
    assert not span.is_recording()
    span.set_attribute("after.end", 1)  # ignored on both roads


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    steps=st.lists(STEPS, max_size=6),
    ending=ENDINGS,
    attributes=START,
    record_exception=st.booleans(),
)
def test_a_scopes_span_is_current_and_start_spans(
    steps: list[tuple[str, tuple[Any, ...]]],
    ending: str,
    attributes: dict[str, Any] | None,
    record_exception: bool,
) -> None:
    found = []
    for road in ("scope", "span"):
        tracer, exporter, _ = traced_to_memory()
        _run(road, tracer, steps, ending, attributes, record_exception)
        found.append([_fields(s) for s in exporter.get_finished_spans()])
    by_scope, by_span = found
    assert by_scope == by_span


def test_the_usual_block_is_recorded_without_a_span_object() -> None:
    tracer, exporter, provider = traced_to_memory(BatchSpanProcessor)
    with scope(tracer, "dataloader.batch", attributes={"gateway.batch.size": 1}) as s:
        assert type(s).__name__ == "_Scope"
        inner = tracer.start_span("GET /x")
        inner.end()
    provider.force_flush()
    by_name = {x.name: x for x in exporter.get_finished_spans()}
    batch, leaf = by_name["dataloader.batch"], by_name["GET /x"]
    assert leaf.parent == batch.context
    assert dict(batch.attributes) == {"gateway.batch.size": 1}
    assert batch.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize("limit", [1, 3])
def test_attributes_past_the_limit_take_the_sdks_road(limit: int) -> None:
    from opentelemetry.sdk.trace import SpanLimits

    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=limit))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer: Any = Tracing(provider).tracer
    with scope(tracer, "block", attributes={"a": 1, "b": 2}) as span:
        span.set_attributes({"c": 3, "d": 4})
    (ended,) = exporter.get_finished_spans()
    assert len(ended.attributes) == limit
    assert ended.dropped_attributes == 4 - limit
