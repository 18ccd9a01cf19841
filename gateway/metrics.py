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

import re
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from adapters.transport.breaker import BreakerState, CircuitBreaker
from adapters.transport.observe import status_class
from adapters.transport.resilience import ResilientTransport
from adapters.transport.singleflight import Coalescing
from caching import CACHES
from gateway.observability import RequestInfo, current
from gateway.persisted import PersistedQueries

OTHER = "other"
KINDS = ("query", "mutation", "subscription")
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")
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
_LIMIT_MESSAGES = (
    ("introspection", "introspection"),
    ("root fields", "root_fields"),
    ("aliases", "aliases"),
    ("levels deep", "depth"),
    ("estimated cost", "cost"),
    ("first may be at most", "page_size"),
    ("tokens", "tokens"),
)


def limit_kind(message: str) -> str:
    return next((kind for text, kind in _LIMIT_MESSAGES if text in message), OTHER)


class MetricsServer:
    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.port: int = server.server_port

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


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


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Counter:
    """A counter by label values, kept as plain numbers (one event loop updates
    it; a scrape from the metrics port's thread copies it in one C call)."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, labels: tuple[str, ...]) -> None:
        values = self.values
        values[labels] = values.get(labels, 0.0) + 1.0

    def family(self) -> Any:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in sorted(self.values.copy().items()):
            family.add_metric(labels, value)
        return family


class _Histogram:
    """A histogram by label values: a count per bucket (not cumulative until
    scraped) and the sum."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        buckets: tuple[float, ...],
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.bounds = buckets
        self.values: dict[tuple[str, ...], list[float]] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        found = self.values.get(labels)
        if found is None:
            found = self.values[labels] = [0.0] * (len(self.bounds) + 2)
        found[bisect_left(self.bounds, value)] += 1.0  # the last bucket: +Inf
        found[-1] += value

    def family(self) -> Any:
        family = HistogramMetricFamily(
            self.name, self.documentation, labels=self.labels
        )
        edges = [*(_le(b) for b in self.bounds), "+Inf"]
        for labels, counts in sorted(self.values.copy().items()):
            counts = list(counts)
            cumulative, total = [], 0.0
            for edge, count in zip(edges, counts[:-1], strict=True):
                total += count
                cumulative.append((edge, total))
            family.add_metric(list(labels), cumulative, sum_value=counts[-1])
        return family


def _le(bound: float) -> str:
    return repr(float(bound))


class _Counted(Collector):
    def __init__(self, metrics: list[_Counter | _Histogram]) -> None:
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        for metric in self.metrics:
            yield metric.family()


# What the fleet's objects (gateway.state, gateway.fleet_limits) keep, as the
# metrics read it: their plain counters, nothing else.


class FleetCounters(Protocol):
    def counters(self) -> dict[str, int]: ...

    def down(self) -> dict[str, bool]: ...


class _Fallbacks(Protocol):
    @property
    def fallbacks(self) -> int: ...


class _Quota(Protocol):
    @property
    def waited(self) -> int: ...

    @property
    def refused(self) -> int: ...

    @property
    def held(self) -> int: ...


class FleetLimitCounters(Protocol):
    @property
    def limiter(self) -> object: ...  # a RedisLimiter counts ``fallbacks``

    @property
    def budgets(self) -> Mapping[str, _Fallbacks]: ...

    @property
    def outbound(self) -> Mapping[str, _Quota]: ...


class CallerLimitCounters(Protocol):
    @property
    def refused(self) -> Mapping[str, int]: ...


QUOTA_OUTCOMES = ("waited", "refused", "held")


class _Sources:
    def __init__(self) -> None:
        self.fleet: FleetCounters | None = None
        self.fleet_limits: FleetLimitCounters | None = None
        self.caller_limits: CallerLimitCounters | None = None
        self.breakers: dict[str, CircuitBreaker] = {}
        self.transports: dict[str, ResilientTransport] = {}
        self.coalescing: dict[str, Coalescing] = {}
        self.concurrency_limit: int | None = None
        self.persisted: PersistedQueries | None = None
        self.subscriptions: Callable[[], int] | None = None


