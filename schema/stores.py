"""The stores the schema keeps state in, as interfaces: who generated each
connectFi document (:class:`DocumentOwnerStore`) and the idempotency keys
(:class:`IdempotencyStore`).

A leaf (it imports nothing of the schema): the request's context names these
stores, and the modules that implement or use them (:mod:`schema.authz`,
:mod:`schema.idempotency`, ``gateway.state``) import the context, so the
interfaces live below both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters import model


class DocumentOwnerStore(Protocol):
    """Who each generated connectFi document belongs to. ``owner_of`` answers
    None for a document it does not know (never raises): not the caller's."""

    async def bind(self, key: str, owner: model.Owner) -> None: ...

    async def owner_of(self, key: str) -> model.Owner | None: ...


@dataclass
class Entry:
    fingerprint: str
    expires: float
    result: asyncio.Future[Any] = field(repr=False)


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str) -> tuple[Entry, bool]:
        """The entry for ``key``; True when this caller created it (and runs).

        Raises ``schema.idempotency.IdempotencyUnavailable`` when that cannot
        be known."""
        ...

    async def keep(self, key: str, entry: Entry) -> None:
        """``entry.result`` is set: keep it for the retention period."""
        ...

    async def forget(self, key: str, entry: Entry | None = None) -> None:
        """Drop ``key`` (the first attempt failed: a retry may run again);
        ``entry.result``, when set, is the failure its waiters get."""
        ...
