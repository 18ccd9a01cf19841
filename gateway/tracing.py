"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables; off by
default.

No tracer provider exists, and no span is made anywhere, unless the environment
asks for traces: ``OTEL_TRACES_EXPORTER`` names an exporter, or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set
(then OTLP). ``OTEL_SDK_DISABLED=true`` turns it all off whatever else is set.
The decision is made once, when the app is created: with tracing off every
instrumented place holds ``None`` instead of a tracer and skips its span (no span
object, no ``traceparent`` written or read).

Exporters (``OTEL_TRACES_EXPORTER``, comma-separated):

- ``otlp``: OTLP over HTTP (protobuf), ``opentelemetry-exporter-otlp-proto-http``,
  configured by its own variables (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``,
  ``OTEL_EXPORTER_OTLP_HEADERS``, ``…_TIMEOUT``…). Only this protocol is
  installed: ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc`` is refused at start-up.
- ``console``: each span as JSON on standard output (debugging).
- ``discard``: spans made in full, then dropped by the exporter (this gateway's:
  the benchmark measures tracing's cost with it, ``benchmarks/run.py``).
- ``none``: no traces.

The SDK reads the rest as usual: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (service name ``onboarding-gateway`` when neither
names one), ``OTEL_TRACES_SAMPLER`` / ``…_ARG`` (default: parent-based, always
on), ``OTEL_BSP_*`` for the batch processor every exporter sits behind.

What is traced, and where: a server span per GraphQL operation with spans for
parsing, validation and planning (``schema.pipeline``, ``engine.context``), one
per dataloader batch (``schema.loaders``), one per upstream attempt
(``adapters.transport.tracing``), which sends the W3C ``traceparent`` to the
provider. An incoming ``traceparent`` (``GraphQLHTTP``) is continued; a
malformed one is ignored (a new trace starts).

The gateway's tracer is the SDK's, made :func:`lean`: with the default sampler
(or ``always_on``) its spans are started by a shorter road that gives the same
spans (the SDK's class, parent, ids, flags, attributes, processors) at about
two thirds of the SDK's cost per span; any other sampler keeps the SDK's tracer.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from time import time_ns
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import (
    ReadableSpan,
    SpanProcessor,
    TracerProvider,
    sampling,
)
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import (
    Link,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
    Tracer,
    get_current_span,
)
from opentelemetry.util.types import Attributes

log = logging.getLogger("gateway.tracing")

SERVICE = "onboarding-gateway"
DISCARD = "discard"
EXPORTERS = frozenset({"otlp", "console", DISCARD, "none"})


class TracingMisconfigured(ValueError):
    """The ``OTEL_*`` variables ask for something this gateway cannot do."""


class DiscardingExporter(SpanExporter):
    """Takes every span and keeps none: tracing's whole cost, no destination."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def requested_exporters(environ: Mapping[str, str]) -> list[str]:
    """The exporters the environment asks for; empty: tracing is off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [
        n.strip().lower()
        for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if n.strip()
    ]
    if not names and (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        names = ["otlp"]
    unknown = sorted(set(names) - EXPORTERS)
    if unknown:
        raise TracingMisconfigured(
            f"OTEL_TRACES_EXPORTER: unknown exporter {', '.join(unknown)} "
            f"(known: {', '.join(sorted(EXPORTERS))})"
        )
    return [n for n in names if n != "none"]


def provider_from_environment(
    environ: Mapping[str, str] | None = None,
) -> TracerProvider | None:
    """A tracer provider with the exporters the environment names, or None."""
    environ = os.environ if environ is None else environ
    names = requested_exporters(environ)
    if not names:
        return None
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: SERVICE}))
    provider = TracerProvider(resource=resource)
    for name in dict.fromkeys(names):
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, environ)))
    log.info("tracing on: %s", ", ".join(names))
    return provider


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == DISCARD:
        return DiscardingExporter()
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol != "http/protobuf":
        raise TracingMisconfigured(
            f"OTLP protocol {protocol!r} is not installed: use http/protobuf"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    return OTLPSpanExporter()


@dataclass
class Tracing:
    """The app's tracing: a provider (None: off) and whether the app owns it
    (made from the environment: flushed and shut down with the app)."""

    provider: TracerProvider | None = None
    owned: bool = False

    @classmethod
    def configure(cls, provider: TracerProvider | None = None) -> Tracing:
        """``provider`` when given (tests pass their own), else the environment's."""
        if provider is not None:
            return cls(provider)
        made = provider_from_environment()
        return cls(made, owned=made is not None)

    @property
    def tracer(self) -> Tracer | None:
        """The gateway's tracer; None when tracing is off."""
        if self.provider is None:
            return None
        return lean(self.provider.get_tracer(SERVICE))

    def shutdown(self) -> None:
        if self.owned and self.provider is not None:
            self.provider.shutdown()  # type: ignore[no-untyped-call, unused-ignore]


# The samplers that record and sample every span whose parent (if any) is
# sampled: the SDK's default (parent-based, always on) and ``always_on``.
_ALWAYS_ON = sampling.ALWAYS_ON.get_description()
_PARENT_BASED_ON = sampling.ParentBased(sampling.ALWAYS_ON).get_description()  # type: ignore[no-untyped-call]
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# Newer SDKs flag a trace id drawn at random (W3C Trace Context level 2).
_RANDOM = int(getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_PLAIN = frozenset({str, bool, int, float})


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
    lean_tracer.lean_layout = _Layout.of(lean_tracer)
    return tracer


class _LeanTracer(sdk_trace.Tracer):
    """See :func:`lean`; made only from an SDK tracer it found eligible."""

    lean_root_flags: TraceFlags
    lean_child_flags: dict[int, TraceFlags]
    lean_max_attributes: int
    lean_layout: _Layout | None

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
        found = get_current_span(context).get_span_context()
        parent: SpanContext | None = found
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
            made = layout.span(
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
            )
            processor.on_start(made, parent_context=context)  # as start() does
            return made
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

    def _readable_span(self) -> ReadableSpan:
        copied = self.lean_copied
        if copied is None:
            return super()._readable_span()
        readable: ReadableSpan = _new(ReadableSpan)
        fields = zip(self.lean_readable, copied(self.__dict__), strict=True)
        readable.__dict__.update(fields)
        return readable

    def _add_event(self, event: Any) -> None:
        if self._events is _NONE:
            self._events = BoundedList(self._limits.max_events)
        super()._add_event(event)  # type: ignore[misc, unused-ignore]

    def _add_link(self, link: Any) -> None:
        if self._links is _NONE:
            self._links = BoundedList(self._limits.max_links)
        super()._add_link(link)  # type: ignore[misc, unused-ignore]

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self._set_plain(attributes):
            super().set_attributes(attributes)  # type: ignore[arg-type, unused-ignore]

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


def _one_or_all(processors: Any) -> Any:
    """The provider's only span processor when it has one (the gateway's: one
    per exporter), else its chain: the span goes to the same processors,
    without the chain's loop three times a span. Read per span, so a
    processor added later still gets the spans started after it."""
    found: Any = getattr(processors, "_span_processors", ())
    return found[0] if len(found) == 1 else processors


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
        self.lock = lock
        self.attributes_lock = attributes_lock

    @classmethod
    def of(cls, tracer: _LeanTracer) -> _Layout | None:
        if tracer.lean_max_attributes < 0:
            return None
        try:
            return cls._found(tracer)
        except Exception:  # an SDK laid out otherwise: its own constructor
            log.debug("tracing: the SDK's own span constructor", exc_info=True)
            return None

    @classmethod
    def _found(cls, tracer: _LeanTracer) -> _Layout | None:
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
        _LeanSpan.lean_copied = itemgetter(*fields) if len(fields) > 1 else None
        return layout

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
        bounded = _new(BoundedAttributes)
        fields = bounded.__dict__
        fields.update(self.attributes)
        fields["_dict"] = dict(attributes) if attributes else {}
        fields["_lock"] = self.attributes_lock()
        span = _new(_LeanSpan)
        fields = span.__dict__
        fields.update(self.shared)
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
