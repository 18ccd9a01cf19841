"""How the SDK lays out a span, found once per tracer (:class:`_Layout`), and
the ReadableSpan makers generated from it: the lean tracer's spans
(``gateway.tracing_spans``) are built from what it finds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from gateway.tracing_spans import _NONE, _SAMPLED, _LeanSpan, _new

log = logging.getLogger("gateway.tracing")


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
