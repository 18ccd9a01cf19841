"""What /metrics reads when it is scraped: the lock-free counters and histograms
the request path bumps (plain numbers, turned into Prometheus families only
here), and the collectors of what is read off live objects at scrape time
(breakers, caches, coalesced reads, the fleet's counters)."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from adapters.transport.breaker import BreakerState, CircuitBreaker
from adapters.transport.resilience import ResilientTransport
from adapters.transport.singleflight import Coalescing
from caching import CACHES
from gateway.persisted import PersistedQueries

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
        held = GaugeMetricFamily(
            "gateway_cache_bytes",
            "Bytes a cache holds, as its entries were weighed (an estimate)",
            labels=["cache"],
        )
        bound = GaugeMetricFamily(
            "gateway_cache_max_bytes",
            "Bytes a cache may hold (caching/bounds.py)",
            labels=["cache"],
        )
        totals: dict[str, list[int]] = {}
        for cache in list(CACHES):
            total = totals.setdefault(cache.name, [0, 0, 0, 0])
            total[0] += cache.hits
            total[1] += cache.misses
            total[2] += cache.bytes
            total[3] += cache.max_bytes
        for name, (hit, miss, size, most) in sorted(totals.items()):
            hits.add_metric([name], float(hit))
            misses.add_metric([name], float(miss))
            held.add_metric([name], float(size))
            bound.add_metric([name], float(most))
        yield hits
        yield misses
        yield held
        yield bound
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


class MetricsServer:
    """/metrics served on a port of its own (GATEWAY_METRICS_PORT), in a thread."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self.server = server
        self.thread = thread
        self.port: int = server.server_port

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
