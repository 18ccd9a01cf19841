"""The gateway's tracer: the SDK's, made :func:`lean` (see ``gateway.tracing``).

With the default sampler (or ``always_on``) its spans are started by a shorter
road that gives the same spans: the SDK's class, parent, ids, flags, trace
state, attributes, resource, scope, limits and processors; with the SDK's span
layout (``gateway.tracing_spans``) each span is built without the SDK's
constructors. Any other sampler keeps the SDK's tracer. With the SDK's id
generator, the parent's context is read as the tuple a ``SpanContext`` is and
the new one made the same way (``tests/test_private_internals.py`` holds the
layout); the span's processor hooks that do nothing are not called.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import getrandbits
from time import time_ns
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    Link,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    get_current_span,
)
from opentelemetry.trace.span import DEFAULT_TRACE_STATE
from opentelemetry.util.types import Attributes

from gateway.tracing_attempts import LeanAttempts
from gateway.tracing_layout import _Layout
from gateway.tracing_scopes import LeanScopes
from gateway.tracing_spans import (
    _SAMPLED,
    NO_OPS,
    _LeanSpan,
    _plain,
    current_context,
)

# The samplers that record and sample every span whose parent (if any) is
# sampled: the SDK's default (parent-based, always on) and ``always_on``.
_ALWAYS_ON = sampling.ALWAYS_ON.get_description()
_PARENT_BASED_ON = sampling.ParentBased(sampling.ALWAYS_ON).get_description()  # type: ignore[no-untyped-call]
# Newer SDKs flag a trace id drawn at random (W3C Trace Context level 2).
_RANDOM = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_SAMPLED_BIT = int(TraceFlags.SAMPLED)
_tuple_new: Any = tuple.__new__


def lean(tracer: Tracer) -> Tracer:
    """``tracer`` (the SDK's), starting its spans by a shorter road when that
    road gives the very span the SDK would: the same ``Span`` class, parent,
    trace id, flags, trace state, attributes, resource, scope, limits and
    processors. What costs per span in the SDK's ``start_span`` is generality
    the gateway does not use: the parent looked up three times (tracer, then
    the parent-based sampler, then the sampler's trace state), a sampling
    result built for a decision known in advance, and each attribute cleaned
    (checked against abstract ``Sequence``/``Mapping`` types) though the
    gateway sets only strings, numbers and booleans. Anything else (another
    sampler, a parent not sampled, links, attribute limits, the SDK's own
    tracer metrics, a disabled tracer, another SDK layout) takes the SDK's own
    road, unchanged."""
    if type(tracer) is not sdk_trace.Tracer or not hasattr(sdk_trace, "_Span"):
        return tracer
    sampler = getattr(tracer, "sampler", None)
    described = sampler.get_description() if sampler is not None else None
    if described not in (_ALWAYS_ON, _PARENT_BASED_ON):
        return tracer
    metrics = getattr(tracer, "_tracer_metrics", None)
    if metrics is not None and type(metrics).__name__ != "NoOpTracerMetrics":
        return tracer
    config = getattr(tracer, "_tracer_config", None)
    if config is not None and not getattr(config, "is_enabled", True):
        return tracer
    root = _SAMPLED
    generator = tracer.id_generator
    if _RANDOM and getattr(generator, "is_trace_id_random", lambda: False)():
        root = TraceFlags(TraceFlags.SAMPLED | _RANDOM)
    tracer.__class__ = _LeanTracer
    lean_tracer: _LeanTracer = tracer  # type: ignore[assignment]
    lean_tracer.lean_root_flags = root
    lean_tracer.lean_child_flags = {
        0: _SAMPLED,
        _RANDOM: TraceFlags(TraceFlags.SAMPLED | _RANDOM),
    }
    limits = tracer._span_limits
    lean_tracer.lean_max_attributes = (
        limits.max_span_attributes
        if limits.max_span_attribute_length is None
        and limits.max_span_attributes is not None
        else -1  # strings to cut (or no limit object as expected): the SDK's road
    )
    lean_tracer.lean_layout = _Layout.of(tracer, lean_tracer.lean_max_attributes)
    lean_tracer.lean_fast = (
        type(generator) is RandomIdGenerator and _context_is_a_plain_tuple()
    )
    layout = lean_tracer.lean_layout
    recorded = (
        layout is not None
        and lean_tracer.lean_fast
        and _LeanSpan.lean_copied is not None
    )
    lean_tracer.lean_attempt = (
        LeanAttempts(tracer, layout) if recorded and layout is not None else None
    )
    lean_tracer.lean_scope = (
        LeanScopes(tracer, layout) if recorded and layout is not None else None
    )
    return tracer


def _context_is_a_plain_tuple() -> bool:
    """A SpanContext is the tuple (trace id, span id, remote, flags, state,
    valid), as the fast road reads and makes it (the API's layout since 1.0)."""
    try:
        made = SpanContext(3, 5, False, _SAMPLED, None)
        return tuple(made) == (3, 5, False, _SAMPLED, DEFAULT_TRACE_STATE, True) and (
            _tuple_new(SpanContext, tuple(made)) == made
        )
    except Exception:
        return False


class _LeanTracer(sdk_trace.Tracer):
    """See :func:`lean`; made only from an SDK tracer it found eligible."""

    lean_root_flags: TraceFlags
    lean_child_flags: dict[int, TraceFlags]
    lean_max_attributes: int
    lean_layout: _Layout | None
    lean_fast: bool = False  # the SDK's id generator, SpanContext a plain tuple
    # upstream attempts' spans without a span object (gateway.tracing_attempts)
    lean_attempt: LeanAttempts | None = None
    # the operation's and batches' spans likewise (gateway.tracing_scopes)
    lean_scope: LeanScopes | None = None

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        found = (
            current_context()
            if context is None
            else get_current_span(context).get_span_context()
        )
        layout = self.lean_layout
        if (
            layout is not None
            and self.lean_fast
            and not links
            and type(found) is SpanContext
            and (not attributes or _plain(attributes, self.lean_max_attributes))
        ):
            made_ids = self.lean_ids(found)
            if made_ids is None:  # a parent not sampled: the SDK's decision
                return self._sdk_start(
                    name, context, kind, attributes, links, start_time,
                    record_exception, set_status_on_exception,
                )  # fmt: skip
            parent, new_context = made_ids
            processor = _one_or_all(self.span_processor)
            return _laid_out(
                layout.span(
                    name,
                    new_context,
                    parent,
                    kind,
                    attributes if attributes else None,
                    processor,
                    record_exception,
                    set_status_on_exception,
                    time_ns() if start_time is None else start_time,
                ),
                processor,
                context,
            )
        parent = found
        if links or (found.is_valid and not found.trace_flags.sampled):
            return super().start_span(  # not sampled: the SDK's decision
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        if found.is_valid:
            trace_id = found.trace_id
            flags = self.lean_child_flags[found.trace_flags & _RANDOM]
            state = found.trace_state
        else:
            parent = None
            trace_id = self.id_generator.generate_trace_id()
            flags = self.lean_root_flags
            state = None
        plain = _plain(attributes, self.lean_max_attributes)
        layout = self.lean_layout
        processor = _one_or_all(self.span_processor)
        if layout is not None and (plain or not attributes):
            return _laid_out(
                layout.span(
                    name,
                    SpanContext(
                        trace_id,
                        self.id_generator.generate_span_id(),
                        is_remote=False,
                        trace_flags=flags,
                        trace_state=state,
                    ),
                    parent,
                    kind,
                    plain,
                    processor,
                    record_exception,
                    set_status_on_exception,
                    time_ns() if start_time is None else start_time,
                ),
                processor,
                context,
            )
        span = _LeanSpan(
            name=name,
            context=SpanContext(
                trace_id,
                self.id_generator.generate_span_id(),
                is_remote=False,
                trace_flags=flags,
                trace_state=state,
            ),
            parent=parent,
            sampler=self.sampler,
            resource=self.resource,
            attributes=None if plain else attributes,
            span_processor=processor,
            kind=kind,
            instrumentation_info=self.instrumentation_info,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            limits=self._span_limits,
            instrumentation_scope=self._instrumentation_scope,
        )
        if plain:
            # what cleaning would keep: every pair, as it is, within the limit
            found_attributes: Any = span._attributes
            found_attributes._dict.update(plain)
        span.start(start_time=start_time, parent_context=context)
        return span

    def lean_ids(
        self, found: SpanContext
    ) -> tuple[SpanContext | None, SpanContext] | None:
        """(parent, the new span's context) under ``found``, the current span's
        context (a SpanContext), in the fewest steps: its fields read as the
        tuple a SpanContext is, the span id drawn as the SDK's generator draws
        it, the context made as its constructor makes a valid one (the ids are
        valid: the parent's, or drawn non-zero). None: the parent is not
        sampled (the SDK decides)."""
        trace_id, _, _, parent_flags, trace_state, valid = found
        parent: SpanContext | None = found
        if valid:
            if not parent_flags & _SAMPLED_BIT:
                return None
            flags = self.lean_child_flags[parent_flags & _RANDOM]
        else:
            parent = None
            trace_id = self.id_generator.generate_trace_id()
            flags = self.lean_root_flags
            trace_state = DEFAULT_TRACE_STATE
        span_id = getrandbits(64)
        while not span_id:
            span_id = getrandbits(64)
        made: SpanContext = _tuple_new(
            SpanContext, (trace_id, span_id, False, flags, trace_state, True)
        )
        return parent, made

    def _sdk_start(self, *args: Any) -> Span:
        return super().start_span(*args)


def _laid_out(made: _LeanSpan, processor: Any, context: Context | None) -> Span:
    """A span made from the layout, started as ``start()`` starts one: its
    processor's ``on_start`` called, unless that is the SDK's no-op."""
    if type(processor).on_start not in NO_OPS:
        processor.on_start(made, parent_context=context)
    return made


def _one_or_all(processors: Any) -> Any:
    """The provider's only span processor when it has one (the gateway's: one
    per exporter), else its chain: the span goes to the same processors,
    without the chain's loop three times a span. Read per span, so a
    processor added later still gets the spans started after it."""
    found: Any = getattr(processors, "_span_processors", ())
    return found[0] if len(found) == 1 else processors
