"""Every private internal of a library the gateway uses, each behind one small
function, checked here so that a library release that changes one fails this
file by name rather than a request at run time.

- httpx ``Response._get_content_decoder``, behind
  ``adapters.transport.cap.content_decoder``: the public ``aiter_bytes``
  decodes a raw chunk whole, so a gzip bomb inflates past the cap before it is
  counted.
- httpx ``Response._content``, behind ``adapters.transport.cap.answered``: no
  public setter for a body read by hand (a new Response would lose the request
  and the extensions).
- httpx ``Headers._list``, behind ``adapters.transport.tracing.set_header``:
  ``__setitem__`` encodes, lower-cases and scans on every traced attempt.
- httpx ``URL._uri_reference``, behind ``adapters.transport.building._url_with``:
  ``copy_with`` parses the URL again on every upstream request.
- httpx ``Request``'s and ``Response``'s attributes and ``Headers._list``/
  ``_encoding``, set directly by ``adapters.transport.building._request``,
  ``adapters.transport.cap.headers_of`` and ``response_of``: the constructors
  normalize every header again (and copy them) on every upstream call.
- aiodataloader ``DataLoader._queue`` and ``dispatch_queue``, behind
  ``schema.loaders._PromptDataLoader.do_resolve_reject``: the public path
  dispatches through a task and two loop iterations more.
- Strawberry ``Schema._schema``, behind ``engine.internals.graphql_schema``: no
  public accessor for the graphql-core schema.
- Strawberry ``Info._raw_info``, behind ``engine.internals.raw_info``:
  ``Info.selected_fields`` converts the whole selection on every call.
- OpenTelemetry ``SpanContext`` as the tuple (trace id, span id, remote,
  flags, state, valid), read and made so by ``gateway.tracing_lean``'s fast
  road, and the SDK's ``RandomIdGenerator``'s draw (``random.getrandbits``).
- OpenTelemetry SDK span internals, behind ``gateway.tracing.lean`` (its
  ``_Layout``): the fields of ``_Span`` (and of its ``BoundedAttributes``,
  ``BoundedList`` and the ``ReadableSpan`` that ``_readable_span`` copies),
  written directly, and ``_add_event``/``_add_link``: the SDK's constructors cost
  most of a traced upstream attempt. The layout is checked against a span the
  SDK makes, each time a tracer is made; one it does not know keeps the SDK's
  constructor (slower, same spans), which the test here reports by name.
  ``ReadableSpan``'s fields, set one by one in its constructor's order by
  functions ``_Layout`` generates and checks (``gateway.tracing_layout``).
- OpenTelemetry ``context._RUNTIME_CONTEXT``'s ContextVar, behind
  ``adapters.transport.trace_context``: ``attach``,
  ``detach`` and ``get_current`` reach it through two calls each, for every
  span made current and every span started.
- OpenTelemetry ``trace.propagation._SPAN_KEY``, read by
  ``gateway.tracing_spans.current_context``: ``get_current_span`` checks the span found
  against the abstract ``Span`` on every span started.
"""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import aiodataloader
import httpx
import strawberry
from graphql import GraphQLResolveInfo, GraphQLSchema
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext

from adapters.transport.building import (
    _UNCHANGED_PATH,
    _UNCHANGED_QUERY,
    _request,
    _url_with,
)
from adapters.transport.cap import answered, content_decoder, headers_of, response_of
from adapters.transport.tracing import set_header
from engine.internals import graphql_schema, raw_info
from gateway.tracing import Tracing
from schema.api import build_schema
from schema.loaders import Loader


def test_httpx_decoder_inflates_in_steps() -> None:
    body = b"a fairly repetitive answer " * 400
    response = httpx.Response(200, headers={"Content-Encoding": "gzip"})
    decoder = content_decoder(response)
    packed = gzip.compress(body)
    out = b"".join(decoder.decode(packed[i : i + 7]) for i in range(0, len(packed), 7))
    assert out + decoder.flush() == body


def test_httpx_response_takes_a_body_read_by_hand() -> None:
    request = httpx.Request("GET", "https://tenant.example/a")
    response = httpx.Response(200, request=request, stream=httpx.ByteStream(b""))
    answered(response, b'{"a":1}')
    assert response.content == b'{"a":1}' and response.json() == {"a": 1}
    assert response.text == '{"a":1}' and response.request is request


def _canonical(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), max_size=20)


