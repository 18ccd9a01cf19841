"""Prometheus metrics: ``/metrics``, or a port of their own (``GATEWAY_METRICS_PORT``).

Each app has its own ``CollectorRegistry`` (tests stay independent). What is counted
as it happens (cheap: a labelled child is looked up once, then kept):

    gateway_graphql_requests_total{operation,type,outcome}
    gateway_graphql_request_duration_seconds{operation,type}      histogram
    gateway_graphql_errors_total{code}                            every error returned
    gateway_upstream_requests_total{provider,route,method,status,attempt}
    gateway_upstream_request_duration_seconds{provider,route,attempt}   histogram
    gateway_upstream_retries_total{provider}
    gateway_upstream_retry_budget_refusals_total{provider}
    gateway_limits_refused_total{kind}
    gateway_auth_failures_total{transport}                        http, websocket
    gateway_upload_bytes / gateway_upload_duration_seconds        histograms
    gateway_webhooks_received_total{provider,outcome}

and what is read when scraped, from the objects that keep it anyway:

    gateway_upstream_breaker_state{provider,state}     1 for the breaker's state
    gateway_upstream_in_flight{provider}, gateway_upstream_concurrency_limit{provider}
    gateway_upstream_coalesced_total{provider}         reads answered by another's call
    gateway_cache_hits_total{cache}, gateway_cache_misses_total{cache}
    gateway_cache_bytes{cache}, gateway_cache_max_bytes{cache}   held, bound (bytes)
    gateway_persisted_query_hits_total, gateway_persisted_query_misses_total
    gateway_subscriptions_open
    gateway_rate_limited_total{limit}                  requests, cost (429s)
    gateway_provider_quota_total{provider,outcome}     waited, refused, held
    gateway_redis_fallbacks_total{concern}             each store's failure policy ran
    gateway_redis_up{concern}                          0 while a store sees Redis down

Cardinality is bounded: ``operation`` is an operation of ``operations/`` or of the
persisted-query manifest, else ``other``; ``type`` one of three; ``outcome`` ``ok``,
``partial`` or an error code (``[A-Z_]``, else ``INTERNAL``); ``route`` a contract's
path template (``adapters/transport/observe.py``); ``status`` a status class or an
error kind. No id, no name, no path reaches a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    start_http_server,
)
from starlette.requests import Request
from starlette.responses import Response

from adapters.transport.breaker import CircuitBreaker
from adapters.transport.observe import status_class
from adapters.transport.resilience import ResilientTransport
from adapters.transport.singleflight import Coalescing
from gateway.metrics_labels import (
    OTHER,
    _kind_of,
    _label_code,
    _only_operation_name,
    _outcome_of_status,
    _webhook_outcome,
    limit_kind,
)
from gateway.metrics_scrape import (
    _METHODS,
    CallerLimitCounters,
    FleetCounters,
    FleetLimitCounters,
    MetricsServer,
    _Counted,
    _Counter,
    _Histogram,
    _ScrapeTime,
    _Sources,
)
from gateway.observability import RequestInfo, current
from gateway.persisted import PersistedQueries

KINDS = ("query", "mutation", "subscription")
# Seconds: a one-record query is a few ms, a deadline 15 s.
REQUEST_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    15.0,
)
UPSTREAM_BUCKETS = REQUEST_BUCKETS
UPLOAD_BYTE_BUCKETS = tuple(float(4**n * 1024) for n in range(1, 10))  # 4 KiB-256 MiB


class Metrics:
    """The app's metrics (module docstring)."""

    def __init__(
        self, operations: Iterable[tuple[str, str]] = (), *, enabled: bool = True
    ) -> None:
        self.enabled = enabled  # off: operations are named, nothing is counted
        self.registry = registry = CollectorRegistry(auto_describe=True)
        # Known operation names and their types: the only names a label carries.
        self.operations: dict[str, str] = dict(operations)
        self._names: dict[str, tuple[str, str]] = {}
        # Counted as plain numbers, turned into families when scraped (_Counted):
        # prometheus_client's own metrics take a lock and a few calls per update.
        self.requests = _Counter(
            "gateway_graphql_requests",
            "GraphQL requests by operation, operation type and outcome",
            ("operation", "type", "outcome"),
        )
        self.request_seconds = _Histogram(
            "gateway_graphql_request_duration_seconds",
            "GraphQL request latency, from the first byte in to the last out",
            ("operation", "type"),
            REQUEST_BUCKETS,
        )
        self.errors = _Counter(
            "gateway_graphql_errors",
            "GraphQL errors returned, by extensions.code",
            ("code",),
        )
        self.upstream = _Counter(
            "gateway_upstream_requests",
            "Upstream attempts by provider, route template, method, status class "
            "(or error kind) and attempt (first, retry)",
            ("provider", "route", "method", "status", "attempt"),
        )
        self.upstream_seconds = _Histogram(
            "gateway_upstream_request_duration_seconds",
            "Upstream attempt latency by provider, route template and attempt",
            ("provider", "route", "attempt"),
            UPSTREAM_BUCKETS,
        )
        self.retries = _Counter(
            "gateway_upstream_retries", "Upstream retries sent", ("provider",)
        )
        self.retry_refusals = _Counter(
            "gateway_upstream_retry_budget_refusals",
            "Retries the provider's retry budget refused",
            ("provider",),
        )
        self.limits = _Counter(
            "gateway_limits_refused", "Requests refused by a limit, by kind", ("kind",)
        )
        self.auth_failures = _Counter(
            "gateway_auth_failures",
            "Requests and WebSocket connections refused as unauthenticated",
            ("transport",),
        )
        self.upload_bytes = _Histogram(
            "gateway_upload_bytes",
            "Bytes of each multipart (upload) request",
            (),
            UPLOAD_BYTE_BUCKETS,
        )
        self.upload_seconds = _Histogram(
            "gateway_upload_duration_seconds",
            "Duration of each multipart (upload) request",
            (),
            (*REQUEST_BUCKETS, 30.0, 60.0),
        )
        self.webhooks = _Counter(
            "gateway_webhooks_received",
            "Provider webhooks received, by provider and outcome",
            ("provider", "outcome"),
        )
        registry.register(
            _Counted(
                [
                    self.requests,
                    self.request_seconds,
                    self.errors,
                    self.upstream,
                    self.upstream_seconds,
                    self.retries,
                    self.retry_refusals,
                    self.limits,
                    self.auth_failures,
                    self.upload_bytes,
                    self.upload_seconds,
                    self.webhooks,
                ]
            )
        )
        self._state = _Sources()
        registry.register(_ScrapeTime(self._state))
        self.observer = UpstreamMetrics(self)

    # Sources read at scrape time ------------------------------------------------

    def watch(
        self,
        *,
        breakers: dict[str, CircuitBreaker] | None = None,
        transports: dict[str, ResilientTransport] | None = None,
        coalescing: dict[str, Coalescing] | None = None,
        concurrency_limit: int | None = None,
        persisted: PersistedQueries | None = None,
        subscriptions: Callable[[], int] | None = None,
        fleet: FleetCounters | None = None,
        fleet_limits: FleetLimitCounters | None = None,
        caller_limits: CallerLimitCounters | None = None,
    ) -> None:
        state = self._state
        if fleet is not None:
            state.fleet = fleet
        if fleet_limits is not None:
            state.fleet_limits = fleet_limits
        if caller_limits is not None:
            state.caller_limits = caller_limits
        if breakers is not None:
            state.breakers = breakers
        if transports is not None:
            state.transports = transports
        if coalescing is not None:
            state.coalescing = coalescing
        if concurrency_limit is not None:
            state.concurrency_limit = concurrency_limit
        if persisted is not None:
            state.persisted = persisted
        if subscriptions is not None:
            state.subscriptions = subscriptions

    # GraphQL ---------------------------------------------------------------------

    def know(self, documents: Iterable[str]) -> None:
        """Name these documents' operations in labels (the persisted-query
        manifest's: a bounded set the operator chose)."""
        for text in documents:
            try:
                document = parse(text, no_location=True)
            except GraphQLError:
                continue
            for d in document.definitions:
                if isinstance(d, OperationDefinitionNode) and d.name is not None:
                    self.operations.setdefault(d.name.value, d.operation.value)

    def operation(self, name: str | None, query: str | None) -> tuple[str, str]:
        """(label name, type) of an operation: a known name, else ``other``."""
        key = name or query or ""
        found = self._names.get(key)
        if found is not None:
            return found
        if name is None and query is not None:
            name = _only_operation_name(query)
        if name in self.operations:
            assert name is not None
            found = (name, self.operations[name])
        else:
            found = (OTHER, _kind_of(query, name))
        if len(self._names) < 10_000:  # texts and names from clients: bounded
            self._names[key] = found
        return found

    def request_finished(self, info: RequestInfo, duration: float) -> None:
        """Called by ``RequestTelemetry`` at the end of every HTTP request."""
        if info.limit is not None:
            self.limits.inc((info.limit,))
        if info.auth_failed:
            self.auth_failures.inc(("http",))
        route = info.route
        if route == "/graphql":
            if info.outcome is None and info.status >= 400:
                info.outcome = _outcome_of_status(info.status)
            if info.outcome is not None:
                operation = info.operation or OTHER
                kind = info.kind or "query"
                self.requests.inc(
                    (
                        operation,
                        kind,
                        info.outcome,
                    )
                )
                self.request_seconds.observe((operation, kind), duration)
            if info.upload_bytes:
                self.upload_bytes.observe((), info.upload_bytes)
                self.upload_seconds.observe((), duration)
        elif route.startswith("/webhooks/"):
            provider = "auco" if route == "/webhooks/auco" else "connectfi"
            self.webhooks.inc((provider, _webhook_outcome(info.status)))

    def errors_returned(self, errors: Iterable[dict[str, Any]]) -> str | None:
        """Counts each error by code; answers the first code (for the outcome)."""
        first = None
        for error in errors:
            extensions = error.get("extensions") or {}
            code = _label_code(extensions.get("code"))
            if self.enabled:
                self.errors.inc((code,))
            first = first or code
            info = current()
            if code == "QUERY_TOO_COMPLEX" and info is not None and info.limit is None:
                info.limit = limit_kind(str(error.get("message", "")))
        return first

    def websocket_auth_failed(self) -> None:
        if self.enabled:
            self.auth_failures.inc(("websocket",))

    # Serving ---------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def serve(self, host: str, port: int) -> MetricsServer:
        """``/metrics`` on a port of its own (a thread), until ``close()``."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsServer(server, thread)


# QUERY_TOO_COMPLEX's messages (schema/limits.py, graphql-core's token limit), by
# the limit that refused. The gateway's other refusals set the kind themselves
# (request_bytes, upload_bytes, upload_files, json_depth: gateway.limits,
# gateway.graphql_http).


class _Attempt:
    """One upstream attempt, observed (``adapters.transport.observe.CallRecord``)."""

    __slots__ = ("attempt", "method", "metrics", "provider", "route", "status", "t")

    def __init__(
        self, metrics: Metrics, provider: str, method: str, route: str, attempt: str
    ) -> None:
        self.metrics = metrics
        self.provider = provider
        self.method = method
        self.route = route
        self.attempt = attempt
        self.status = "cancelled"
        self.t = 0.0

    def __enter__(self) -> _Attempt:
        self.t = time.perf_counter()
        info = current()
        if info is not None:
            info.upstream_calls += 1
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self.t
        m = self.metrics
        labels = (self.provider, self.route, self.method, self.status, self.attempt)
        m.upstream.inc(labels)
        m.upstream_seconds.observe((self.provider, self.route, self.attempt), elapsed)

    def answered(self, status: int) -> None:
        self.status = status_class(status)

    def failed(self, kind: str) -> None:
        self.status = kind


class UpstreamMetrics:
    """The transport's observer (``adapters.transport.observe.CallObserver``)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def observe_call(
        self, provider: str, method: str, route: str, attempt: int
    ) -> _Attempt:
        if method not in _METHODS:
            method = OTHER
        return _Attempt(
            self.metrics, provider, method, route, "first" if attempt == 1 else "retry"
        )

    def retried(self, provider: str) -> None:
        self.metrics.retries.inc((provider,))

    def retry_refused(self, provider: str) -> None:
        self.metrics.retry_refusals.inc((provider,))
