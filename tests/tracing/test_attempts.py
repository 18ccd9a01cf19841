"""An upstream attempt's span by the lean tracer's recorder
(``gateway.tracing_attempts``) is the span ``upstream_span`` and
``record_outcome`` make: the two roads side by side, field by field."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from opentelemetry.context import attach, detach
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import set_span_in_context

from adapters.transport.tracing import (
    BODY_BYTES,
    AttemptRecord,
    attempt_recorder,
    start_attempt,
)
from tests.tracing.support import traced_to_memory

ROUTE = "/applications/{applicationId}"


def _fields(span: ReadableSpan) -> dict[str, Any]:
    return {
        "class": type(span),
        "name": span.name,
        "kind": span.kind,
        "parent": span.parent,
        # a root span starts a trace of its own: its flags, not its id
        "trace": (span.parent and span.context.trace_id, span.context.trace_flags),
        "state": span.context.trace_state,
        "remote": span.context.is_remote,
        "attributes": list(span.attributes.items()),
        "dropped": span.dropped_attributes,
        "status": (span.status.status_code, span.status.description),
        "events": span.events,
        "links": span.links,
        "resource": span.resource,
        "scope": span.instrumentation_scope,
    }


OUTCOMES: list[tuple[str, Any]] = [
    ("200", httpx.Response(200, content=b'{"id": 1}')),
    ("200 read", httpx.Response(200, extensions={BODY_BYTES: 42})),
    ("503", httpx.Response(503, content=b"busy")),
    ("404", httpx.Response(404, content=b"")),
    ("dropped", httpx.RemoteProtocolError("dropped")),
    ("timeout", httpx.ReadTimeout("slow")),
    ("cancelled", asyncio.CancelledError()),
    ("bug", KeyError("x")),
]


def _finish(record: AttemptRecord, outcome: Any) -> None:
    if isinstance(outcome, httpx.Response):
        record.finish(outcome, None, None)
    elif isinstance(outcome, httpx.TransportError):
        record.finish(None, outcome, None)
    else:
        record.finish(None, None, outcome)


@pytest.mark.parametrize("parented", [True, False], ids=["child", "root"])
@pytest.mark.parametrize("attempt", [1, 3])
@pytest.mark.parametrize(("label", "outcome"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_the_recorders_span_is_upstream_spans(
    label: str, outcome: Any, attempt: int, parented: bool
) -> None:
    tracer, exporter, _ = traced_to_memory()
    recorder = attempt_recorder(tracer)
    assert recorder is not None
    parent = tracer.start_span("dataloader.batch")
    token = attach(set_span_in_context(parent)) if parented else None
    try:
        made: dict[str, httpx.Request] = {}
        for road, given in (("span", None), ("recorder", recorder)):
            request = made[road] = httpx.Request(
                "GET", "http://apiture/applications/a1", headers={"Accept": "x"}
            )
            record = start_attempt(
                tracer, given, "apiture", request, attempt, 0.25, ROUTE
            )
            assert (type(record).__name__ == "_Attempt") == (road == "recorder")
            _finish(record, outcome)
    finally:
        if token is not None:
            detach(token)
    by_span, by_recorder = exporter.get_finished_spans()

    assert _fields(by_recorder) == _fields(by_span)
    assert by_recorder.start_time is not None and by_recorder.end_time is not None
    assert by_recorder.start_time <= by_recorder.end_time
    for road, span in (("span", by_span), ("recorder", by_recorder)):
        context = span.context
        assert made[road].headers.get_list("traceparent") == [
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        ]
    assert by_recorder.context.span_id != by_span.context.span_id
    if parented:
        assert by_recorder.parent == parent.get_span_context()


def test_the_batch_processors_queue_gets_the_recorders_spans() -> None:
    tracer, exporter, provider = traced_to_memory(BatchSpanProcessor)
    recorder = attempt_recorder(tracer)
    assert recorder is not None
    for n in range(3):
        request = httpx.Request("GET", f"http://apiture/applications/{n}")
        start_attempt(tracer, recorder, "apiture", request, 1, 0.0, ROUTE).finish(
            httpx.Response(200, content=b"{}"), None, None
        )
    provider.force_flush()

    assert [
        s.attributes["http.response.status_code"] for s in exporter.get_finished_spans()
    ] == [200] * 3


def test_where_the_recorder_cannot_the_span_is_made_as_usual() -> None:
    # attributes limited below what an attempt may carry: the SDK's road
    tracer, exporter, _ = traced_to_memory(limits=SpanLimits(max_span_attributes=4))
    request = httpx.Request("GET", "http://apiture/applications/a1")
    record = start_attempt(
        tracer, attempt_recorder(tracer), "apiture", request, 2, 0.5, ROUTE
    )
    assert type(record).__name__ == "_SpanAttempt"
    record.finish(httpx.Response(200, content=b"{}"), None, None)
    (span,) = exporter.get_finished_spans()
    assert len(span.attributes) == 4 and span.dropped_attributes > 0

    # a parent not sampled: the SDK's decision, no recorder
    tracer, exporter, _ = traced_to_memory()
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    unsampled = NonRecordingSpan(SpanContext(7, 9, True, TraceFlags(0)))
    token = attach(set_span_in_context(unsampled))
    try:
        recorder = attempt_recorder(tracer)
        assert recorder is not None
        assert recorder("apiture", request, 1, 0.0, ROUTE) is None
    finally:
        detach(token)
