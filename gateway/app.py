"""``create_app(settings)``: the FastAPI application.

One upstream client per provider is created in the lifespan and shared by every
request; each request gets fresh dataloaders and the caller's identity in its
GraphQL context.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware.cors import CORSMiddleware
from strawberry.exceptions import ConnectionRejectionError

from adapters.model import Provider
from adapters.sandbox_kit import Controlled
from adapters.transport.observe import NOBODY as NOBODY_WATCHES
from gateway import graphiql
from gateway.auth import ANONYMOUS, Authenticator, AuthNotConfigured, Unauthenticated
from gateway.cors import HEADERS, MAX_AGE, METHODS, CORSPolicy, cors_policy
from gateway.fleet_limits import FleetLimits
from gateway.graphql_dispatch import GraphQLDispatch
from gateway.graphql_http import GraphQLHTTP
from gateway.health import Health, drain_on_sigterm
from gateway.limits import UploadLimit
from gateway.metrics import Metrics
from gateway.metrics_scrape import MetricsServer
from gateway.observability import RequestTelemetry
from gateway.operations import Operation, load_operations
from gateway.persisted import DEFAULT_MANIFEST, Manifest, Mode, PersistedQueries
from gateway.runtime import settle_heap
from gateway.security import GraphQLGuard
from gateway.settings import Settings, secret
from gateway.slow_clients import BodyReadTimeout
from gateway.state import FleetState, fleet_state
from gateway.tracing import Tracing
from gateway.upstreams import Upstreams, create_upstreams
from gateway.webhooks.dedupe import InMemoryDedupe
from gateway.webhooks.receivers import Webhooks
from schema.api import build_schema
from schema.context import Caller
from schema.limits import QueryLimits
from schema.live.hub import Live, LiveContext
from schema.live.polling import Budget, Pollers
from schema.loaders import create_loaders

log = logging.getLogger("gateway")
# FastAPI from 0.160 on has telemetry of its own: when a global OpenTelemetry
# provider is set (by `opentelemetry-instrument`, say) it adds an HTTP span,
# request metrics and logs of its own beside the gateway's (``gateway.tracing``,
# ``gateway.metrics``), and it asks for the three global providers on every
# request either way (about 1 % of the CPU of an application by id). The gateway
# has its own, so FastAPI's is off where it exists.
_WITHOUT_FASTAPI_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)
NOBODY = Caller(subject="nobody", roles=frozenset())
TOKEN_EXPIRED = 4403  # graphql-transport-ws: Forbidden


def create_app(
    settings: Settings | None = None,
    *,
    sandboxes: dict[Provider, Controlled] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The gateway. ``sandboxes`` lets tests hand in sandboxes they control, and
    ``tracer_provider`` a tracer provider (otherwise the ``OTEL_*`` variables
    decide, once, here: ``gateway.tracing``)."""
    settings = settings or Settings()
    authenticator = authenticator_for(settings)
    tracing = Tracing.configure(tracer_provider)
    tracer = tracing.tracer
    # Changes to records (schema.live): webhooks and mutations publish, subscriptions
    # listen. In-process: one replica's events reach its own subscribers; with
    # Redis (gateway/state) every replica's, like the rest of the shared state.
    state = fleet_state(settings)
    events = state.bus
    live = Live(
        events,
        max_per_caller=settings.max_subscriptions_per_caller,
        max_queued=settings.subscription_queue,
    )

    # Rate limits, provider quotas, retry budgets: in Redis when configured.
    fleet = FleetLimits.from_settings(settings)
    health = Health(stall=settings.liveness_stall)

    # Metrics (gateway/metrics.py), named by the known operations; off: the
    # operations are still named, for the request log, but nothing is counted.
    operations = load_operations(settings.operations_dir)
    metrics = Metrics(((o.name, o.kind) for o in operations), enabled=settings.metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        upstreams = create_upstreams(
            settings,
            sandboxes,
            connectfi_token=state.connectfi_token,
            document_owners=state.document_owners(),
            fleet=fleet,
            tracer=tracer,
            observer=metrics.observer if settings.metrics else NOBODY_WATCHES,
        )
        app.state.upstreams = upstreams
        health.breakers = upstreams.breakers.values()
        state.start()
        metrics.watch(
            breakers={p.value: b for p, b in upstreams.breakers.items()},
            transports={p.value: t for p, t in upstreams.transports.items()},
            coalescing={p.value: c for p, c in upstreams.coalescing.items()},
            concurrency_limit=settings.max_concurrency_per_provider,
        )
        server: MetricsServer | None = None
        if settings.metrics and settings.metrics_port is not None:
            server = metrics.serve(settings.host, settings.metrics_port)
            app.state.metrics_port = server.port
        live.pollers = app.state.pollers = Pollers(
            upstreams.apiture,
            live.publish,
            interval=settings.poll_interval,
            budget=Budget(settings.poll_budget_per_minute),
            deadline=settings.request_deadline,
        )
        # The embedded sandboxes' webhooks come back to this app, in process.
        webhooks.connect_sandboxes(upstreams.sandboxes, app)
        # Given to connectFi when identification starts (its manual review's webhook).
        upstreams.connectfi.webhook_url = webhooks.connectfi_url()
        settle_heap()
        health.start_watchdog()
        restore_sigterm = drain_on_sigterm(health, settings.shutdown_drain)
        health.started = True
        try:
            yield
        finally:
            if server is not None:
                server.close()
            health.draining = True
            restore_sigterm()
            await health.stop_watchdog()
            await webhooks.disconnect_sandboxes(upstreams.sandboxes)
            await upstreams.aclose()
            await state.aclose()
            await fleet.aclose()
            tracing.shutdown()  # the spans still queued exported first

    async def context(request: Request | WebSocket) -> LiveContext:
        upstreams: Upstreams = request.app.state.upstreams
        caller = getattr(request.state, "caller", None)
        if caller is None:  # the guard did not see this request: trust nothing
            # (a WebSocket's caller comes from its connection_init: connect)
            caller = NOBODY if authenticator.enabled else ANONYMOUS
        expires_at = None
        if authenticator.enabled and "text/event-stream" in (
            request.headers.get("accept") or ""
        ):
            # A stream outlives the token: it ends when the token expires.
            _, expires_at = await authenticator.caller_until(
                request.headers.get("authorization")
            )
        context = LiveContext(
            upstreams=upstreams,
            loaders=create_loaders(upstreams, tracer),
            caller=caller,
            live=live,
            expires_at=expires_at,
        )
        context.idempotency = state.idempotency
        context.request = request
        return context

    async def connect(context: LiveContext) -> None:
        """A WebSocket's caller, from ``Authorization`` in its connection_init
        payload, verified like a request's; the connection closed (4403) when
        the token expires."""
        params = context.connection_params
        authorization = None
        if isinstance(params, dict):
            found = params.get("Authorization", params.get("authorization"))
            authorization = found if isinstance(found, str) else None
        try:
            context.caller, context.expires_at = await authenticator.caller_until(
                authorization
            )
        except Unauthenticated:
            metrics.websocket_auth_failed()
            raise ConnectionRejectionError() from None
        websocket = context.request
        if context.expires_at is not None and isinstance(websocket, WebSocket):
            delay = max(0.0, context.expires_at - time.time())
            websocket.state.expiry = asyncio.get_running_loop().call_later(
                delay, _close_expired, websocket
            )

    schema = build_schema(
        introspection=settings.introspection_enabled,
        limits=QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_root_fields=settings.max_root_fields,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_query_cost,
        ),
        tracer=tracer,
    )
    cors = cors_policy(settings)
    caller_limits = fleet.caller_limits(settings)
    persisted = persisted_queries(settings, state)
    metrics.watch(persisted=persisted, subscriptions=live.open_subscriptions)
    metrics.watch(fleet=state, fleet_limits=fleet, caller_limits=caller_limits)
    metrics.know(persisted.manifest.bodies.values())  # the allowlist's names too
    graphql = GraphQLHTTP(
        schema,
        max_upload_files=settings.max_upload_files,
        context=context,
        persisted=persisted,
        metrics=metrics,
        graphiql_html=graphiql_page(settings, operations),
        connect=connect,
        websocket_origin=lambda origin: _cors_allows(cors, origin),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        caller_limits=caller_limits if caller_limits.enabled else None,
        trace_context=tracer is not None,
    )
    app = FastAPI(
        title="Onboarding gateway",
        lifespan=lifespan,
        docs_url=None,
        **_WITHOUT_FASTAPI_TELEMETRY,
    )
    app.state.settings = settings
    app.state.tracing = tracing
    app.state.metrics = metrics
    app.state.events = events
    app.state.live = live
    app.state.fleet = state
    app.state.health = health
    app.state.fleet_limits = fleet
    app.state.caller_limits = caller_limits
    # Provider webhooks publish there (gateway/webhooks): outside the guard below.
    webhooks = Webhooks.from_settings(settings, events)
    webhooks.dedupe = state.dedupe(
        InMemoryDedupe(settings.webhook_dedupe_size, settings.webhook_dedupe_ttl)
    )
    webhooks.install(app)
    app.state.webhooks = webhooks
    # Added first, so innermost: /graphql skips FastAPI's routing (graphql_http).
    app.add_middleware(GraphQLDispatch, graphql=graphql)
    # Room for the multipart envelope (operations, map) around the file itself.
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes + 64 * 1024)
    # Added last, so outermost: CSRF and authentication before any body is read.
    app.add_middleware(
        GraphQLGuard,
        authenticator=authenticator,
        max_request_bytes=settings.max_request_bytes,
        csrf=settings.csrf_protection,
    )
    # Outside the guard: the body's deadline bounds every read of it (slow_clients).
    app.add_middleware(BodyReadTimeout, timeout=settings.body_read_timeout)
    if cors.enabled:
        # Outside the guard: a preflight OPTIONS is answered here, and refusals
        # carry CORS headers so a page on another origin can read them.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors.origins,
            allow_origin_regex=cors.origin_regex,
            allow_methods=METHODS,
            allow_headers=HEADERS,
            allow_credentials=cors.credentials,
            max_age=MAX_AGE,
        )
    # Outermost: the request id, the request's log line, its metrics.
    app.add_middleware(
        RequestTelemetry,
        finished=metrics.request_finished if settings.metrics else None,
    )
    if settings.graphiql_enabled:
        app.include_router(graphiql.asset_router())
    if settings.metrics and settings.metrics_port is None:
        app.add_route("/metrics", metrics.endpoint, include_in_schema=False)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok",
            "sandboxes": sorted(p.name for p in settings.sandboxed()),
        }

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready, status = health.readiness()
        return JSONResponse({"status": status}, status_code=200 if ready else 503)

    @app.get("/livez")
    async def livez() -> JSONResponse:
        alive, status = health.liveness()
        return JSONResponse({"status": status}, status_code=200 if alive else 503)

    return app


