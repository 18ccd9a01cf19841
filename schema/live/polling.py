"""Conditional polling of records whose provider sends no webhook.

Apiture (as its seed documents it) has no webhooks but an ETag on every
application: ``If-None-Match`` with the ETag read last costs a 304 and no body
while the record is unchanged (``ApitureClient.application_if_changed``). Mambu
documents carry no validator a poll could use cheaply and change only through
uploads (a gateway mutation, which publishes at once), so they are not polled.

One poller per watched record, however many subscriptions watch it: the first
``watch`` starts it, the last one leaving stops it. Each poller reads once to learn
the ETag (no event), then once per interval; a changed ETag publishes a
``Change`` with cause ``poll``. All pollers of a provider share a budget (reads
per minute, a token bucket): past it a poll is skipped until the next interval,
so many watched records slow polling down instead of flooding the provider.
A record known to the poller that then reads as not found (404: deleted
upstream) publishes one change to the state ``DELETED``, and no further one.

Each poll runs in a context of its own (no request's deadline: a subscription
outlives its request's), with a deadline of ``deadline`` seconds.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from adapters.apiture.client import ApitureClient
from adapters.errors import AdapterError, NotFound
from adapters.model import Provider
from adapters.transport.deadline import deadline_scope
from schema import ids
from schema.live.events import DELETED, Change

log = logging.getLogger("gateway.live")

Publish = Callable[[Change], Awaitable[None]]
Wait = Callable[[], Awaitable[None]]


class Budget:
    """At most ``per_minute`` reads a minute, in a bucket of that size."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class _Poller:
    task: asyncio.Task[None]
    watchers: int = 0


@dataclass
class Pollers:
    apiture: ApitureClient
    publish: Publish
    interval: float = 5.0
    budget: Budget = field(default_factory=lambda: Budget(1200))
    deadline: float = 15.0
    wait: Wait | None = None  # between polls; tests pass their own clock
    polls: int = 0  # reads made
    skipped: int = 0  # polls the budget refused
    _pollers: dict[str, _Poller] = field(default_factory=dict)

    @property
    def watched(self) -> int:
        return len(self._pollers)

    @contextmanager
    def watch(self, gid: ids.GlobalId | None) -> Iterator[None]:
        """Poll the record while the block runs (Apiture applications only)."""
        if (
            gid is None
            or gid.provider is not Provider.APITURE
            or gid.typename != "Application"
        ):
            yield
            return
        poller = self._pollers.get(gid.key)
        if poller is None:
            task = asyncio.create_task(
                self._run(gid.key), context=contextvars.Context()
            )
            poller = self._pollers[gid.key] = _Poller(task)
        poller.watchers += 1
        try:
            yield
        finally:
            poller.watchers -= 1
            if not poller.watchers:
                poller.task.cancel()
                del self._pollers[gid.key]

    async def _run(self, key: str) -> None:
        etag: str | None = None
        state: str | None = None
        while True:
            if self.budget.take():
                self.polls += 1
                try:
                    with deadline_scope(self.deadline):
                        found = await self.apiture.application_if_changed(key, etag)
                except NotFound:
                    found = None
                    if etag is not None and state != DELETED:
                        await self.publish(
                            Change(
                                kind="Application",
                                provider=Provider.APITURE,
                                key=key,
                                state=DELETED,
                                previous_state=state,
                                cause="poll",
                                event_id=f"poll:{key}:deleted",
                            )
                        )
                        state = DELETED
                except AdapterError as exc:
                    log.info("poll of an Apiture application failed: %s", exc.code)
                    found = None
                if found is not None:
                    if etag is not None:
                        await self.publish(
                            Change(
                                kind="Application",
                                provider=Provider.APITURE,
                                key=key,
                                state=found.state.name,
                                previous_state=state,
                                cause="poll",
                                event_id=f"poll:{key}:{found.version}",
                            )
                        )
                    etag, state = found.version, found.state.name
            else:
                self.skipped += 1
            await (self.wait() if self.wait else asyncio.sleep(self.interval))
