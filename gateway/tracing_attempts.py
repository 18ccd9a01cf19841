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
from typing import Any

import httpx
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    get_current_span,
)

from adapters.transport.tracing import (
    attempt_attributes,
    attempt_outcome,
    write_context,
)
from gateway.tracing_spans import NO_OPS, _Layout, hand_over, readable_of

_CLIENT = SpanKind.CLIENT
# start attributes (6 at most) and outcome attributes (3 at most)
_MOST_ATTRIBUTES = 9


class LeanAttempts:
    """``lean_attempt`` of one lean tracer."""

    def __init__(self, tracer: Any, layout: _Layout) -> None:
        self.tracer = tracer
        self.layout = layout

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
        processors: Any = tracer.span_processor
        chain: Any = getattr(processors, "_span_processors", ())
        if len(chain) != 1:
            return None
        processor = chain[0]
        kind = type(processor)
        if (
            kind.on_start not in NO_OPS
            or getattr(kind, "_on_ending", None) not in NO_OPS
        ):
            return None
        found = get_current_span().get_span_context()
        if type(found) is not SpanContext:
            return None
        made_ids = tracer.lean_ids(found)
        if made_ids is None:  # a parent not sampled: the SDK decides
            return None
        parent, context = made_ids
        method = request.method
        record = _Attempt(
            self.layout,
            processor,
            f"{method} {route}",
            context,
            parent,
            attempt_attributes(provider, method, attempt, delay, route),
            time_ns(),
        )
        write_context(context, request.headers)
        return record


class _Attempt:
    """One attempt's span until it ends."""

    __slots__ = (
        "attributes",
        "context",
        "layout",
        "name",
        "parent",
        "processor",
        "start",
    )

    def __init__(
        self,
        layout: _Layout,
        processor: Any,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        start: int,
    ) -> None:
        self.layout = layout
        self.processor = processor
        self.name = name
        self.context = context
        self.parent = parent
        self.attributes = attributes
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
        attributes = self.attributes
        if escaped is not None:  # cancelled, or a bug: no verdict on the call
            status: Any = Status(StatusCode.ERROR, type(escaped).__name__)
        else:
            found, status = attempt_outcome(response, error)
            attributes.update(found)
        if status is None:
            status = layout.shared["_status"]  # unset
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
        hand_over(self.processor, readable_of(span), True)
