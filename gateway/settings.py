"""The gateway's one settings class: environment variables prefixed ``GATEWAY_``.

Tests build ``Settings(...)`` directly; nothing patches ``os.environ``. A provider whose
URL is unset is served by its sandbox, in process; a configured provider never falls
back to its sandbox. Credentials are ``SecretStr`` so no repr or log line shows them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from adapters.model import Provider
from gateway.operations import DEFAULT_DIR as DEFAULT_OPERATIONS_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production"] = "development"

    apiture_url: str | None = None
    apiture_api_key: SecretStr | None = None
    apiture_access_token: SecretStr | None = None

    connectfi_url: str | None = None
    connectfi_login: str | None = None
    connectfi_password: SecretStr | None = None

    auco_url: str | None = None
    auco_private_key: SecretStr | None = None
    auco_public_key: SecretStr | None = None

    mambu_url: str | None = None
    mambu_username: str | None = None
    mambu_password: SecretStr | None = None

    # Upstream HTTP: one pooled client per provider, created at start-up.
    connect_timeout: float = Field(default=3.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=100, ge=1)
    # Calls in flight to one provider at once, all requests together (each
    # client's semaphore). As large as the pool: at 16, a page of 20 details
    # under load queued behind it (20 ms sandboxes, 32 connections: 23 -> 55 rps).
    max_concurrency_per_provider: int = Field(default=100, ge=1)

    # Failure semantics (adapters/transport/resilience.py), per provider: every GraphQL
    # request's upstream calls end by its deadline; safe reads are retried within a
    # budget; a breaker opens after consecutive failures and probes after a cool-down.
    request_deadline: float = Field(default=15.0, gt=0)
    attempt_timeout: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=3, ge=1)
    retry_backoff: float = Field(default=0.05, ge=0)
    retry_backoff_max: float = Field(default=1.0, ge=0)
    retry_budget_ratio: float = Field(default=0.1, ge=0)
    retry_budget_min: int = Field(default=10, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown: float = Field(default=10.0, gt=0)
    # Identical safe reads in flight at once, across requests, share one upstream
    # call (adapters/transport/singleflight.py).
    coalesce_reads: bool = True

    # Embedded sandboxes: added latency per call (for demos and benchmarks).
    sandbox_latency: float = Field(default=0.0, ge=0)

    # Uploads: the gateway's own ceiling, checked while the request streams in.
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    # Upstream answers: read no further than this, as sent and decoded.
    max_upstream_bytes: int = Field(default=24 * 1024 * 1024, ge=1)

    # GraphiQL and introspection: on in development, off in production unless
    # enabled here.
    graphiql: bool | None = None
    introspection: bool | None = None
    # Headers every GraphiQL tab starts with (JSON object in the environment).
    graphiql_headers: dict[str, str] = Field(default_factory=dict)
    # The front end's example operations: GraphiQL's examples and the manifest.
    operations_dir: Path = DEFAULT_OPERATIONS_DIR

    # Persisted queries (gateway/persisted.py): off, apq (automatic persisted
    # queries), allowlist (only the manifest's operations run) or report (run
    # everything, log what the allowlist would refuse).
    persisted_queries: Literal["off", "apq", "allowlist", "report"] = "apq"
    # Apollo persisted-query manifest; None: operations/persisted-queries.json.
    persisted_manifest: Path | None = None
    persisted_cache_size: int = Field(default=1000, ge=1)

    # Authentication (gateway/auth.py): a shared HS256 secret or a JWKS URL.
    # Required as soon as any provider is real.
    auth_jwt_secret: SecretStr | None = None
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_clock_skew: float = Field(default=30.0, ge=0)

    # Request limits (schema/limits.py, gateway/security.py), checked before any
    # upstream call.
    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=10, ge=1)
    max_tokens: int = Field(default=3000, ge=1)
    max_query_cost: int = Field(default=50_000, ge=1)
    max_request_bytes: int = Field(default=256 * 1024, ge=1)
    max_upload_files: int = Field(default=5, ge=1)
    # CSRF: multipart and GET operations need a preflight header.
    csrf_protection: bool = True
    # CORS (gateway/cors.py): the browser origins that may call the gateway, a
    # JSON list or comma-separated. Unset: localhost on any port in development,
    # no origin in production.
    cors_origins: Annotated[list[str] | None, NoDecode] = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip() for o in text.split(",") if o.strip()]
        return value

    # Slow clients (gateway/slow_clients.py), seconds: a request's headers from
    # the connection (or its first byte), its whole body from its start. 0: off.
    header_read_timeout: float = Field(default=10.0, ge=0)
    body_read_timeout: float = Field(default=60.0, ge=0)

    # Subscriptions (schema/live): limits, each subscriber's queue, polling.
    max_subscriptions_per_connection: int = Field(default=20, ge=1)
    max_subscriptions_per_caller: int = Field(default=50, ge=1)
    subscription_queue: int = Field(default=100, ge=1)
    poll_interval: float = Field(default=5.0, gt=0)
    poll_budget_per_minute: int = Field(default=1200, ge=1)
    # Provider webhooks (gateway/webhooks/): Auco's static header (name, secret
    # value), connectFi's path token. Unset with the provider sandboxed: a random
    # one per start, given to the embedded sandbox; unset with a real provider:
    # that receiver is off (404).
    public_url: str | None = None  # how providers reach the gateway
    auco_webhook_header: str = "X-Auco-Webhook-Secret"
    auco_webhook_secret: SecretStr | None = None
    connectfi_webhook_token: SecretStr | None = None
    webhook_max_bytes: int = Field(default=64 * 1024, ge=1)
    # Deliveries remembered for de-duplication: how many, how long (seconds).
    webhook_dedupe_size: int = Field(default=10_000, ge=1)
    webhook_dedupe_ttl: float = Field(default=24 * 3600.0, gt=0)
    # Embedded sandboxes' webhook retry delays (Auco: 2, 4, 6 minutes) times this.
    sandbox_webhook_time_factor: float = Field(default=1.0, ge=0)

    # Fleet (several replicas): every piece of shared state lives in this Redis
    # when set (redis://host:port/db); unset, in-process stores (one replica).
    redis_url: SecretStr | None = None
    # -- fleet stores (issue 20: idempotency, APQ, token, bus): settings below --
    # Each Redis command's connect and read timeout (seconds): a Redis that does
    # not answer is a failed one (each store's failure policy: gateway/state).
    redis_timeout: float = Field(default=1.0, gt=0)
    # How long an idempotency key's claim lives without its result (seconds):
    # longer than a request may run; a replica that died lets go after it.
    idempotency_claim_ttl: float = Field(default=30.0, gt=0)

    # -- fleet limits (issue 20: rate limits, retry budget, readiness): below --
    # Per caller (token subject; client address when anonymous), fleet-wide with
    # Redis (gateway/fleet_limits.py): requests per second and a burst; estimated
    # query cost (schema/limits.py) per second and a burst (0: the max query
    # cost). 0 turns a limit off. Refused: 429, Retry-After, RATE_LIMITED.
    rate_limit_requests: float = Field(default=0.0, ge=0)
    rate_limit_burst: float = Field(default=0.0, ge=0)
    rate_limit_cost: float = Field(default=0.0, ge=0)
    rate_limit_cost_burst: float = Field(default=0.0, ge=0)
    # Calls per second to each provider, every replica together (none of the
    # four publishes a quota: 0, off); a call waits up to the max wait for its
    # turn, else fails as the provider's own 429 would.
    apiture_rate_limit: float = Field(default=0.0, ge=0)
    connectfi_rate_limit: float = Field(default=0.0, ge=0)
    auco_rate_limit: float = Field(default=0.0, ge=0)
    mambu_rate_limit: float = Field(default=0.0, ge=0)
    provider_rate_burst: float = Field(default=0.0, ge=0)  # 0: one second's calls
    provider_rate_max_wait: float = Field(default=2.0, ge=0)
    # Readiness and shutdown (gateway/health.py): seconds /readyz answers 503
    # after SIGTERM before the server stops accepting (the load balancer's time
    # to notice); seconds in-flight requests then have to finish; seconds
    # without a watchdog tick after which /livez fails.
    shutdown_drain: float = Field(default=0.0, ge=0)
    shutdown_grace: float = Field(default=30.0, gt=0)
    liveness_stall: float = Field(default=10.0, gt=0)

    # -- metrics and logs (issue 21): settings below --
    # Prometheus metrics (gateway/metrics.py) at /metrics, or on a port of their
    # own when metrics_port is set (0: a free one); off: no /metrics, no counting.
    metrics: bool = True
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # Log lines (gateway/observability.py): json or text; unset: json in
    # production, text otherwise.
    log_format: Literal["json", "text"] | None = None

    # -- tracing (issue 21; OTEL_* variables configure the exporter): below --

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.environment == "development"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment == "development"

    @property
    def auth_configured(self) -> bool:
        return self.auth_jwt_secret is not None or bool(self.auth_jwks_url)

    def provider_url(self, provider: Provider) -> str | None:
        url: str | None = getattr(self, f"{provider.value}_url")
        return url.rstrip("/") if url else None

    def sandboxed(self) -> frozenset[Provider]:
        """The providers served by their embedded sandbox."""
        return frozenset(p for p in Provider if self.provider_url(p) is None)


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
