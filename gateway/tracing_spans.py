"""The lean tracer's span (``gateway.tracing_lean``): the SDK's ``_Span``,
built from the SDK's own layout of it, found once per tracer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from operator import itemgetter
from time import time_ns
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import get_value
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    get_current_span,
)
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.util.types import Attributes

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

    Made by :meth:`_Layout.span` it starts with no event or link list: each is
    made (as the SDK makes it) when the first event or link is added, and until
    then the span has none, as an empty list has none. Ended, what the
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
    if sampled and type(processor) is BatchSpanProcessor:
        queue = processor.__dict__.get("_batch_processor")
        if queue is not None:
            queue.emit(readable)
            return
    processor.on_end(readable)


def current_context() -> SpanContext:
    """``get_current_span().get_span_context()``: the current span read from
    the API's context key as ``get_current_span`` reads it, without its check
    against the abstract ``Span`` for the span types the gateway makes."""
    span: Any = get_value(_SPAN_KEY)
    if type(span) not in _SPANS:
        span = get_current_span()
    found: SpanContext = span.get_span_context()
    return found


_new: Callable[[type[Any]], Any] = object.__new__
_NONE: tuple[()] = ()  # a span's events or links, none added yet


class _Layout:
    """How the SDK lays out a span, its attributes and the ``ReadableSpan`` it
    hands the processors, found once per tracer by making one span the SDK's way
    (never started: no processor sees it) and one the short way, from the same
    values, and comparing them field by field. The short way then makes each
    span: one dictionary of fields, the tracer's values shared (resource,
    scope, limits, sampler: the SDK shares them too), a new lock and attribute
    map per span, no call through the SDK's constructors. A layout that differs
    in anything (another SDK version's fields, lock kinds, limits) is no layout:
    the tracer keeps building spans with the SDK's constructor."""

    def __init__(
        self,
        shared: dict[str, Any],
        attributes: dict[str, Any],
        lock: Callable[[], Any],
        attributes_lock: Callable[[], Any],
    ) -> None:
        self.shared = shared
        self.attributes = attributes
        self.attributes_keys = {**attributes, "_dict": None, "_lock": None}
        self.span_keys = {**shared, **dict.fromkeys(_PER_SPAN)}
        self.lock = lock
        self.attributes_lock = attributes_lock

    @classmethod
    def of(cls, tracer: sdk_trace.Tracer, max_attributes: int) -> _Layout | None:
        """``tracer``'s layout; None where attributes must be cut (``max_attributes``
        below 0: the SDK's cleaning) or the SDK is laid out otherwise."""
        if max_attributes < 0:
            return None
        try:
            return cls._found(tracer)
        except Exception:  # an SDK laid out otherwise: its own constructor
            log.debug("tracing: the SDK's own span constructor", exc_info=True)
            return None

    @classmethod
    def _found(cls, tracer: sdk_trace.Tracer) -> _Layout | None:
        limits = tracer._span_limits
        probe = _LeanSpan(
            name="probe",
            context=SpanContext(1, 1, is_remote=False, trace_flags=_SAMPLED),
            parent=None,
            sampler=tracer.sampler,
            resource=tracer.resource,
            attributes=None,
            span_processor=_PROBE,
            kind=SpanKind.INTERNAL,
            instrumentation_info=tracer.instrumentation_info,
            record_exception=True,
            set_status_on_exception=True,
            limits=limits,
            instrumentation_scope=tracer._instrumentation_scope,
        )
        found = vars(probe)
        bounded = found["_attributes"]
        events: Any = found["_events"]
        links: Any = found["_links"]
        if (
            type(bounded) is not BoundedAttributes
            or type(events) is not BoundedList
            or type(links) is not BoundedList
            or vars(events)["_dq"].maxlen != limits.max_events
            or vars(links)["_dq"].maxlen != limits.max_links
            or list(events)
            or list(links)
        ):
            return None
        lock = _lock_kind(found["_lock"])
        attributes_lock = _lock_kind(bounded._lock)
        if lock is None or attributes_lock is None:
            return None
        if not found.keys() <= _PER_SPAN | _SHARED or not found.keys() >= _PER_SPAN:
            return None  # a field not known here: the SDK's constructor sets it
        shared = {k: v for k, v in found.items() if k in _SHARED}
        if (
            shared.get("_end_time") is not None
            or shared.get("_record_end_metrics") is not None
            or getattr(shared.get("_status"), "status_code", None)
            is not StatusCode.UNSET
        ):
            return None
        kept = {k: v for k, v in vars(bounded).items() if k not in ("_dict", "_lock")}
        layout = cls(shared, kept, lock, attributes_lock)
        twin = layout.span(
            "probe",
            probe.context,
            None,
            SpanKind.INTERNAL,
            None,
            _PROBE,
            True,
            True,
            None,
        )
        if not _alike(vars(twin), found):
            return None
        readable = vars(sdk_trace.Span._readable_span(probe))
        fields = tuple(readable)
        if any(readable[k] is not found.get(k, _NONE) for k in fields):
            return None  # the SDK copies something else than the span's fields
        _LeanSpan.lean_readable = fields
        _LeanSpan.lean_readable_keys = dict.fromkeys(fields)
        _LeanSpan.lean_copied = itemgetter(*fields) if len(fields) > 1 else None
        layout.readable = _readable_maker(fields, _ATTEMPT_OWN, shared, found, readable)
        _LeanSpan.lean_make = _readable_maker(fields, fields, {}, found, readable)
        return layout

    # An ended span's ReadableSpan from its own fields (:func:`_readable_maker`);
    # None: not this SDK's layout (``readable_of`` copies the fields instead).
    readable: Callable[..., ReadableSpan] | None = None

    def bounded(
        self, attributes: dict[str, Any], *, ended: bool = False
    ) -> BoundedAttributes:
        """A span's ``BoundedAttributes`` holding ``attributes`` (plain, within
        the limit), frozen if the span has ``ended``."""
        bounded: BoundedAttributes = _new(BoundedAttributes)
        fields = self.attributes_keys.copy()
        fields["_dict"] = attributes
        fields["_lock"] = self.attributes_lock()
        if ended:
            fields["_immutable"] = True
        bounded.__dict__ = fields
        return bounded

    def span(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Mapping[str, object] | None,
        processor: Any,
        record_exception: bool,
        set_status_on_exception: bool,
        start_time: int | None,
    ) -> _LeanSpan:
        # Each object's fields: a copy of a dictionary that holds every key
        # already (no growth as they are set), given to the object whole.
        bounded = self.bounded(dict(attributes) if attributes else {})
        span = _new(_LeanSpan)
        fields = self.span_keys.copy()
        span.__dict__ = fields
        fields["_name"] = name
        fields["_context"] = context
        fields["_parent"] = parent
        fields["_kind"] = kind
        fields["_start_time"] = start_time
        fields["_record_exception"] = record_exception
        fields["_set_status_on_exception"] = set_status_on_exception
        fields["_span_processor"] = processor
        fields["_lock"] = self.lock()
        fields["_attributes"] = bounded
        fields["_events"] = fields["_links"] = _NONE
        found: _LeanSpan = span
        return found


def _readable_maker(
    fields: tuple[str, ...],
    own: tuple[str, ...],
    constants: dict[str, Any],
    probe: dict[str, Any],
    expected: dict[str, Any],
) -> Callable[..., ReadableSpan] | None:
    """A function making a ``ReadableSpan`` from the fields in ``own`` (its
    parameters, in that order), the others ``constants``: the fields set one
    by one in the order the SDK's constructor sets them (``fields``, as the
    probe's ReadableSpan holds them), so CPython keeps them in the class's
    shared layout: a third of the memory of a dictionary of its own, and fewer
    instructions than copying one. Checked on the ``probe`` span's fields
    against the SDK's ReadableSpan of it (``expected``); None where a field is
    neither given nor constant, or the result differs in anything."""
    if not set(fields) <= set(own) | constants.keys():
        return None
    names = {field: f"a{i}" for i, field in enumerate(own)}
    lines = [f"def make({', '.join(names.values())}):", "    r = _new(ReadableSpan)"]
    scope: dict[str, Any] = {"_new": _new, "ReadableSpan": ReadableSpan}
    for i, field in enumerate(fields):
        if field not in names:
            scope[f"c{i}"] = constants[field]
        lines.append(f"    r.{field} = {names.get(field, f'c{i}')}")
    lines.append("    return r")
    exec("\n".join(lines), scope)  # generated from the SDK's field names
    maker: Callable[..., ReadableSpan] = scope["make"]
    got = vars(maker(*(probe.get(f) for f in own)))
    if list(got) != list(expected) or any(got[k] is not v for k, v in expected.items()):
        return None
    return maker


# An ended attempt's own fields, the order :meth:`_Layout.readable` takes them.
_ATTEMPT_OWN = (
    *("_name", "_context", "_parent", "_kind", "_start_time", "_end_time"),
    *("_attributes", "_events", "_links", "_status"),
)
_PROBE = SpanProcessor()
# The span types ``current_context`` reads directly (with ``_LeanSpan``).
_SPANS = frozenset({_LeanSpan, sdk_trace._Span, NonRecordingSpan})
# The SDK's processors' hooks that do nothing (``on_start``, ``_on_ending``):
# not called. A processor of another class, or one overriding them, is called.
NO_OPS: frozenset[object] = frozenset(
    getattr(kind, hook)
    for kind in (SpanProcessor, BatchSpanProcessor, SimpleSpanProcessor)
    for hook in ("on_start", "_on_ending")
    if hasattr(kind, hook)
) | {None}
# A span's fields: those given per span, and those the tracer's spans share (the
# values the SDK gives every span of a tracer: its resource, scope, limits...;
# a span not ended, its status unset). Any other field: no layout.
_PER_SPAN = frozenset(
    {
        *("_name", "_context", "_parent", "_kind", "_start_time", "_lock"),
        *("_record_exception", "_set_status_on_exception", "_span_processor"),
        *("_attributes", "_events", "_links"),
    }
)
_SHARED = frozenset(
    {
        *("_sampler", "_trace_config", "_resource", "_limits", "_status"),
        *("_instrumentation_info", "_instrumentation_scope", "_end_time"),
        "_record_end_metrics",  # newer SDKs: None without the SDK's own metrics
    }
)
_LOCKS: tuple[Callable[[], Any], ...] = (threading.Lock, threading.RLock)


def _lock_kind(lock: object) -> Callable[[], Any] | None:
    return next((k for k in _LOCKS if type(k()) is type(lock)), None)


def _alike(made: dict[str, Any], sdk: dict[str, Any]) -> bool:
    """The short way's span fields are the SDK's: the same names and values,
    locks of the same kind, attributes alike, no events or links (the SDK's
    empty lists, checked by the caller)."""
    if made.keys() != sdk.keys():
        return False
    for key, value in sdk.items():
        mine = made[key]
        if key in ("_events", "_links"):
            continue
        if key == "_attributes":
            if vars(mine).keys() != vars(value).keys() or any(
                mine.__dict__[k] != v for k, v in vars(value).items() if k != "_lock"
            ):
                return False
        elif key == "_lock":
            if type(mine) is not type(value):
                return False
        elif mine is not value and mine != value:
            return False
    return True
