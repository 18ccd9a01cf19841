"""Presented: what an immutable domain record became in the schema, shared by
every request that gets the very same record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from caching import Cache, bounds, per_entry

Rec = TypeVar("Rec")
Made = TypeVar("Made")


class Presented(Generic[Rec, Made]):
    """What an immutable domain record became in the schema, for when the very
    same record comes again.

    The adapters hand out the same record object for an answer that has not
    changed (an item answered 304 from the ETag cache, a list page whose bytes
    are those of last time), and building a schema object from it is the same
    work each time. The schema objects are never modified once built, so the
    one made for a record serves every later request that gets that record.
    Keyed by identity (a record equal but not identical is built anew); the
    entry holds the record, so no id is reused while it is kept. Bounded in
    bytes (``caching.bounds``): the least recently used entries go first.
    """

    def __init__(self, max_bytes: int = bounds.PRESENTED_MAX_BYTES) -> None:
        self._items: Cache[int, tuple[Rec, Made]] = Cache(
            max_bytes, per_entry(bounds.PRESENTED_BYTES), name="presented"
        )

    def get(self, record: Rec) -> Made | None:
        found = self._items.get(id(record))
        if found is not None and found[0] is record:
            return found[1]
        return None

    def made(self, record: Rec, make: Callable[[Rec], Made]) -> Made:
        """What was made for ``record``, made now (by ``make``) if nothing was."""
        found = self.get(record)
        return found if found is not None else self.put(record, make(record))

    def put(self, record: Rec, made: Made) -> Made:
        self._items.put(id(record), (record, made))
        return made
