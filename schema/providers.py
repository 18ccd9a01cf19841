"""The ``providers`` query: how each upstream is served and whether it answers."""

from __future__ import annotations

import asyncio

import strawberry

from adapters import model
from schema.context import Context
from schema.types.common import Provider
from schema.types.presenting import by_name


@strawberry.type(description="How one provider is served, and how it is doing.")
class ProviderStatus:
    name: Provider = strawberry.field(description="The provider.")
    sandbox: bool = strawberry.field(
        description="Served by the gateway's embedded sandbox (no URL configured)."
    )
    configured: bool = strawberry.field(description="A URL is configured.")
    reachable: bool = strawberry.field(
        description="It answered a probe just now (any HTTP status counts)."
    )
    latency_ms: float | None = strawberry.field(
        description="Round trip of that probe, in milliseconds."
    )
    breaker_state: str = strawberry.field(
        description="closed, open or half_open: the circuit breaker's state. While "
        "open, calls to the provider fail fast with PROVIDER_UNAVAILABLE; after a "
        "cool-down one call probes it, and a success closes the breaker."
    )
    failures: int = strawberry.field(
        description="Upstream attempts that failed in a row (timeouts, lost "
        "connections, 5xx); the breaker opens at its threshold."
    )
    last_error: str | None = strawberry.field(
        description="The last failure seen, as a short code: timeout, "
        "connect_error, connection_dropped, transport_error or http_<status>."
    )
    average_latency_ms: float | None = strawberry.field(
        description="Moving average of recent upstream calls' latency, in "
        "milliseconds (answers of any status)."
    )


async def _probe(ctx: Context, provider: model.Provider) -> ProviderStatus:
    sandboxed = provider in ctx.upstreams.sandboxes
    latency = await ctx.upstreams.probe(provider)
    breaker = ctx.upstreams.breakers[provider]  # read after the probe: it counts
    average = breaker.latency_ms
    return ProviderStatus(
        name=by_name(Provider, provider),
        sandbox=sandboxed,
        configured=not sandboxed,
        reachable=latency is not None,
        latency_ms=round(latency, 2) if latency is not None else None,
        breaker_state=breaker.state.value,
        failures=breaker.failures,
        last_error=breaker.last_error,
        average_latency_ms=round(average, 2) if average is not None else None,
    )


async def provider_statuses(ctx: Context) -> list[ProviderStatus]:
    return list(await asyncio.gather(*(_probe(ctx, p) for p in model.Provider)))
