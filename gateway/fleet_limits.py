"""Limits a fleet shares: callers' rate limits, providers' quotas, retry budgets.

Unset ``GATEWAY_REDIS_URL``: the in-process :class:`~adapters.transport.ratelimit.
MemoryLimiter` and :class:`~adapters.transport.breaker.RetryBudget` (one
replica). Set: ``gateway.redis_limits``' :class:`~gateway.redis_limits.
RedisLimiter` and :class:`~gateway.redis_limits.SharedRetryBudget`, against the
one Redis every replica uses. :class:`FleetLimits` is the wiring: it picks the
store and hands it to the callers' limits (``gateway.caller_limits``) and the
providers' transports (``gateway.upstreams``).

Policy when Redis fails (down, unreachable, too slow): the limits **fail open**.
A rate limit that refused every request while Redis is down would turn a Redis
outage into a gateway outage, and the limits protect against overuse, not
against a single unauthorised call (authentication does that). Each fallback
logs a warning and counts in ``fallbacks``; the retry budget falls back to the
replica's own budget, so retries stay bounded per replica meanwhile.

Counters (plain attributes, for the metrics): ``CallerLimits.refused`` by kind
(``requests``, ``cost``), ``RedisLimiter.fallbacks``,
``SharedRetryBudget.fallbacks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as redis

from adapters.transport.ratelimit import Limiter, MemoryLimiter, RateLimitedTransport
from gateway.caller_limits import CallerLimits
from gateway.redis_limits import RedisLimiter, SharedRetryBudget, redis_client
from gateway.settings import Settings, secret
from schema.limits import QueryLimits


@dataclass
class FleetLimits:
    """What ``create_app`` and ``create_upstreams`` get: the shared store, if any."""

    limiter: Limiter
    client: redis.Redis | None = None
    budgets: dict[str, SharedRetryBudget] = field(default_factory=dict)
    # Each rate-limited provider's transport (its counters), by provider name.
    outbound: dict[str, RateLimitedTransport] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> FleetLimits:
        url = secret(settings.redis_url)
        if not url:
            return cls(MemoryLimiter())
        client = redis_client(url)
        return cls(RedisLimiter(client), client)

    def retry_budget(
        self, settings: Settings, provider: str
    ) -> SharedRetryBudget | None:
        """The provider's fleet-wide retry budget; None without Redis."""
        if self.client is None:
            return None
        budget = self.budgets.get(provider)
        if budget is None:
            budget = self.budgets[provider] = SharedRetryBudget(
                self.client,
                provider,
                ratio=settings.retry_budget_ratio,
                minimum=settings.retry_budget_min,
            )
        return budget

    def caller_limits(self, settings: Settings) -> CallerLimits:
        return CallerLimits(
            self.limiter,
            requests_per_second=settings.rate_limit_requests,
            request_burst=settings.rate_limit_burst
            or max(settings.rate_limit_requests, 1.0),
            cost_per_second=settings.rate_limit_cost,
            cost_burst=settings.rate_limit_cost_burst or float(settings.max_query_cost),
            limits=QueryLimits(
                max_tokens=settings.max_tokens, max_cost=settings.max_query_cost
            ),
        )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