class _ScrapeTime(Collector):
    """What the gateway keeps anyway, read when scraped: nothing on the hot path."""

    def __init__(self, sources: _Sources) -> None:
        self.sources = sources

    def describe(self) -> list[Any]:
        return []  # families vary with what is watched: checked at collect

    def collect(self) -> Iterator[Any]:
        s = self.sources
        breaker = GaugeMetricFamily(
            "gateway_upstream_breaker_state",
            "Each provider's circuit breaker: 1 for its current state",
            labels=["provider", "state"],
        )
        for provider, b in sorted(s.breakers.items()):
            for state in BreakerState:
                on = 1.0 if b.state is state else 0.0
                breaker.add_metric([provider, state.name.lower()], on)
        yield breaker
        in_flight = GaugeMetricFamily(
            "gateway_upstream_in_flight",
            "Upstream calls under way, per provider",
            labels=["provider"],
        )
        for provider, t in sorted(s.transports.items()):
            in_flight.add_metric([provider], float(t.in_flight))
        yield in_flight
        limit = GaugeMetricFamily(
            "gateway_upstream_concurrency_limit",
            "Calls allowed in flight to one provider at once",
            labels=["provider"],
        )
        if s.concurrency_limit is not None:
            for provider in sorted(s.transports):
                limit.add_metric([provider], float(s.concurrency_limit))
        yield limit
        coalesced = CounterMetricFamily(
            "gateway_upstream_coalesced",
            "Reads answered by an identical call already in flight",
            labels=["provider"],
        )
        for provider, c in sorted(s.coalescing.items()):
            coalesced.add_metric([provider], float(c.shared))
        yield coalesced
        hits = CounterMetricFamily(
            "gateway_cache_hits", "Cache hits, per cache", labels=["cache"]
        )
        misses = CounterMetricFamily(
            "gateway_cache_misses", "Cache misses, per cache", labels=["cache"]
        )
        totals: dict[str, list[int]] = {}
        for cache in list(CACHES):
            total = totals.setdefault(cache.name, [0, 0])
            total[0] += cache.hits
            total[1] += cache.misses
        for name, (hit, miss) in sorted(totals.items()):
            hits.add_metric([name], float(hit))
            misses.add_metric([name], float(miss))
        yield hits
        yield misses
        if s.persisted is not None:
            yield CounterMetricFamily(
                "gateway_persisted_query_hits",
                "Persisted queries found by hash",
                value=float(s.persisted.hits),
            )
            yield CounterMetricFamily(
                "gateway_persisted_query_misses",
                "Persisted-query hashes not known (PERSISTED_QUERY_NOT_FOUND)",
                value=float(s.persisted.misses),
            )
        if s.subscriptions is not None:
            yield GaugeMetricFamily(
                "gateway_subscriptions_open",
                "Subscriptions open, every transport",
                value=float(s.subscriptions()),
            )
        yield from _fleet_families(s)


def _fleet_families(s: _Sources) -> Iterator[Any]:
    """Rate limits, provider quotas and Redis fallbacks: every family always
    (empty when nothing feeds it), so a dashboard's queries name known metrics."""
    limited = CounterMetricFamily(
        "gateway_rate_limited",
        "Requests a caller's rate limit refused (429), by limit: requests, cost",
        labels=["limit"],
    )
    if s.caller_limits is not None:
        for kind, count in sorted(s.caller_limits.refused.items()):
            limited.add_metric([kind], float(count))
    yield limited
    quota = CounterMetricFamily(
        "gateway_provider_quota",
        "Calls a provider's outbound quota made wait, refused locally (429), "
        "and provider 429s that held the quota",
        labels=["provider", "outcome"],
    )
    fallbacks = CounterMetricFamily(
        "gateway_redis_fallbacks",
        "Operations done by a concern's failure policy because Redis failed",
        labels=["concern"],
    )
    limits = s.fleet_limits
    if limits is not None:
        for provider, t in sorted(limits.outbound.items()):
            for outcome in QUOTA_OUTCOMES:
                quota.add_metric([provider, outcome], float(getattr(t, outcome)))
        limiter = getattr(limits.limiter, "fallbacks", None)
        if isinstance(limiter, int):  # only the Redis limiter falls back
            fallbacks.add_metric(["rate_limits"], float(limiter))
        if limits.budgets:
            total = sum(b.fallbacks for b in limits.budgets.values())
            fallbacks.add_metric(["retry_budget"], float(total))
    up = GaugeMetricFamily(
        "gateway_redis_up",
        "1 while a concern's store reaches Redis, 0 while it falls back",
        labels=["concern"],
    )
    if s.fleet is not None:
        for concern, count in sorted(s.fleet.counters().items()):
            fallbacks.add_metric([concern], float(count))
        for concern, down in sorted(s.fleet.down().items()):
            up.add_metric([concern], 0.0 if down else 1.0)
    yield quota
    yield fallbacks
    yield up


def _label_code(code: object) -> str:
    if isinstance(code, str) and _CODE.fullmatch(code):
        return code
    return "INTERNAL"


def _outcome_of_status(status: int) -> str:
    return {
        400: "BAD_USER_INPUT",
        401: "UNAUTHENTICATED",
        403: "FORBIDDEN",
        408: "REQUEST_TIMEOUT",
        413: "REQUEST_TOO_LARGE",
    }.get(status, "INTERNAL" if status >= 500 else "BAD_REQUEST")


def _webhook_outcome(status: int) -> str:
    return {
        200: "accepted",
        400: "bad_body",
        401: "unauthorized",
        404: "off",
        413: "too_large",
    }.get(status, "error")


def _only_operation_name(query: str) -> str | None:
    """The name of a document's one operation (None: several, none, unparsable).
    Called once per distinct text (``Metrics.operation`` remembers)."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return None
    found = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(found) == 1 and found[0].name is not None:
        return found[0].name.value
    return None


_KIND = re.compile(r"\b(query|mutation|subscription)\s+(\w+)")
_FIRST = re.compile(r"\s*(?:#[^\n]*\n\s*)*(query|mutation|subscription|\{)")


def _kind_of(query: str | None, name: str | None) -> str:
    """The operation's type from its text: the named one's, else the first's."""
    if not query:
        return "query"
    if name:
        for match in _KIND.finditer(query):
            if match.group(2) == name:
                return match.group(1)
    first = _FIRST.match(query)
    if first is None or first.group(1) == "{":
        return "query"
    return first.group(1)
