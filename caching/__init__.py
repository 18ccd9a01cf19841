"""One cache type for the whole gateway: least recently used out, bounded in bytes.

Every cache of the gateway (the engine's plans and kept results, the schema
objects shared per record, parsed documents, mapped provider answers, the
Apiture ETag cache) is a :class:`Cache`, and every bound is a number of bytes in
:mod:`caching.bounds`. The bytes are an estimate, not a measurement: each cache
weighs an entry when it is put (``weigh``), from what is cheap to know then (the
length of a query text or of an answer's bytes, the number of fields of a
result) times a factor measured once with ``tracemalloc`` for a typical entry,
or a fixed size per entry where entries are alike (plans, shared objects). An
entry heavier than ``max_entry_bytes`` is not kept at all.

It sits in its own package, below both ``engine`` and ``adapters``, so that
either may use it without importing the other: it imports only the standard
library.

A hit costs a dict lookup and a ``move_to_end`` (both in C); weights live in a
second dict that only ``put`` and eviction touch.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def per_entry(size: int) -> Callable[[object, object], int]:
    """A weight of ``size`` bytes for every entry."""

    def weigh(key: object, value: object) -> int:
        return size

    return weigh


# Every cache alive, for the metrics (hits and misses by ``name``).
CACHES: weakref.WeakSet[Cache[Any, Any]] = weakref.WeakSet()


class Cache(Generic[K, V]):
    """A mapping bounded in bytes, least recently used entries evicted first.

    ``get`` answers None for a missing key: keep no None values.
    """

    def __init__(
        self,
        max_bytes: int,
        weigh: Callable[[K, V], int],
        *,
        max_entry_bytes: int | None = None,
        name: str = "other",
    ) -> None:
        self.name = name  # the metrics' ``cache`` label (gateway/metrics.py)
        self.hits = 0
        self.misses = 0
        CACHES.add(self)
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_bytes if max_entry_bytes is None else max_entry_bytes
        self.weigh = weigh
        self.bytes = 0
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._weights: dict[K, int] = {}

    def get(self, key: K) -> V | None:
        entries = self._entries
        found = entries.get(key)
        if found is not None:
            entries.move_to_end(key)
            self.hits += 1
        else:
            self.misses += 1
        return found

    def peek(self, key: K) -> V | None:
        """What ``get`` answers, neither counted nor made the most recent."""
        return self._entries.get(key)

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` (unless it alone is too heavy); answer it."""
        weight = self.weigh(key, value)
        self.pop(key)
        if weight > self.max_entry_bytes or weight > self.max_bytes:
            return value
        self._entries[key] = value
        self._weights[key] = weight
        self.bytes += weight
        while self.bytes > self.max_bytes:
            oldest, _ = self._entries.popitem(last=False)
            self.bytes -= self._weights.pop(oldest)
        return value

    def pop(self, key: K) -> V | None:
        found = self._entries.pop(key, None)
        if found is not None:
            self.bytes -= self._weights.pop(key)
        return found

    def clear(self) -> None:
        self._entries.clear()
        self._weights.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