PATH_CHARS = "".join(
    c for c in map(chr, range(0x21, 0x7F)) if _UNCHANGED_PATH.fullmatch(c)
)
QUERY_CHARS = "".join(
    c for c in map(chr, range(0x21, 0x7F)) if _UNCHANGED_QUERY.fullmatch(c)
)


@settings(derandomize=True, max_examples=100, deadline=None)
@given(
    path=_canonical(PATH_CHARS.replace("%", "")),
    query=_canonical(QUERY_CHARS.replace("%", "")) | st.none(),
)
def test_httpx_url_built_from_parts_is_httpxs_own_parse(
    path: str, query: str | None
) -> None:
    base = httpx.URL("https://tenant.example:8443/api/")
    full = "/api/" + path
    # the layout _url_with writes by position
    assert base._uri_reference._fields == (
        "scheme",
        "userinfo",
        "host",
        "port",
        "path",
        "query",
        "fragment",
    )
    url = _url_with(base, full, query)
    expected = httpx.URL(
        "https://tenant.example:8443" + full + ("" if query is None else "?" + query)
    )
    assert url == expected
    assert (str(url), url.raw_path, url.host, url.port) == (
        str(expected),
        expected.raw_path,
        expected.host,
        expected.port,
    )


# Header lists as a provider or a caller may send them (no line breaks in values).
HEADER_LISTS = st.lists(
    st.tuples(
        st.text("AbcZ-_", min_size=1, max_size=5).map(str.encode),
        st.binary(max_size=8).filter(lambda v: b"\r" not in v and b"\n" not in v),
    ),
    max_size=4,
)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    headers=HEADER_LISTS,
    body=st.binary(max_size=16),
    method=st.sampled_from(["GET", "POST", "PATCH"]),
)
def test_httpx_request_made_directly_is_httpxs_own(
    headers: list[tuple[bytes, bytes]], body: bytes, method: str
) -> None:
    url = httpx.URL("https://tenant.example/api/items/1?q=2")
    entries = [(k, k.lower(), v) for k, v in headers]
    ours = _request(method, url, entries, body)
    theirs = httpx.Request(method, url, headers=headers, stream=httpx.ByteStream(body))
    theirs.read()
    assert sorted(vars(ours)) == sorted(vars(theirs))  # no attribute left out
    assert ours.headers._list == theirs.headers._list
    assert ours.headers.raw == theirs.headers.raw
    assert ours.headers.encoding == theirs.headers.encoding
    assert (ours.method, ours.url, ours.extensions) == (
        theirs.method,
        theirs.url,
        theirs.extensions,
    )
    assert ours.content == theirs.content == b"".join(ours.stream)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(
    headers=HEADER_LISTS,
    body=st.binary(max_size=16),
    status=st.sampled_from([200, 304, 404, 503]),
)
async def test_httpx_response_made_directly_is_httpxs_own(
    headers: list[tuple[bytes, bytes]], body: bytes, status: int
) -> None:
    request = httpx.Request("GET", "https://tenant.example/api/items/1")
    made = headers_of([(k, k.lower(), v) for k, v in headers])
    ours = response_of(status, made, body, request)
    theirs = httpx.Response(
        status,
        headers=headers,
        stream=httpx.ByteStream(body),
        extensions={"http_version": b"HTTP/1.1"},
        request=request,
    )
    assert sorted(vars(ours)) == sorted(vars(theirs))  # no attribute left out
    assert ours.headers._list == theirs.headers._list
    assert ours.headers.encoding == theirs.headers.encoding
    for name in vars(theirs):
        if name not in ("headers", "stream"):
            assert getattr(ours, name) == getattr(theirs, name), name
    assert await ours.aread() == await theirs.aread() == body
    assert ours.is_stream_consumed and ours.is_closed


async def test_aiodataloader_queue_batches_one_iteration_of_loads() -> None:
    assert callable(aiodataloader.dispatch_queue)
    batches: list[list[int]] = []

    async def fetch(keys: Any) -> dict[int, int]:
        batches.append(list(keys))
        return {k: k * 10 for k in keys}

    loader: Loader[int, int] = Loader(fetch)
    assert isinstance(loader._loader._queue, list)
    found = await asyncio.gather(loader.load(1), loader.load(2), loader.load(3))
    assert found == [10, 20, 30]
    assert batches == [[1, 2, 3]]


