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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import (
    Link,
    Span,
    SpanContext,
    SpanKind,
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
_PLAIN = (str, bool, int, float)


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
    return tracer


class _LeanTracer(sdk_trace.Tracer):
    """See :func:`lean`; made only from an SDK tracer it found eligible."""

    lean_root_flags: TraceFlags
    lean_child_flags: dict[int, TraceFlags]
    lean_max_attributes: int

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
            span_processor=_one_or_all(self.span_processor),
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
    change nothing (see :func:`_plain`); anything else goes the SDK's way."""

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
