"""The gateway's tracer starts spans by a shorter road than the SDK's
(``gateway.tracing.lean``): the spans it makes are the SDK's, field for field
(parent, trace id, flags, trace state, attributes, limits, resource, scope),
and whatever it does not handle goes the SDK's own way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider, sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    Tracer,
    TraceState,
    get_current_span,
    set_span_in_context,
    use_span,
)

from adapters.transport.tracing import current, upstream_span
from gateway.tracing import Tracing, lean

PROPERTY = settings(derandomize=True, max_examples=80, deadline=None, database=None)


class Counting(IdGenerator):
    """Ids 1, 2, 3…: two tracers given one each make the same ids."""

    def __init__(self) -> None:
        self.last = 0

    def generate_span_id(self) -> int:
        self.last += 1
        return self.last

    def generate_trace_id(self) -> int:
        self.last += 1
        return self.last


def _pair(
    sampler: sampling.Sampler | None = None,
    limits: SpanLimits | None = None,
    counting: bool = True,
) -> Iterator[tuple[Tracer, InMemorySpanExporter]]:
    """The SDK's tracer, then the lean one, over providers alike."""
    for make_lean in (False, True):
        provider = TracerProvider(
            sampler=sampler,
            span_limits=limits,
            id_generator=Counting() if counting else None,
        )
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("gateway-test")
        yield (lean(tracer) if make_lean else tracer), exporter


STACK = "exception.stacktrace"  # where it was raised: differs by caller


def _fields(span: ReadableSpan) -> dict[str, Any]:
    return {
        "name": span.name,
        "class": type(span),  # the SDK's ReadableSpan, for either tracer
        "context": span.context,
        "parent": span.parent,
        "kind": span.kind,
        "attributes": list((span.attributes or {}).items()),
        "dropped": span.dropped_attributes,
        "status": (span.status.status_code, span.status.description),
        "resource": span.resource.attributes,
        "scope": span.instrumentation_scope,
        "events": [
            (e.name, {k: v for k, v in (e.attributes or {}).items() if k != STACK})
            for e in span.events
        ],
        "links": [(k.context, dict(k.attributes or {})) for k in span.links],
        "dropped_events": span.dropped_events,
        "dropped_links": span.dropped_links,
        "times": (span.start_time is not None, span.end_time is not None),
    }


REMOTE = SpanContext(
    0xABC,
    0xDEF,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "x")]),
)
UNSAMPLED = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0))


def _script(tracer: Tracer, attributes: dict[str, Any], later: dict[str, Any]) -> None:
    """What the gateway does with spans: a root made current, children with
    attributes at start and later, a leaf ended then written to (ignored), a
    remote parent sampled, one not sampled, and a span with links."""
    root = tracer.start_span("operation", kind=SpanKind.SERVER)
    with use_span(root, end_on_exit=True):
        child = tracer.start_span("batch", attributes=attributes)
        with use_span(child, end_on_exit=True):
            leaf = tracer.start_span("GET /x", kind=SpanKind.CLIENT, attributes=later)
            leaf.set_attributes(later)
            leaf.set_attribute("gateway.attempt", 2)
            leaf.add_event("retry", {"n": 1})
            leaf.add_link(REMOTE, {"why": "batch"})
            leaf.end()
            leaf.set_attribute("after.end", 1)  # ignored, as the SDK does
            leaf.add_event("after.end")
            leaf.add_link(REMOTE)
            leaf.update_name("GET /y")  # ignored too
        root.set_attributes(attributes)
        root.update_name("query Q")
    for parent in (REMOTE, UNSAMPLED):
        context = set_span_in_context(NonRecordingSpan(parent))
        span = tracer.start_span("continued", context=context, attributes=later)
        span.end()
    linked = tracer.start_span("linked", links=[Link(REMOTE)])
    linked.end()


def _compare(
    attributes: dict[str, Any],
    later: dict[str, Any],
    sampler: sampling.Sampler | None = None,
    limits: SpanLimits | None = None,
) -> list[dict[str, Any]]:
    found = []
    for tracer, exporter in _pair(sampler, limits):
        _script(tracer, attributes, later)
        found.append([_fields(s) for s in exporter.get_finished_spans()])
    sdk, lean_ones = found
    assert lean_ones == sdk
    # parent-based: the continued span of an unsampled parent is not recorded
    assert len(sdk) == (6 if sampler in (sampling.ALWAYS_ON, ratio_1) else 5)
    return sdk


