"""Tracing is configured by the standard OTEL_* variables, off by default; an
incoming traceparent that does not parse starts a new trace, never an error;
upstream spans are named by route templates, never by ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.transport import tracing
from adapters.transport.paths import ROUTE, UNKNOWN_ROUTE, path, route, template_of
from adapters.transport.tracing import send_context
from gateway.tracing import (
    DiscardingExporter,
    Tracing,
    TracingMisconfigured,
    provider_from_environment,
    requested_exporters,
)
from tests.tracing.support import TRACE_ID, Traced, serve_traced

PROPERTY = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, []),  # off by default
        ({"OTEL_SERVICE_NAME": "gw"}, []),  # naming a service turns nothing on
        ({"OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console, Discard"}, ["console", "discard"]),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"},
            [],
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_SDK_DISABLED": "TRUE",
            },
            [],
        ),
    ],
)
def test_the_environment_decides(environ: dict[str, str], exporters: list[str]) -> None:
    assert requested_exporters(environ) == exporters
    made = provider_from_environment(environ)
    assert (made is None) == (not exporters)
    if made is not None:
        made.shutdown()


def test_an_unknown_exporter_or_protocol_is_refused_at_start() -> None:
    with pytest.raises(TracingMisconfigured, match="zipkin"):
        requested_exporters({"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(TracingMisconfigured, match="grpc"):
        provider_from_environment(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        )


def test_off_by_default_in_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    tracing = Tracing.configure()
    assert tracing.provider is None and tracing.tracer is None


def test_the_discarding_exporter_takes_every_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-under-test")
    made = provider_from_environment({"OTEL_TRACES_EXPORTER": "discard"})
    assert made is not None
    assert made.resource.attributes["service.name"] == "gateway-under-test"
    (processor,) = made._active_span_processor._span_processors
    # Where the SDK keeps the exporter moved (1.27: span_exporter; later, a
    # _batch_processor's _exporter).
    inner = getattr(processor, "_batch_processor", processor)
    exporter = getattr(inner, "_exporter", None) or inner.span_exporter
    assert isinstance(exporter, DiscardingExporter)
    with made.get_tracer("t").start_as_current_span("one"):
        pass
    made.force_flush()
    assert exporter.exported == 1
    made.shutdown()


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    async with serve_traced() as running:
        yield running


HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)
ALMOST = st.builds(
    lambda version, trace, span, flags: f"{version}-{trace}-{span}-{flags}",
    st.sampled_from(["00", "ff", "01", "0", "000"]),
    st.sampled_from([TRACE_ID, "0" * 32, TRACE_ID[:-1], TRACE_ID.upper(), ""]),
    st.sampled_from(["00f067aa0ba902b7", "0" * 16, "xyz", ""]),
    st.sampled_from(["01", "00", "1", "zz", "01-extra"]),
)


@PROPERTY
@given(st.one_of(HEADER_TEXT, ALMOST))
async def test_a_malformed_traceparent_starts_a_new_trace(
    traced: Traced, header: str
) -> None:
    traced.exporter.clear()
    response = await traced.gateway.client.post(
        "/graphql",
        json={"query": "query Ping { __typename }"},
        headers={"traceparent": header},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    (operation,) = [s for s in traced.spans() if s.kind is SpanKind.SERVER]
    assert operation.attributes["gateway.outcome"] == "ok"  # type: ignore[index]
    valid = _valid_traceparent(header)
    if valid is None:
        assert operation.parent is None  # a new trace
    else:
        assert operation.parent is not None
        assert f"{operation.context.trace_id:032x}" == valid


def _valid_traceparent(header: str) -> str | None:
    """The trace id of a traceparent the W3C format accepts (version 00, or a
    later version's first four fields), None otherwise."""
    parts = header.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace, span, flags = parts[:4]
    hexdigits = set("0123456789abcdef")
    if not (
        len(version) == 2
        and set(version) <= hexdigits
        and version != "ff"
        and len(trace) == 32
        and set(trace) <= hexdigits
        and trace != "0" * 32
        and len(span) == 16
        and set(span) <= hexdigits
        and span != "0" * 16
        and len(flags) == 2
        and set(flags) <= hexdigits
    ):
        return None
    if version == "00" and len(parts) != 4:
        return None
    return trace


KEYS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)