_CLOSING: set[asyncio.Task[None]] = set()


def _close_expired(websocket: WebSocket) -> None:
    async def close() -> None:
        with contextlib.suppress(RuntimeError):  # closed meanwhile
            await websocket.close(TOKEN_EXPIRED, "Forbidden: the token has expired")

    task = asyncio.ensure_future(close())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def _cors_allows(cors: CORSPolicy, origin: str) -> bool:
    """Whether a page on ``origin`` may open a WebSocket: as for CORS."""
    origin = origin.rstrip("/")
    if "*" in cors.origins or origin in cors.origins:
        return True
    return cors.origin_regex is not None and bool(
        re.fullmatch(cors.origin_regex, origin)
    )


def authenticator_for(settings: Settings) -> Authenticator:
    """Refuse to run open in front of a real provider; say so when running open."""
    authenticator = Authenticator(
        secret=secret(settings.auth_jwt_secret),
        jwks_url=settings.auth_jwks_url,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        leeway=settings.auth_clock_skew,
    )
    real = sorted(p.name for p in Provider if p not in settings.sandboxed())
    if not authenticator.enabled:
        if real:
            raise AuthNotConfigured(
                f"{', '.join(real)} configured but no authentication: set "
                "GATEWAY_AUTH_JWT_SECRET or GATEWAY_AUTH_JWKS_URL"
            )
        log.warning(
            "AUTHENTICATION IS OFF: every caller is anonymous staff. Allowed only "
            "because every provider is an embedded sandbox."
        )
    return authenticator


def persisted_queries(
    settings: Settings, state: FleetState | None = None
) -> PersistedQueries:
    path = settings.persisted_manifest
    if path is None and DEFAULT_MANIFEST.is_file():
        path = DEFAULT_MANIFEST
    manifest = Manifest.load(path) if path is not None else None
    return PersistedQueries(
        Mode(settings.persisted_queries),
        manifest,
        settings.persisted_cache_size,
        shared=state.queries if state is not None else None,
    )


def graphiql_page(
    settings: Settings, operations: list[Operation] | None = None
) -> str | None:
    if not settings.graphiql_enabled:
        return None
    if operations is None:
        operations = load_operations(settings.operations_dir)
    return graphiql.page(operations, settings.graphiql_headers)