ratio_1 = sampling.TraceIdRatioBased(1.0)
GATEWAY_LIKE = {"gateway.loader": "applications", "gateway.batch.size": 3}
OUTCOME = {"http.response.status_code": 200, "gateway.retry_delay_s": 0.25, "ok": True}


def test_the_gateways_tracer_is_the_lean_one_and_makes_the_sdks_spans() -> None:
    provider = TracerProvider()
    assert type(Tracing(provider).tracer).__name__ == "_LeanTracer"
    spans = _compare(GATEWAY_LIKE, OUTCOME)
    operation = spans[2]
    assert operation["name"] == "query Q" and operation["parent"] is None
    assert spans[0]["parent"] == spans[1]["context"]  # leaf → batch
    assert spans[1]["parent"] == operation["context"]  # batch → operation
    assert spans[3]["parent"] == REMOTE
    assert spans[3]["context"].trace_state == REMOTE.trace_state


@pytest.mark.parametrize(
    "sampler",
    [
        sampling.ALWAYS_ON,
        sampling.ParentBased(sampling.ALWAYS_ON),
        sampling.ParentBased(ratio_1),
        ratio_1,
    ],
    ids=["always_on", "parentbased_always_on", "parentbased_ratio", "ratio"],
)
def test_every_sampler_gives_the_sdks_spans(sampler: sampling.Sampler) -> None:
    _compare(GATEWAY_LIKE, OUTCOME, sampler=sampler)


def test_another_sampler_keeps_the_sdks_own_tracer() -> None:
    provider = TracerProvider(sampler=sampling.TraceIdRatioBased(0.5))
    assert type(Tracing(provider).tracer).__name__ == "Tracer"


def test_attribute_limits_are_kept() -> None:
    limits = SpanLimits(max_span_attributes=2, max_span_attribute_length=3)
    spans = _compare({"a": "long value", "b": 1, "c": 2}, OUTCOME, limits=limits)
    assert spans[1]["attributes"] == [("b", 1), ("c", 2)]
    assert spans[1]["dropped"] == 1
    _compare(GATEWAY_LIKE, OUTCOME, limits=SpanLimits(max_span_attributes=3))


VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=4), max_size=3),
    st.binary(max_size=4),
)
ATTRIBUTES = st.dictionaries(st.text(max_size=8), VALUES, max_size=6)


@PROPERTY
@given(attributes=ATTRIBUTES, later=ATTRIBUTES)
def test_any_attributes_end_as_the_sdk_leaves_them(
    attributes: dict[str, Any], later: dict[str, Any]
) -> None:
    """Keys empty, values lists, bytes or None: cleaned (or dropped) exactly as
    the SDK cleans them; plain ones kept as they are."""
    _compare(attributes, later)


def _flags(span: ReadableSpan, spans: list[ReadableSpan]) -> tuple[Any, ...]:
    assert span.context is not None
    parent = span.parent
    local = [i for i, s in enumerate(spans) if parent and s.context == parent]
    return (
        span.name,
        int(span.context.trace_flags),
        span.context.trace_state,
        None if parent is None else (int(parent.trace_flags), parent.is_remote),
        local,
    )


def test_random_trace_ids_are_flagged_as_the_sdk_flags_them() -> None:
    """With the SDK's random ids (newer SDKs flag them in the trace flags): a
    root and its local children carry the flag, a remote parent's own flags
    are continued."""
    found = []
    for tracer, exporter in _pair(counting=False):
        _script(tracer, GATEWAY_LIKE, OUTCOME)
        spans = list(exporter.get_finished_spans())
        found.append([_flags(s, spans) for s in spans])
    assert found[1] == found[0]


def test_a_processor_added_later_gets_the_later_spans() -> None:
    provider = TracerProvider()
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(first))
    tracer = lean(provider.get_tracer("gateway-test"))
    tracer.start_span("before").end()
    provider.add_span_processor(SimpleSpanProcessor(second))
    tracer.start_span("after").end()
    assert [s.name for s in first.get_finished_spans()] == ["before", "after"]
    assert [s.name for s in second.get_finished_spans()] == ["after"]


