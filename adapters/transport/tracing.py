"""A span per upstream attempt, and the W3C trace context sent with it.

:class:`~adapters.transport.resilience.ResilientTransport` calls
:func:`start_attempt` around each attempt (``handle_async_request``), on both
transports (a sandbox's ``httpx.ASGITransport``, the pooled one), only when the
gateway gave it a tracer: with tracing off no span is made and no header
written. Inside the span the request gets ``traceparent`` (and ``tracestate``
when the trace carries one) naming the attempt's span as the provider's parent.

Attributes (OpenTelemetry's HTTP client conventions where they have a name):
``http.request.method``, ``url.template`` (the route template of the
provider's contract, the one the metrics label the call with:
:mod:`adapters.transport.observe`; never the URL, which holds ids),
``gateway.provider`` (the server, named), ``gateway.attempt`` (1 for the first),
on a retry ``http.request.resend_count`` and ``gateway.retry_delay_s`` (the
backoff waited before this attempt), ``http.response.status_code``,
``http.response.body.size`` (bytes as read) and ``error.type`` when the attempt
failed (a status of 400 or more, or the transport error's short name).

:class:`current` is ``use_span(span, end_on_exit=True)`` without its generator
(the operation's and each batch's span, made current for their children).

This package imports only OpenTelemetry's API (``opentelemetry.trace``): the
SDK and the exporters are the gateway's (``gateway.tracing``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

import httpx
from opentelemetry.trace import (
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE, TraceState
from opentelemetry.util.types import Attributes, AttributeValue

from adapters.transport.trace_context import make_current, restore

# Set on a response by the layer that read its body: its size as read.
BODY_BYTES = "gateway.body_bytes"


class current:
    """``use_span(span, end_on_exit=True, record_exception=…)``, what it does
    (``span`` current inside the block; on an ``Exception`` the exception
    recorded when asked and the status set to ERROR; the span ended), as a
    plain context manager: no generator made, entered and closed per span.
    Made current as ``attach(set_span_in_context(span))`` does it, on the
    API's ContextVar directly where it has one (``trace_context``)."""

    __slots__ = ("record_exception", "span", "token")

    def __init__(self, span: Span, *, record_exception: bool = True) -> None:
        self.span = span
        self.record_exception = record_exception

    def __enter__(self) -> Span:
        self.token = make_current(self.span)
        return self.span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span = self.span
        try:
            restore(self.token)
            if isinstance(exc, Exception) and span.is_recording():
                if self.record_exception:
                    span.record_exception(exc)
                span.set_status(
                    Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
                )
        finally:
            span.end()


class ScopeRecorder(Protocol):
    """``tracer.lean_scope``, where the tracer has one (the gateway's lean
    tracer): a block's span as ``current(tracer.start_span(...))`` would make
    it, or None where it cannot (then: that)."""

    def __call__(
        self,
        name: str,
        attributes: Attributes,
        kind: SpanKind,
        record_exception: bool,
    ) -> AbstractContextManager[Span] | None: ...


def scope(
    tracer: Tracer,
    name: str,
    *,
    attributes: Attributes = None,
    kind: SpanKind = SpanKind.INTERNAL,
    record_exception: bool = True,
) -> AbstractContextManager[Span]:
    """A span current while the block runs, ended with it: by the tracer's own
    recorder where it takes it, else ``current(tracer.start_span(...))``."""
    recorder: ScopeRecorder | None = getattr(tracer, "lean_scope", None)
    if recorder is not None:
        made = recorder(name, attributes, kind, record_exception)
        if made is not None:
            return made
    span = tracer.start_span(name, kind=kind, attributes=attributes)
    return current(span, record_exception=record_exception)


class upstream_span:
    """The attempt's client span (ended with the block; a leaf, so never made
    current); the request carries its trace context (written again on every
    attempt: each is its own span). A plain context manager, no generator:
    one is made per upstream attempt."""

    __slots__ = ("span",)

    def __init__(
        self,
        tracer: Tracer,
        provider: str,
        request: httpx.Request,
        attempt: int,
        delay: float,
        route: str,
    ) -> None:
        attributes = attempt_attributes(provider, request.method, attempt, delay, route)
        span = self.span = tracer.start_span(
            f"{request.method} {route}", kind=SpanKind.CLIENT, attributes=attributes
        )
        try:
            send_context(span, request.headers)
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise

    def __enter__(self) -> Span:
        return self.span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:  # cancelled, or a bug: no verdict on the call
                self.span.set_status(StatusCode.ERROR, type(exc).__name__)
        finally:
            self.span.end()


class AttemptRecord(Protocol):
    """An upstream attempt's span as a tracer may record it without a live
    span object: started (``traceparent`` written) when made, told how the
    attempt ended by ``finish`` (once)."""

    def finish(
        self,
        response: httpx.Response | None,
        error: Exception | None,
        escaped: BaseException | None,
    ) -> None: ...


class AttemptRecorder(Protocol):
    """``tracer.lean_attempt``, where the tracer has one (the gateway's lean
    tracer): the attempt's span as :class:`upstream_span` and
    :func:`record_outcome` would make it (same name, kind, parent, attributes,
    status, ``traceparent``), or None where it cannot (then: those)."""

    def __call__(
        self,
        provider: str,
        request: httpx.Request,
        attempt: int,
        delay: float,
        route: str,
    ) -> AttemptRecord | None: ...


def attempt_recorder(tracer: Tracer | None) -> AttemptRecorder | None:
    """The tracer's own recorder of attempts, if it has one."""
    found: AttemptRecorder | None = getattr(tracer, "lean_attempt", None)
    return found if callable(found) else None


