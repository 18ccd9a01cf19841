"""The subscription event bus shared by every replica: ``RedisBus`` (pub/sub).

``publish`` sends a change (JSON: names, states, cause, event id; never a record
or personal data) on one Redis channel; each replica subscribes once and hands
every change it receives to its own listeners (an ``InProcessBus``), so a webhook
received by replica A reaches a subscriber on replica B. Authorization stays per
delivery on the subscriber's replica: the subscription reads the record through
its own request's loaders and policy, as in one process.

Failure policy: **open, local**. When Redis cannot be reached a change is
delivered to this replica's listeners only (``outage.count`` counts those), and
the subscriber reconnects (backing off to 2 s). Pub/sub delivers to whoever is
subscribed at that moment: a change published during an outage does not reach
the other replicas; their subscriptions still poll (schema/live/polling.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from adapters.model import Provider
from gateway.state.redis import FAILURES, PREFIX, Outage
from schema.live.bus import InProcessBus, Listener
from schema.live.events import Change

log = logging.getLogger("gateway.state")

CHANNEL = f"{PREFIX}:live:changes"


def encode(change: Change) -> str:
    return json.dumps(
        {
            "kind": change.kind,
            "provider": change.provider.name,
            "key": change.key,
            "state": change.state,
            "previous_state": change.previous_state,
            "cause": change.cause,
            "event_id": change.event_id,
            "at": change.at.isoformat(),
        }
    )


def decode(raw: str | bytes) -> Change:
    found: dict[str, Any] = json.loads(raw)
    if found["kind"] not in ("Application", "Enrollment", "Document"):
        raise ValueError("unknown record kind")
    return Change(
        kind=found["kind"],
        provider=Provider[found["provider"]],
        key=str(found["key"]),
        state=None if found["state"] is None else str(found["state"]),
        previous_state=None
        if found["previous_state"] is None
        else str(found["previous_state"]),
        cause=str(found["cause"]),
        event_id=str(found["event_id"]),
        at=datetime.fromisoformat(found["at"]),
    )


class RedisBus:
    def __init__(self, redis: Redis, channel: str = CHANNEL) -> None:
        self.redis = redis
        self.channel = channel
        self.local = InProcessBus()
        self.outage = Outage("the event bus", "events reach this replica only")
        self.received = 0
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, change: Change) -> None:
        try:
            await self.redis.publish(self.channel, encode(change))
        except FAILURES as exc:
            self.outage.failed(exc)
            await self.local.publish(change)
            return
        if not self.subscribed.is_set():  # our own subscriber is reconnecting
            await self.local.publish(change)

    def listen(self, max_queued: int = 100) -> Listener:
        return self.local.listen(max_queued)

    @property
    def listeners(self) -> int:
        return self.local.listeners

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._subscribe(), name="redis-bus")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _subscribe(self) -> None:
        delay = 0.05
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.subscribed.set()
                self.outage.ok()
                delay = 0.05
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        change = decode(message["data"])
                    except (ValueError, KeyError, TypeError):
                        log.warning("event bus: a message that is not a change")
                        continue
                    self.received += 1
                    await self.local.publish(change)
            except FAILURES as exc:
                self.subscribed.clear()
                self.outage.failed(exc)
            finally:
                self.subscribed.clear()
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
