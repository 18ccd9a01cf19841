"""What subscriptions share in one process: the bus, the limits, the pollers.

``Live`` is made once by the app. Each subscription takes a slot for its caller
(``max_per_caller``, beyond it a ``TOO_MANY_SUBSCRIPTIONS`` error; the limit per
connection is the WebSocket transport's own), opens a bounded listener on the
bus, and, when it names one Apiture application, watches it through the pollers.

Mutations publish here (``publish``): the state last seen of each record is
remembered, so a mutation's change carries the state before it where this
process knew it. Remembered in a :class:`caching.Cache` bounded in bytes
(``caching.bounds.LIVE_STATES_MAX_BYTES``: the last ~1,300 records changed here,
the least recently changed forgotten first; a forgotten record's next change
carries no state before it, as one never seen here). The bound is small enough
to be reached early (on the bench's mix within its warm-up), so that the memory
it holds stops growing early too.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphql import GraphQLError

from caching import Cache, bounds, per_entry
from schema.context import Caller, Context
from schema.live.bus import EventBus
from schema.live.events import Change

if TYPE_CHECKING:
    from schema.live.polling import Pollers

TOO_MANY = "TOO_MANY_SUBSCRIPTIONS"


@dataclass
class Live:
    bus: EventBus
    max_per_caller: int = 50
    max_queued: int = 100
    pollers: Pollers | None = None
    remembered_bytes: int = bounds.LIVE_STATES_MAX_BYTES
    _per_caller: Counter[str] = field(default_factory=Counter, repr=False)
    _states: Cache[tuple[str, str, str], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._states = Cache(
            self.remembered_bytes,
            per_entry(bounds.LIVE_STATE_BYTES),
            name="live_states",
        )

    @contextmanager
    def slot(self, caller: Caller) -> Iterator[None]:
        """One subscription of ``caller`` while the block runs, if allowed."""
        if self._per_caller[caller.subject] >= self.max_per_caller:
            raise GraphQLError(
                f"at most {self.max_per_caller} subscriptions per caller",
                extensions={"code": TOO_MANY},
            )
        self._per_caller[caller.subject] += 1
        try:
            yield
        finally:
            self._per_caller[caller.subject] -= 1
            if not self._per_caller[caller.subject]:
                del self._per_caller[caller.subject]

    def subscriptions(self, caller: Caller) -> int:
        return self._per_caller[caller.subject]

    def open_subscriptions(self) -> int:
        """Subscriptions open now, every caller's (for the metrics)."""
        return sum(self._per_caller.values())

    def remember(self, change: Change) -> Change:
        """``change`` with the state remembered before it, remembering its own."""
        record = (change.kind, change.provider.name, change.key)
        previous = self._states.get(record)
        if change.state is not None:
            self._states.put(record, change.state)
        else:  # unknown: as a record never seen here
            self._states.pop(record)
        if change.previous_state is None and previous is not None:
            return dataclasses.replace(change, previous_state=previous)
        return change

    async def publish(self, change: Change) -> None:
        await self.bus.publish(self.remember(change))

    def remembered(self) -> int:
        """Records whose last state is remembered now."""
        return len(self._states)


@dataclass
class LiveContext(Context):
    """A request's context with the live machinery: subscriptions read it, and
    mutations publish through it. ``expires_at``: the caller's token's expiry
    (epoch seconds), when authentication is on."""

    live: Live | None = None
    expires_at: float | None = None
