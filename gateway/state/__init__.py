"""The fleet's shared state: one store per concern, in process or in Redis.

``fleet_state(settings)`` picks the implementations: with ``GATEWAY_REDIS_URL``
unset, today's in-process stores (one replica, ``make run`` needs nothing);
set, the Redis ones, side by side with them:

============================  =============================  ======================
concern                       Redis store                    when Redis fails
============================  =============================  ======================
idempotency keys              ``RedisIdempotencyStore``      closed: keyed mutations
                                                             answer ``Unavailable``
APQ registrations             ``RedisQueries``               open: local registry
connectFi token               ``RedisToken``                 open: own login
webhook de-duplication        ``RedisDedupe``                open: local store
subscription events           ``RedisBus``                   open: local delivery
connectFi document owners     ``RedisDocumentOwners``        local bindings only
                                                             (unknown: not found)
============================  =============================  ======================

Each Redis store counts what failed in ``outage.count`` (``counters()`` lists
them); the idempotency store also counts ``unsaved`` results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from adapters.connectfi.session import SharedToken
from adapters.model import Provider
from gateway.persisted import SharedQueries
from gateway.settings import Settings, secret
from gateway.state.bus import RedisBus
from gateway.state.connectfi import RedisToken
from gateway.state.dedupe import RedisDedupe
from gateway.state.idempotency import RedisIdempotencyStore
from gateway.state.owners import RedisDocumentOwners
from gateway.state.persisted import RedisQueries
from gateway.state.redis import Outage, connect
from gateway.webhooks.dedupe import DedupeStore, InMemoryDedupe
from schema.authz import DocumentOwners, DocumentOwnerStore
from schema.idempotency import IdempotencyStore
from schema.live.bus import EventBus, InProcessBus


@dataclass
class FleetState:
    bus: EventBus
    redis: Redis | None = None
    idempotency: IdempotencyStore | None = None  # None: the schema's own
    queries: SharedQueries | None = None
    connectfi_token: SharedToken | None = None
    _outages: dict[str, Outage] = field(default_factory=dict, repr=False)

    def dedupe(self, local: InMemoryDedupe) -> DedupeStore:
        if self.redis is None:
            return local
        store = RedisDedupe(self.redis, local)
        self._outages["webhook_dedupe"] = store.outage
        return store

    def document_owners(self) -> DocumentOwnerStore:
        local = DocumentOwners()
        if self.redis is None:
            return local
        store = RedisDocumentOwners(self.redis, local)
        self._outages["document_owners"] = store.outage
        return store

    def start(self) -> None:
        """Subscribe to the fleet's events (in the app's event loop)."""
        if isinstance(self.bus, RedisBus):
            self.bus.start()

    async def aclose(self) -> None:
        if isinstance(self.bus, RedisBus):
            await self.bus.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    def counters(self) -> dict[str, int]:
        """Operations each store could not do in Redis (its failure policy ran)."""
        counts = {name: o.count for name, o in self._outages.items()}
        if isinstance(self.idempotency, RedisIdempotencyStore):
            counts["idempotency_unsaved"] = self.idempotency.unsaved
        return counts

    def down(self) -> dict[str, bool]:
        """Whether each store's last Redis operation failed (its outage)."""
        return {name: o.down for name, o in self._outages.items()}


def fleet_state(settings: Settings) -> FleetState:
    url = secret(settings.redis_url)
    if not url:
        return FleetState(bus=InProcessBus())
    redis = connect(url, timeout=settings.redis_timeout)
    idempotency = RedisIdempotencyStore(redis, claim_ttl=settings.idempotency_claim_ttl)
    queries = RedisQueries(redis)
    bus = RedisBus(redis)
    outages = {
        "idempotency": idempotency.outage,
        "persisted_queries": queries.outage,
        "event_bus": bus.outage,
    }
    token = None
    connectfi_url = settings.provider_url(Provider.CONNECTFI)
    # An embedded sandbox is one per replica: its tokens are its own.
    if connectfi_url is not None:
        token = RedisToken(
            redis,
            url=connectfi_url,
            login=settings.connectfi_login or "",
            password=secret(settings.connectfi_password) or "",
        )
        outages["connectfi_token"] = token.outage
    return FleetState(
        bus=bus,
        redis=redis,
        idempotency=idempotency,
        queries=queries,
        connectfi_token=token,
        _outages=outages,
    )