@settings(derandomize=True, max_examples=200, database=None)
@given(KEYS.filter(lambda k: k not in ("", ".", "..")))
def test_a_route_is_the_path_sent_and_its_template_holds_no_key(key: str) -> None:
    built = route("/api/clients/{holder}/documents", holder=key)
    assert built == path("api", "clients", key, "documents")
    assert template_of(built) == "/api/clients/{holder}/documents"


def test_a_path_without_a_template_is_named_by_no_part_of_it() -> None:
    assert template_of(path("applications", "secret-id")) == UNKNOWN_ROUTE
    assert template_of("/akepa/list") == "/akepa/list"  # a literal path
    assert ROUTE == "gateway.route"


TRACE_STATES = st.lists(
    st.tuples(
        st.from_regex(r"[a-z][a-z0-9_\-*/]{0,20}", fullmatch=True),
        st.from_regex(r"[!-+\--<>-~]{1,20}", fullmatch=True),
    ),
    max_size=4,
    unique_by=lambda kv: kv[0],
)


@settings(derandomize=True, max_examples=200, database=None)
@given(
    st.integers(1, 2**128 - 1),
    st.integers(1, 2**64 - 1),
    st.sampled_from([0, 1]),
    TRACE_STATES,
)
def test_the_trace_context_sent_is_what_the_w3c_propagator_writes(
    trace_id: int, span_id: int, flags: int, state: list[tuple[str, str]]
) -> None:
    context = SpanContext(
        trace_id,
        span_id,
        is_remote=False,
        trace_flags=TraceFlags(flags),
        trace_state=TraceState(state),
    )
    span = NonRecordingSpan(context)
    ours = httpx.Headers()
    send_context(span, ours)
    theirs: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(theirs, set_span_in_context(span))
    assert dict(ours) == theirs


@settings(derandomize=True, max_examples=100, database=None)
@given(
    st.integers(1, 2**128 - 1),
    st.lists(
        st.tuples(st.integers(1, 2**64 - 1), st.sampled_from([0, 1, 3])),
        min_size=1,
        max_size=6,
    ),
)
def test_spans_of_one_trace_each_send_their_own_trace_context(
    trace_id: int, spans: list[tuple[int, int]]
) -> None:
    """The trace id is written once per trace and kept: every span of the trace
    (another span id, other flags) still sends exactly its own ``traceparent``."""
    for span_id, flags in spans:
        span = NonRecordingSpan(
            SpanContext(trace_id, span_id, False, trace_flags=TraceFlags(flags))
        )
        ours = httpx.Headers()
        send_context(span, ours)
        theirs: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(theirs, set_span_in_context(span))
        assert dict(ours) == theirs


def test_the_trace_contexts_kept_are_bounded() -> None:
    for trace_id in range(1, 1001):
        span = NonRecordingSpan(SpanContext(trace_id, 7, False, TraceFlags(1)))
        send_context(span, httpx.Headers())
    assert 0 < len(tracing._TRACEPARENTS) <= tracing._TRACEPARENTS_KEPT


async def test_a_global_tracer_provider_adds_no_span_of_fastapis_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FastAPI 0.160+ traces requests itself once a global provider is set (as
    `opentelemetry-instrument` does): the gateway's spans are the only ones,
    whatever the global provider."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    elsewhere = InMemorySpanExporter()
    global_provider = TracerProvider()
    global_provider.add_span_processor(SimpleSpanProcessor(elsewhere))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: global_provider)
    async with serve_traced() as served:
        answer = await served.gateway.client.post(
            "/graphql", json={"query": "{ providers { provider } }"}
        )
        assert answer.status_code == 200, answer.text
        assert [s.name for s in served.spans()] != []  # the gateway's own
    assert [s.name for s in elsewhere.get_finished_spans()] == []
