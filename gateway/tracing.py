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
spans (the SDK's class, parent, ids, flags, attributes, processors), built from
the SDK's own layout of a span without its constructors (``gateway.tracing_lean``,
``gateway.tracing_spans``), at under half of the SDK's cost per span; any other
sampler keeps the SDK's tracer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Tracer

from gateway.tracing_lean import lean

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
