"""The ``providers`` query: how each upstream is served and whether it answers."""

from __future__ import annotations

import asyncio

import strawberry

from adapters import model
from schema.context import Context
from schema.types.common import Provider, by_name


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
        description="closed, open or half_open: the circuit breaker's state."
    )


async def _probe(ctx: Context, provider: model.Provider) -> ProviderStatus:
    sandboxed = provider in ctx.upstreams.sandboxes
    latency = await ctx.upstreams.probe(provider)
    return ProviderStatus(
        name=by_name(Provider, provider),
        sandbox=sandboxed,
        configured=not sandboxed,
        reachable=latency is not None,
        latency_ms=round(latency, 2) if latency is not None else None,
        breaker_state="closed",
    )


async def provider_statuses(ctx: Context) -> list[ProviderStatus]:
    return list(await asyncio.gather(*(_probe(ctx, p) for p in model.Provider)))
