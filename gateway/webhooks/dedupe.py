"""Which deliveries were already turned into events: a small interface, bounded.

``claim(key)`` is True exactly once per key within ``ttl`` seconds (the first
delivery, which must then publish), False for a duplicate or a retry;
``release(key)`` forgets a claim whose publication failed, so the provider's retry
is handled as a first delivery. A store shared by replicas implements the same two
methods (Redis: ``SET key 1 NX EX ttl`` and ``DEL``).

:class:`InMemoryDedupe` keeps at most ``max_entries`` keys (the oldest go first)
for ``ttl`` seconds; :class:`LastSeen` the last state of at most ``max_entries``
records, for a change's ``previous_state``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class DedupeStore(Protocol):
    async def claim(self, key: str) -> bool: ...

    async def release(self, key: str) -> None: ...


class InMemoryDedupe:
    def __init__(
        self,
        max_entries: int = 10_000,
        ttl: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._expiry)

    async def claim(self, key: str) -> bool:
        now = self._clock()
        # One ttl for every key: insertion order is expiry order.
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[oldest]
        if key in self._expiry:
            return False
        self._expiry[key] = now + self.ttl
        while len(self._expiry) > self.max_entries:
            self._expiry.popitem(last=False)
        return True

    async def release(self, key: str) -> None:
        self._expiry.pop(key, None)


class LastSeen:
    """The last normalized state each record was seen in, for at most N records."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._states: OrderedDict[str, str | None] = OrderedDict()

    def swap(self, key: str, state: str | None) -> str | None:
        """Record ``state`` for ``key``; the one seen before (None if unknown)."""
        previous = self._states.pop(key, None)
        self._states[key] = state
        while len(self._states) > self.max_entries:
            self._states.popitem(last=False)
        return previous
