"""The lean tracer's span (``gateway.tracing_lean``): the SDK's ``_Span``,
built from the SDK's own layout of it, found once per tracer
(``gateway.tracing_layout``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from time import time_ns
from typing import Any

from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    get_current_span,
)
from opentelemetry.util.types import Attributes

from adapters.transport.trace_context import current_span_value

log = logging.getLogger("gateway.tracing")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_BIT = int(TraceFlags.SAMPLED)
_PLAIN = frozenset({str, bool, int, float})


def _plain(attributes: Attributes, limit: int) -> Mapping[str, object] | None:
    """``attributes`` when cleaning them would change nothing: a few, each a
    non-empty string key with a string, number or boolean value."""
    if not attributes or len(attributes) > limit:
        return None
    for key, value in attributes.items():
        if type(value) not in _PLAIN or type(key) is not str or not key:
            return None
    return attributes


class _LeanSpan(sdk_trace._Span):
    """The SDK's span, its attributes set without cleaning when cleaning would
    change nothing (see :func:`_plain`); anything else goes the SDK's way.

    Made by ``_Layout.span`` (``gateway.tracing_layout``) it starts with no
    event or link list: each is made (as the SDK makes it) when the first event
    or link is added, and until then the span has none, as an empty list has
    none. Ended, what the
    processors get is the SDK's ``ReadableSpan`` with the fields the SDK copies,
    copied as :class:`_Layout` found them."""

    lean_readable: tuple[str, ...] = ()  # the fields a ReadableSpan copies
    lean_copied: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None
    lean_readable_keys: dict[str, Any] = {}  # read only: each span copies it
    # the ReadableSpan of every copied field, in order (gateway.tracing_spans)
    lean_make: Callable[..., ReadableSpan] | None = None

    def _readable_span(self) -> ReadableSpan:
        copied = self.lean_copied
        if copied is None:
            return super()._readable_span()
        return readable_of(self.__dict__)

    # The list made outside the span's lock (the SDK's check takes it): each
    # of the gateway's spans is written by the one task that made it.
    def _add_event(self, event: Any) -> None:
        if self._events is _NONE:
            self._events = BoundedList(self._limits.max_events)
        super()._add_event(event)  # type: ignore[misc, unused-ignore]

    def _add_link(self, link: Any) -> None:
        if self._links is _NONE:
            self._links = BoundedList(self._limits.max_links)
        super()._add_link(link)  # type: ignore[misc, unused-ignore]

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        # The usual case inline (a span not ended, every value plain, room
        # for them, no length limit): the pairs written in order, as cleaning
        # would keep them. Anything else: the checks below, then the SDK.
        bounded: Any = self._attributes
        found = bounded._dict
        limits = self._limits
        room = limits.max_span_attributes
        if (
            self._end_time is None
            and limits.max_span_attribute_length is None
            and room is not None
            and len(found) + len(attributes) <= room
            and not bounded._immutable
        ):
            for key, value in attributes.items():
                if type(value) not in _PLAIN or type(key) is not str or not key:
                    break
            else:
                for key, value in attributes.items():
                    found.pop(key, None)  # a key set again moves last
                    found[key] = value
                return
        if not self._set_plain(attributes):
            super().set_attributes(attributes)  # type: ignore[arg-type, unused-ignore]

    def end(self, end_time: int | None = None) -> None:
        """The SDK's ``end`` without its lock (each of the gateway's spans is
        ended by the task that made it) and without ``_on_ending`` when the
        processor's is the SDK's no-op: ended once, the attributes frozen, the
        processor handed the ``ReadableSpan``. Ended twice or never started:
        the SDK's own (its warning, its error)."""
        if self._end_time is not None or self._start_time is None:
            super().end(end_time)
            return
        self._end_time = end_time if end_time is not None else time_ns()
        bounded: Any = self._attributes
        bounded._immutable = True
        ending = self.__dict__.get("_record_end_metrics")
        if ending:
            ending()
        processor = self._span_processor
        kind = type(processor)
        hook: Any = getattr(kind, "_on_ending", None)  # newer SDKs only
        if hook not in NO_OPS:
            hook(processor, self)
        made: Any = self._context
        hand_over(processor, self._readable_span(), made.trace_flags & _SAMPLED_BIT)

    def update_name(self, name: str) -> None:
        """The SDK's ``update_name`` without its lock (each of the gateway's
        spans is written by the task that made it); ended: the SDK's warning."""
        if self._end_time is not None:
            super().update_name(name)
            return
        self._name = name

    def set_attribute(self, key: str, value: Any) -> None:
        if not self._set_plain({key: value}):
            super().set_attribute(key, value)

    def _set_plain(self, attributes: Mapping[str, Any]) -> bool:
        limits = self._limits
        bounded: Any = self._attributes
        if (
            limits.max_span_attribute_length is not None
            or limits.max_span_attributes is None
        ):
            return False
        plain = _plain(attributes, limits.max_span_attributes - len(bounded._dict))
        if plain is None:
            return False
        with self._lock:
            if self._end_time is not None or bounded._immutable:
                return False  # the SDK's warning
            found = bounded._dict
            for key, value in plain.items():
                found.pop(key, None)  # a key set again moves last, as the SDK's
                found[key] = value
        return True


