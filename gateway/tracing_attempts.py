"""Upstream attempts' spans recorded without a live span object (the lean
tracer's ``lean_attempt``, :class:`adapters.transport.tracing.AttemptRecorder`).

An attempt's span is a leaf that nothing writes to but the resilient transport,
at its start (``traceparent``) and its end (the outcome). So instead of a span
object made, written and copied into the ``ReadableSpan`` the processors get,
the attempt keeps its ids, start time and attributes, and its end makes that
``ReadableSpan`` at once, with the fields the lean span's would have (the SDK's
layout, ``gateway.tracing_spans``): the same name, kind, parent, context,
attributes in the same order, status, resource and scope; a test holds the two
roads to it. About a third of a traced attempt's instructions.

Taken only where that is the whole story: the tracer has the SDK's layout and
id generator, its one span processor's ``on_start`` and ``_on_ending`` do
nothing (the SDK's batch and simple processors), the parent (if any) is
sampled, and the attributes fit its limit. Anything else: None, and the caller
makes the span as usual.
"""

from __future__ import annotations

from time import time_ns
from typing import Any, cast

import httpx
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
)

from adapters.transport.tracing import (
    BODY_BYTES,
    attempt_attributes,
    attempt_outcome,
    write_ids,
)
from gateway.tracing_layout import _Layout
from gateway.tracing_spans import (
    OneProcessor,
    readable_of,
)

_CLIENT = SpanKind.CLIENT
# start attributes (6 at most) and outcome attributes (3 at most)
_MOST_ATTRIBUTES = 9


class LeanAttempts(OneProcessor):
    """``lean_attempt`` of one lean tracer."""

    def __call__(
        self,
        provider: str,
        request: httpx.Request,
        attempt: int,
        delay: float,
        route: str,
    ) -> _Attempt | None:
        tracer = self.tracer
        if tracer.lean_max_attributes < _MOST_ATTRIBUTES:
            return None
        made_ids = self.child_ids()
        if made_ids is None:
            return None
        parent, context = made_ids
        method = request.method
        name = _NAMES.get((method, route))
        if name is None:
            name = f"{method} {route}"
            if len(_NAMES) < 1024:  # routes are templates: a bounded set
                _NAMES[method, route] = name
        record = _Attempt(
            self.layout,
            self.receiver,
            name,
            context,
            parent,
            (provider, method, attempt, delay, route),
            time_ns(),
        )
        # the context made as the tuple it is (``lean_ids``): its fields read so
        trace_id, span_id, _, flags, state, _ = context
        write_ids(trace_id, span_id, flags, state, request.headers)
        return record


# "GET /applications/{applicationId}"…: each attempt span's name, made once
_NAMES: dict[tuple[str, str], str] = {}


class _Attempt:
    """One attempt's span until it ends."""

    __slots__ = ("context", "given", "layout", "name", "parent", "receiver", "start")

    def __init__(
        self,
        layout: _Layout,
        receiver: Any,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        given: tuple[str, str, int, float, str],
        start: int,
    ) -> None:
        self.layout = layout
        self.receiver = receiver  # the processor's (``tracing_spans.receiver``)
        self.name = name
        self.context = context
        self.parent = parent
        self.given = given  # provider, method, attempt, delay, route
        self.start = start

    def finish(
        self,
        response: httpx.Response | None,
        error: Exception | None,
        escaped: BaseException | None,
    ) -> None:
        """What ``record_outcome`` and the span's end would have written."""
        end = time_ns()
        layout = self.layout
        provider, method, attempt, delay, route = self.given
        size = None if response is None else response.extensions.get(BODY_BYTES)
        attributes: dict[str, Any]
        if (
            escaped is None
            and attempt == 1
            and type(size) is int
            and response is not None
            and response.status_code < 400
        ):
            # the usual attempt: the first, answered, its body read; its
            # attributes in one go, as attempt_attributes and attempt_outcome
            # would write them (the two roads are compared in the tests)
            attributes = {
                "http.request.method": method,
                "url.template": route,
                "gateway.provider": provider,
                "gateway.attempt": 1,
                "http.response.status_code": response.status_code,
                "http.response.body.size": size,
            }
            status: Any = layout.shared["_status"]  # unset
        else:
            attributes = cast(
                "dict[str, Any]",
                attempt_attributes(provider, method, attempt, delay, route),
            )
            if escaped is not None:  # cancelled, or a bug: no verdict on the call
                status = Status(StatusCode.ERROR, type(escaped).__name__)
            else:
                found, status = attempt_outcome(response, error)
                attributes.update(found)
            if status is None:
                status = layout.shared["_status"]  # unset
        make = layout.readable
        if make is not None:
            # attributes as they are: within the limit (checked when started),
            # nothing dropped, read only through the ReadableSpan's view
            readable = make(
                self.name,
                self.context,
                self.parent,
                _CLIENT,
                self.start,
                end,
                attributes,
                (),
                (),
                status,
            )
            self.receiver(readable)
            return
        span = layout.span_keys.copy()
        span["_name"] = self.name
        span["_context"] = self.context
        span["_parent"] = self.parent
        span["_kind"] = _CLIENT
        span["_start_time"] = self.start
        span["_end_time"] = end
        span["_attributes"] = layout.bounded(attributes, ended=True)
        span["_events"] = span["_links"] = ()
        span["_status"] = status
        self.receiver(readable_of(span))