@pytest.mark.parametrize("record", [True, False])
@pytest.mark.parametrize("error", [None, ValueError("bad key"), KeyboardInterrupt()])
def test_current_is_use_span(record: bool, error: BaseException | None) -> None:
    """The span current inside, its children's parent; on an ``Exception`` the
    exception recorded when asked and the status ERROR; ended either way."""
    found = []
    for make_current in (use_span, current):
        exporter = InMemorySpanExporter()
        provider = TracerProvider(id_generator=Counting())
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = lean(provider.get_tracer("gateway-test"))
        span = tracer.start_span("batch")
        with suppress(BaseException):
            if make_current is use_span:
                block = use_span(span, end_on_exit=True, record_exception=record)
            else:
                block = current(span, record_exception=record)
            with block:
                assert get_current_span() is span
                tracer.start_span("GET /x").end()
                if error is not None:
                    raise error
        assert get_current_span() is not span
        found.append(
            [
                (
                    *_fields(s).items(),
                    [(e.name, sorted(k for k in e.attributes or {})) for e in s.events],
                )
                for s in exporter.get_finished_spans()
            ]
        )
    assert found[1] == found[0]
    assert found[0][0][3] == ("parent", found[0][1][2][1])  # GET /x under batch


@pytest.mark.parametrize("error", [None, asyncio.CancelledError(), ValueError("x")])
def test_an_upstream_span_ends_with_its_block(error: BaseException | None) -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = lean(provider.get_tracer("gateway-test"))
    request = httpx.Request("GET", "http://apiture.test/applications/7")
    with (
        suppress(BaseException),
        upstream_span(
            tracer, "apiture", request, 2, 0.5, "/applications/{applicationId}"
        ) as span,
    ):
        assert span.is_recording()
        if error is not None:
            raise error
    (ended,) = exporter.get_finished_spans()
    assert ended.context is not None
    assert request.headers["traceparent"] == (
        f"00-{ended.context.trace_id:032x}-{ended.context.span_id:016x}-"
        f"{ended.context.trace_flags:02x}"
    )
    assert dict(ended.attributes or {}) == {
        "http.request.method": "GET",
        "url.template": "/applications/{applicationId}",
        "gateway.provider": "apiture",
        "gateway.attempt": 2,
        "http.request.resend_count": 1,
        "gateway.retry_delay_s": 0.5,
    }
    assert ended.status.status_code == (
        StatusCode.UNSET if error is None else StatusCode.ERROR
    )
    assert ended.status.description == (None if error is None else type(error).__name__)


def test_the_gateways_spans_are_made_the_short_way() -> None:
    """With the default limits the lean tracer builds its spans from the
    layout it found (the equivalence above is then the short way's)."""
    tracer: Any = Tracing(TracerProvider()).tracer
    assert tracer.lean_layout is not None
    span = tracer.start_span("x", attributes=GATEWAY_LIKE)
    assert type(span).__name__ == "_LeanSpan" and span.is_recording()
    span.end()
    assert not span.is_recording()


def test_an_sdk_laid_out_otherwise_keeps_its_constructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A span field the short way does not know (another SDK release): the
    layout is refused, spans are built by the SDK's constructor, and they are
    still the SDK's."""
    sdk_init = sdk_trace.Span.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        sdk_init(self, *args, **kwargs)
        self._another_release = []

    monkeypatch.setattr(sdk_trace.Span, "__init__", init)
    tracer: Any = Tracing(TracerProvider()).tracer
    assert type(tracer).__name__ == "_LeanTracer" and tracer.lean_layout is None
    span = tracer.start_span("x")
    assert span._another_release == []
    _compare(GATEWAY_LIKE, OUTCOME)


def test_a_readable_span_maker_that_differs_from_the_sdk_is_refused() -> None:
    """``_readable_maker`` checks what it generated against the SDK's own
    ReadableSpan of the probe: a field it is not given, or a constant that is
    not the probe's, and there is no maker (the fields are then copied)."""
    from gateway.tracing_layout import _ATTEMPT_OWN, _readable_maker

    tracer: Any = Tracing(TracerProvider()).tracer
    layout = tracer.lean_layout
    probe = tracer.start_span("probe", attributes={"a": 1})
    fields = dict(vars(probe))
    expected = vars(sdk_trace.Span._readable_span(probe))
    order = tuple(expected)
    shared = layout.shared

    made = _readable_maker(order, _ATTEMPT_OWN, shared, fields, expected)
    assert made is not None
    assert vars(made(*(fields[f] for f in _ATTEMPT_OWN))) == expected
    # every field as a parameter: the maker every lean span's end uses
    assert _readable_maker(order, order, {}, fields, expected) is not None
    # a field neither given nor constant
    assert _readable_maker(order, _ATTEMPT_OWN[1:], shared, fields, expected) is None
    # a constant that is not the span's own value
    other = {**shared, "_resource": Resource({"service.name": "other"})}
    assert _readable_maker(order, _ATTEMPT_OWN, other, fields, expected) is None