def attempt_attributes(
    provider: str, method: str, attempt: int, delay: float, route: str
) -> dict[str, str | int | float]:
    """An attempt span's attributes when it starts."""
    attributes: dict[str, str | int | float] = {
        "http.request.method": method,
        "url.template": route,
        "gateway.provider": provider,
        "gateway.attempt": attempt,
    }
    if attempt > 1:
        attributes["http.request.resend_count"] = attempt - 1
        attributes["gateway.retry_delay_s"] = delay
    return attributes


def start_attempt(
    tracer: Tracer,
    recorder: AttemptRecorder | None,
    provider: str,
    request: httpx.Request,
    attempt: int,
    delay: float,
    route: str,
) -> AttemptRecord:
    """The attempt's span, started: by the tracer's recorder where it takes it,
    else as :class:`upstream_span` makes it."""
    if recorder is not None:
        record = recorder(provider, request, attempt, delay, route)
        if record is not None:
            return record
    return _SpanAttempt(upstream_span(tracer, provider, request, attempt, delay, route))


class _SpanAttempt:
    """An :class:`upstream_span` as an :class:`AttemptRecord`."""

    __slots__ = ("scope",)

    def __init__(self, scope: upstream_span) -> None:
        self.scope = scope

    def finish(
        self,
        response: httpx.Response | None,
        error: Exception | None,
        escaped: BaseException | None,
    ) -> None:
        if escaped is not None:
            self.scope.__exit__(type(escaped), escaped, None)
            return
        try:
            record_outcome(self.scope.span, response, error)
        finally:
            self.scope.__exit__(None, None, None)


def send_context(span: Span, headers: httpx.Headers) -> None:
    """W3C ``traceparent`` naming ``span`` as the parent, and the trace's
    ``tracestate`` when it has one: what ``TraceContextTextMapPropagator``
    writes, without looking the span up in a context first."""
    write_context(span.get_span_context(), headers)


def write_context(found: SpanContext, headers: httpx.Headers) -> None:
    """``traceparent`` (and ``tracestate``) naming the span of ``found``."""
    write_ids(
        found.trace_id, found.span_id, found.trace_flags, found.trace_state, headers
    )


def write_ids(
    trace_id: int,
    span_id: int,
    flags: int,
    state: TraceState | None,
    headers: httpx.Headers,
) -> None:
    """:func:`write_context` from the span context's fields, where the caller
    has them already (a ``SpanContext`` answers each through a property)."""
    kept = _TRACEPARENTS.get(trace_id)
    if kept is None or kept[0] != flags:
        if len(_TRACEPARENTS) >= _TRACEPARENTS_KEPT:
            _TRACEPARENTS.clear()
        kept = _TRACEPARENTS[trace_id] = (
            flags,
            f"00-{trace_id:032x}-%016x-{flags:02x}",
        )
    set_header(headers, b"traceparent", kept[1] % span_id)
    if state is not None and state is not DEFAULT_TRACE_STATE and state:
        headers["tracestate"] = state.to_header()


def set_header(headers: httpx.Headers, name: bytes, value: str) -> None:
    """``headers[name] = value`` for a lower-case ASCII ``name``, written into
    httpx's list of ``(name, lower-case name, value)`` entries directly: its
    ``__setitem__`` encodes both, lower-cases the name and scans every entry
    with a comprehension, a fifth of a traced attempt's cost. Any other layout
    (a future httpx): its ``__setitem__``."""
    entries = getattr(headers, "_list", None)
    if type(entries) is not list or (entries and len(entries[0]) != 3):
        headers[name.decode()] = value
        return
    entry = (name, name, value.encode())
    for index, (_, lower, _) in enumerate(entries):
        if lower == name:
            entries[index] = entry
            # a name given twice is set once, as __setitem__ does
            entries[index + 1 :] = [e for e in entries[index + 1 :] if e[1] != name]
            return
    entries.append(entry)


# ``traceparent`` of each recent trace with its span id left as ``%016x``: the
# trace id's 32 hex digits written once per trace (an operation's attempts
# share it), not once per attempt. Bounded: the traces of the requests in
# flight, forgotten all at once when full.
_TRACEPARENTS: dict[int, tuple[int, str]] = {}
_TRACEPARENTS_KEPT = 256


def record_outcome(
    span: Span, response: httpx.Response | None, error: Exception | None
) -> None:
    """What the attempt came to, on its span (no URL, no body)."""
    attributes, status = attempt_outcome(response, error)
    if status is not None:
        span.set_status(status)
    if attributes:
        span.set_attributes(attributes)


def attempt_outcome(
    response: httpx.Response | None, error: Exception | None
) -> tuple[dict[str, AttributeValue], Status | None]:
    """An ended attempt's attributes and status (None: left unset): the status
    code, the body's size and, for a status of 400 or more or a transport
    error, ``error.type``."""
    attributes: dict[str, AttributeValue] = {}
    if response is not None:
        status = response.status_code
        attributes["http.response.status_code"] = status
        size = body_bytes(response)
        if size is not None:
            attributes["http.response.body.size"] = size
        if status >= 400:
            attributes["error.type"] = str(status)
            return attributes, Status(StatusCode.ERROR)
    elif error is not None:
        kind = type(error).__name__
        attributes["error.type"] = kind
        return attributes, Status(StatusCode.ERROR, kind)
    return attributes, None


def body_bytes(response: httpx.Response) -> int | None:
    size = response.extensions.get(BODY_BYTES)
    if isinstance(size, int):
        return size
    try:
        return len(response.content)
    except httpx.ResponseNotRead:
        return None