def readable_of(fields: dict[str, Any]) -> ReadableSpan:
    """The ``ReadableSpan`` of a lean span's ``fields`` (its ``__dict__``, or
    one laid out alike): the fields the SDK copies, as :class:`_Layout` found
    them, set by the maker it made (``lean_make``: in the class's shared
    layout); without one, copied into a copy of a dictionary holding every key
    already (no growth as they go in), given to the ``ReadableSpan`` whole."""
    copied: Any = _LeanSpan.lean_copied
    make = _LeanSpan.lean_make
    if make is not None:
        return make(*copied(fields))
    readable: ReadableSpan = _new(ReadableSpan)
    found = _LeanSpan.lean_readable_keys.copy()
    # the same length by construction: not checked again per span
    found.update(zip(_LeanSpan.lean_readable, copied(fields), strict=False))
    readable.__dict__ = found
    return readable


def hand_over(processor: Any, readable: ReadableSpan, sampled: int) -> None:
    """``processor.on_end(readable)``; for the SDK's BatchSpanProcessor and a
    sampled span, what its ``on_end`` then does: the span into its queue."""
    if sampled:
        receiver(processor)(readable)
    else:
        processor.on_end(readable)


def receiver(processor: Any) -> Callable[[ReadableSpan], None]:
    """What takes a sampled span ended for ``processor``: its ``on_end``, or
    for the SDK's BatchSpanProcessor its queue's ``emit``, which is all its
    ``on_end`` does with a sampled span (``test_private_internals``)."""
    if type(processor) is BatchSpanProcessor:
        queue = processor.__dict__.get("_batch_processor")
        if queue is not None:
            emit: Callable[[ReadableSpan], None] = queue.emit
            return emit
    on_end: Callable[[ReadableSpan], None] = processor.on_end
    return on_end


class OneProcessor:
    """A lean tracer's recorder's view of the provider's span processors:
    its one processor when a recorder may hand it spans itself (no
    ``on_start`` or ``_on_ending`` of its own), and what takes them
    (:func:`receiver`). Looked at again only when the processors change
    (adding one makes a new tuple): a processor added later gets the spans
    started after it."""

    def __init__(self, tracer: Any, layout: Any) -> None:
        self.tracer = tracer
        self.layout = layout  # the tracer's (``gateway.tracing_layout._Layout``)
        self._chain: object = None  # the processors last looked at
        self._processor: Any = None  # their one processor, when it fits
        self.receiver: Any = None  # what takes its spans

    def processor(self) -> Any:
        """The one processor, or None (then the SDK's road)."""
        processors: Any = self.tracer.span_processor
        chain: Any = getattr(processors, "_span_processors", ())
        if chain is self._chain:
            return self._processor
        processor = None
        if len(chain) == 1:
            kind = type(chain[0])
            if kind.on_start in NO_OPS and getattr(kind, "_on_ending", None) in NO_OPS:
                processor = chain[0]
        self._chain, self._processor = chain, processor
        self.receiver = None if processor is None else receiver(processor)
        return processor

    def child_ids(self) -> tuple[SpanContext | None, SpanContext] | None:
        """(parent, context) of a span started now under the current one,
        where the recorder may make it: the one processor, the current span's
        context a SpanContext, sampled (or none). Else None: the SDK's road."""
        if self.processor() is None:
            return None
        found = current_context()
        if type(found) is not SpanContext:
            return None
        made: tuple[SpanContext | None, SpanContext] | None
        made = self.tracer.lean_ids(found)  # None: a parent not sampled
        return made


def current_context() -> SpanContext:
    """``get_current_span().get_span_context()``: the current span read from
    the API's context key as ``get_current_span`` reads it, without its check
    against the abstract ``Span`` for the span types the gateway makes."""
    span: Any = current_span_value()
    if span is None:
        return INVALID_SPAN_CONTEXT
    if type(span) not in SPAN_TYPES:
        span = get_current_span()
    found: SpanContext = span.get_span_context()
    return found


_new: Callable[[type[Any]], Any] = object.__new__
_NONE: tuple[()] = ()  # a span's events or links, none added yet


# The span types ``current_context`` reads directly (with ``_LeanSpan``; the
# scopes' ``_Scope`` adds itself, ``gateway.tracing_scopes``).
SPAN_TYPES: set[type[Any]] = {_LeanSpan, sdk_trace._Span, NonRecordingSpan}
# The SDK's processors' hooks that do nothing (``on_start``, ``_on_ending``):
# not called. A processor of another class, or one overriding them, is called.
NO_OPS: frozenset[object] = frozenset(
    getattr(kind, hook)
    for kind in (SpanProcessor, BatchSpanProcessor, SimpleSpanProcessor)
    for hook in ("on_start", "_on_ending")
    if hasattr(kind, hook)
) | {None}
