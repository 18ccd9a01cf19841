"""Who generated each connectFi document, shared by every replica:
``RedisDocumentOwners`` (schema/authz.py: an applicant may upload only into a
document generated for their own connectFi customer).

Each binding under ``gw:doc-owner:<hash of the document key>`` for ``ttl``
seconds (a document is generated to be uploaded into soon after), and also in
this replica's own bounded :class:`DocumentOwners`.

Failure policy: **this replica's own bindings**. When Redis cannot be reached a
binding is kept here only and a lookup answers what this replica knows
(``outage.count`` counts them): a document generated on another replica then
reads as not found to the applicant, who can retry later. Authorization never
opens: an unknown document is never the caller's.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from adapters import model
from gateway.state.redis import FAILURES, Outage, key, text
from schema.authz import DocumentOwners

NAMESPACE = "doc-owner"


class RedisDocumentOwners:
    def __init__(
        self, redis: Redis, local: DocumentOwners, *, ttl: float = 7 * 24 * 3600.0
    ) -> None:
        self.redis = redis
        self.local = local
        self.ttl = ttl
        self.outage = Outage("document owners", "each replica knows its own")

    async def bind(self, key_: str, owner: model.Owner) -> None:
        await self.local.bind(key_, owner)
        value = json.dumps({"kind": owner.kind.name, "id": owner.id})
        try:
            await self.redis.set(key(NAMESPACE, key_), value, px=int(self.ttl * 1000))
        except FAILURES as exc:
            self.outage.failed(exc)
            return
        self.outage.ok()

    async def owner_of(self, key_: str) -> model.Owner | None:
        try:
            found = text(await self.redis.get(key(NAMESPACE, key_)))
        except FAILURES as exc:
            self.outage.failed(exc)
            return await self.local.owner_of(key_)
        self.outage.ok()
        if found is None:
            return None
        try:
            value = json.loads(found)
            return model.Owner(model.OwnerKind[value["kind"]], str(value["id"]))
        except (ValueError, KeyError, TypeError):
            return None
