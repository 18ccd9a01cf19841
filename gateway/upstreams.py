"""One pooled upstream client per provider, created once for the app's lifetime.

For a provider whose URL is unset the client talks to its sandbox in process through
``httpx.ASGITransport``; the sandbox's own demo credentials are used (Apiture's
embedded sandbox accepts the configured Apiture credentials instead when some are
set). A configured
provider gets a real pooled transport and the configured credentials, never the
sandbox.

Either transport is wrapped in a
:class:`~adapters.transport.resilience.ResilientTransport` (the sandboxes too, so tests
exercise the real thing): one circuit breaker and one retry budget per provider, the
request's deadline, retries of safe reads; above it, identical safe reads in flight
together share one call (:class:`~adapters.transport.singleflight.Coalescing`). The
breakers are kept here, in ``Upstreams.breakers``, for the ``providers`` query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from opentelemetry.trace import Tracer

from adapters.apiture import sandbox as apiture_sandbox
from adapters.apiture.client import ApitureClient
from adapters.auco import sandbox as auco_sandbox
from adapters.auco.client import AucoClient
from adapters.connectfi import sandbox as connectfi_sandbox
from adapters.connectfi.client import ConnectFiClient
from adapters.connectfi.session import SharedToken
from adapters.mambu import sandbox as mambu_sandbox
from adapters.mambu.client import MambuClient
from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from adapters.transport.breaker import CircuitBreaker
from adapters.transport.cap import CappedTransport
from adapters.transport.observe import NOBODY, CallObserver
from adapters.transport.pooled import PooledTransport
from adapters.transport.ratelimit import OutboundLimit, RateLimitedTransport
from adapters.transport.resilience import RETRY_SAFE, Policy, ResilientTransport
from adapters.transport.singleflight import Coalescing
from gateway.fleet_limits import FleetLimits
from gateway.settings import Settings, secret
from schema.authz import DocumentOwners, DocumentOwnerStore

SANDBOX_HOSTS = {p: f"http://{p.value}.sandbox" for p in Provider}


@dataclass
class Upstreams:
    apiture: ApitureClient
    connectfi: ConnectFiClient
    auco: AucoClient
    mambu: MambuClient
    http: dict[Provider, httpx.AsyncClient]
    sandboxes: dict[Provider, Controlled] = field(default_factory=dict)
    breakers: dict[Provider, CircuitBreaker] = field(default_factory=dict)
    # Each provider's transports, for the metrics (in flight, coalesced reads).
    transports: dict[Provider, ResilientTransport] = field(default_factory=dict)
    coalescing: dict[Provider, Coalescing] = field(default_factory=dict)
    request_deadline: float = 15.0  # seconds, for each GraphQL request
    # Who generated each connectFi document (schema/authz.py, the upload check).
    document_owners: DocumentOwnerStore = field(default_factory=DocumentOwners)

    async def probe(self, provider: Provider) -> float | None:
        """Round trip of a HEAD to the provider's base URL in ms; None if down.

        Any HTTP answer counts as reachable: the probe asks "is it there", not
        "is this request valid". It goes through the provider's breaker like any
        call (refused while open, the half-open probe after the cool-down), once:
        a health check that retries would hide what it is asked.
        """
        started = time.perf_counter()
        try:
            await self.http[provider].head(
                "", timeout=2.0, extensions={RETRY_SAFE: False}
            )
        except httpx.HTTPError:
            return None
        return (time.perf_counter() - started) * 1000

    async def aclose(self) -> None:
        for client in self.http.values():
            await client.aclose()


def create_sandboxes(settings: Settings) -> dict[Provider, Controlled]:
    """Fresh sandboxes for every provider the settings leave unconfigured."""
    api_key, access_token = _apiture_sandbox_credentials(settings)
    factories: dict[Provider, Callable[[], Controlled]] = {
        Provider.APITURE: lambda: apiture_sandbox.create_app(
            api_key=api_key, access_token=access_token
        ),
        Provider.CONNECTFI: connectfi_sandbox.create_app,
        Provider.AUCO: auco_sandbox.create_app,
        Provider.MAMBU: mambu_sandbox.create_app,
    }
    sandboxes: dict[Provider, Controlled] = {}
    for provider in settings.sandboxed():
        app = factories[provider]()
        app.control.latency = settings.sandbox_latency
        sandboxes[provider] = app
    return sandboxes


def _apiture_sandbox_credentials(settings: Settings) -> tuple[str, str]:
    """What the gateway sends its embedded Apiture sandbox, which accepts exactly
    that: the configured ``API-Key`` and token if any, else the sandbox's demo
    ones (the sandbox requires both, as Apiture does)."""
    return (
        secret(settings.apiture_api_key) or apiture_sandbox.DEMO_API_KEY,
        secret(settings.apiture_access_token) or apiture_sandbox.DEMO_ACCESS_TOKEN,
    )


_BASE_PATHS = {
    Provider.APITURE: apiture_sandbox.BASE_PATH,
    Provider.CONNECTFI: connectfi_sandbox.BASE_PATH,
    Provider.AUCO: auco_sandbox.BASE_PATH,
    Provider.MAMBU: mambu_sandbox.BASE_PATH,
}


def policy(settings: Settings) -> Policy:
    return Policy(
        attempts=settings.retry_attempts,
        base_backoff=settings.retry_backoff,
        max_backoff=settings.retry_backoff_max,
        budget_ratio=settings.retry_budget_ratio,
        budget_minimum=settings.retry_budget_min,
        attempt_timeout=settings.attempt_timeout,
        total_timeout=settings.request_deadline,
    )


def _http_client(
    settings: Settings,
    provider: Provider,
    sandbox: Controlled | None,
    breaker: CircuitBreaker,
    fleet: FleetLimits,
    tracer: Tracer | None = None,
    observer: CallObserver = NOBODY,
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    inner: httpx.AsyncBaseTransport
    if sandbox is not None:
        inner = CappedTransport(
            httpx.ASGITransport(app=sandbox), settings.max_upstream_bytes
        )
        base_url = SANDBOX_HOSTS[provider] + _BASE_PATHS[provider]
    else:
        url = settings.provider_url(provider)
        assert url is not None  # only sandboxed providers lack one
        base_url = url
        # Our own HTTP/1.1 pool: httpx's costs milliseconds of CPU per call under
        # concurrency, aiohttp's ~100 us (adapters/transport/pooled.py). No proxy
        # from the environment.
        inner = PooledTransport(
            max_connections=settings.max_connections,
            max_answer_bytes=settings.max_upstream_bytes,
        )
    rate = outbound_rate(settings, provider)
    if rate > 0:
        # Under the retries: every attempt takes a unit of the provider's quota.
        limit = OutboundLimit(
            key=f"gw:rl:provider:{provider.value}",
            rate=rate,
            burst=settings.provider_rate_burst or max(rate, 1.0),
            max_wait=settings.provider_rate_max_wait,
        )
        inner = fleet.outbound[provider.value] = RateLimitedTransport(
            inner, limit=limit, limiter=fleet.limiter
        )
    transport: httpx.AsyncBaseTransport = ResilientTransport(
        inner,
        name=provider.value,
        policy=policy(settings),
        breaker=breaker,
        budget=fleet.retry_budget(settings, provider.value),
        tracer=tracer,
        observer=observer,
    )
    if settings.coalesce_reads:
        transport = Coalescing(transport, total_timeout=settings.request_deadline)
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=timeout)


def outbound_rate(settings: Settings, provider: Provider) -> float:
    """Calls per second allowed to ``provider`` (``GATEWAY_<NAME>_RATE_LIMIT``)."""
    rate: float = getattr(settings, f"{provider.value}_rate_limit")
    return rate


def create_upstreams(
    settings: Settings,
    sandboxes: dict[Provider, Controlled] | None = None,
    *,
    connectfi_token: SharedToken | None = None,
    document_owners: DocumentOwnerStore | None = None,
    fleet: FleetLimits | None = None,
    tracer: Tracer | None = None,
    observer: CallObserver = NOBODY,
) -> Upstreams:
    """Build every provider's client; ``sandboxes`` lets tests pass their own;
    ``connectfi_token`` and ``document_owners`` are the fleet's (gateway/state);
    ``fleet`` holds the limits shared with other replicas (in-process if None);
    with a ``tracer`` every attempt is a span and sends ``traceparent``;
    ``observer`` sees every upstream attempt (the metrics)."""
    if fleet is None:
        fleet = FleetLimits.from_settings(Settings.model_construct())
    if sandboxes is None:
        sandboxes = create_sandboxes(settings)
    breakers = {
        p: CircuitBreaker(
            threshold=settings.breaker_threshold,
            cooldown=settings.breaker_cooldown,
            name=p.value,
        )
        for p in Provider
    }
    http = {
        p: _http_client(
            settings, p, sandboxes.get(p), breakers[p], fleet, tracer, observer
        )
        for p in Provider
    }
    transports: dict[Provider, ResilientTransport] = {}
    coalescing: dict[Provider, Coalescing] = {}
    for p, client in http.items():
        transport = client._transport
        if isinstance(transport, Coalescing):
            coalescing[p] = transport
            transport = transport._inner
        if isinstance(transport, ResilientTransport):
            transports[p] = transport
    sandboxed = settings.sandboxed()
    concurrency = settings.max_concurrency_per_provider

    def pick(provider: Provider, configured: str | None, demo: str) -> str:
        return demo if provider in sandboxed else (configured or "")

    return Upstreams(
        apiture=ApitureClient(
            http[Provider.APITURE],
            api_key=pick(
                Provider.APITURE,
                secret(settings.apiture_api_key),
                _apiture_sandbox_credentials(settings)[0],
            ),
            access_token=pick(
                Provider.APITURE,
                secret(settings.apiture_access_token),
                _apiture_sandbox_credentials(settings)[1],
            ),
            max_concurrency=concurrency,
        ),
        connectfi=ConnectFiClient(
            http[Provider.CONNECTFI],
            login=pick(Provider.CONNECTFI, settings.connectfi_login, "sandbox"),
            password=pick(
                Provider.CONNECTFI, secret(settings.connectfi_password), "sandbox"
            ),
            max_concurrency=concurrency,
            shared=connectfi_token,
        ),
        auco=AucoClient(
            http[Provider.AUCO],
            private_key=pick(
                Provider.AUCO, secret(settings.auco_private_key), "prk_sandbox"
            ),
            public_key=pick(
                Provider.AUCO, secret(settings.auco_public_key), "puk_sandbox"
            ),
            max_concurrency=concurrency,
        ),
        mambu=MambuClient(
            http[Provider.MAMBU],
            username=pick(Provider.MAMBU, settings.mambu_username, "sandbox"),
            password=pick(Provider.MAMBU, secret(settings.mambu_password), "sandbox"),
            max_concurrency=concurrency,
        ),
        http=http,
        sandboxes=sandboxes,
        breakers=breakers,
        transports=transports,
        coalescing=coalescing,
        request_deadline=settings.request_deadline,
        document_owners=document_owners or DocumentOwners(),
    )