def test_strawberry_schema_and_raw_info() -> None:
    schema = build_schema()
    core = graphql_schema(schema)
    assert isinstance(core, GraphQLSchema)
    assert core.query_type is not None and "node" in core.query_type.fields

    seen: list[GraphQLResolveInfo[Any]] = []

    @strawberry.type
    class Query:
        @strawberry.field
        def probe(self, info: strawberry.Info) -> int:
            seen.append(raw_info(info))
            return 1

    result = strawberry.Schema(query=Query).execute_sync("{ probe }")
    assert result.data == {"probe": 1}
    assert seen[0].field_name == "probe"
    assert seen[0].field_nodes[0].name.value == "probe"
    assert seen[0].schema is not None


def test_the_sdk_span_layout_is_the_one_the_lean_tracer_knows() -> None:
    tracer: Any = Tracing(TracerProvider()).tracer
    assert tracer.lean_layout is not None
    # SpanContext read and made as the tuple it is, span ids drawn as the SDK's
    # RandomIdGenerator draws them.
    assert tracer.lean_fast
    span = tracer.start_span("x", attributes={"a": 1})
    span.end()
    assert span._readable_span().attributes == {"a": 1}
    made = span.get_span_context()
    assert made == SpanContext(
        made.trace_id, made.span_id, False, made.trace_flags, made.trace_state
    )
    assert made.is_valid and made.span_id != 0
    # ReadableSpans made field by field in the SDK's order (the attempt's maker
    # and the one every lean span's end uses), checked against the SDK's own
    assert tracer.lean_layout.readable is not None
    assert type(span).lean_make is not None


def test_the_current_span_is_under_the_apis_context_key() -> None:
    """``gateway.tracing_spans.current_context`` reads the current span as
    ``get_current_span`` does, from the API's context key, without its check
    against the abstract ``Span``."""
    from opentelemetry.context import attach, detach, get_current, get_value
    from opentelemetry.trace import get_current_span, set_span_in_context
    from opentelemetry.trace.propagation import _SPAN_KEY

    from adapters.transport.trace_context import CURRENT_CONTEXT
    from adapters.transport.tracing import current

    span = Tracing(TracerProvider()).tracer.start_span("x")
    token = attach(set_span_in_context(span))
    try:
        assert get_value(_SPAN_KEY) is span is get_current_span()
    finally:
        detach(token)
    # the API's runtime context is a ContextVar, set and reset directly by
    # ``current`` as attach and detach would
    assert CURRENT_CONTEXT is not None
    before = get_current()
    assert CURRENT_CONTEXT.get() is before
    with current(span):
        assert get_current_span() is span
        assert dict(get_current()) == {**before, _SPAN_KEY: span}
    assert get_current() is before


_HEADER_NAMES = st.sampled_from(["traceparent", "TraceParent", "accept", "x-api-key"])


@settings(max_examples=200, derandomize=True)
@given(
    given_headers=st.lists(st.tuples(_HEADER_NAMES, st.text("abc-0123", max_size=8))),
    value=st.text("0123456789abcdef-", max_size=60),
)
def test_httpx_headers_set_directly_as_setitem_sets_them(
    given_headers: list[tuple[str, str]], value: str
) -> None:
    mine, theirs = httpx.Headers(given_headers), httpx.Headers(given_headers)

    set_header(mine, b"traceparent", value)
    theirs["traceparent"] = value

    assert mine.raw == [
        (k.lower() if k.lower() == b"traceparent" else k, v) for k, v in theirs.raw
    ]
    assert mine.get_list("traceparent") == [value]
    assert mine.multi_items() == [(k, v) for k, v in theirs.multi_items()]


def test_the_batch_processors_queue_takes_what_its_on_end_takes() -> None:
    """``_LeanSpan.end`` hands a sampled span to the BatchSpanProcessor's
    ``_batch_processor.emit`` (where the SDK has one), which is all its
    ``on_end`` does with a sampled span."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    exported = InMemorySpanExporter()
    processor = BatchSpanProcessor(exported)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer: Any = Tracing(provider).tracer
    queue = processor.__dict__.get("_batch_processor")
    emitted: list[Any] = []
    if queue is not None:
        real = queue.emit
        queue.emit = lambda span: (emitted.append(span), real(span))[1]
    for name in ("a", "b"):
        tracer.start_span(name).end()
    provider.force_flush()

    assert [s.name for s in exported.get_finished_spans()] == ["a", "b"]
    assert [type(s).__name__ for s in exported.get_finished_spans()] == [
        "ReadableSpan",
        "ReadableSpan",
    ]
    if queue is not None:
        assert [s.name for s in emitted] == ["a", "b"]
    provider.shutdown()
