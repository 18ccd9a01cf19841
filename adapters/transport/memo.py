"""Answers as mapped, kept by the exact bytes they came as.

A provider answer that has not changed since it was last read (the same list
page, polled by every open screen; a client's documents) comes back with the
same bytes, and mapping it again would make the same immutable records. The
provider is still asked every time: only the parsing and mapping are saved.
Anything else in the bytes (one field of one item) is another key.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from caching import Cache, bounds


def _weigh(key: tuple[Hashable, bytes], mapped: object) -> int:
    return len(key[1]) * bounds.ANSWER_BYTE_BYTES


class MappedAnswers:
    """What answers were mapped to, by (what was asked, the answer's bytes).

    One :class:`caching.Cache`: least recently used out, bounded in bytes (an
    answer weighs ``ANSWER_BYTE_BYTES`` per byte); an answer heavier than
    ``max_entry_bytes`` is mapped every time.
    """

    def __init__(
        self,
        max_bytes: int = bounds.ANSWERS_MAX_BYTES,
        max_entry_bytes: int = bounds.ANSWER_MAX_ENTRY_BYTES,
    ) -> None:
        self._items: Cache[tuple[Hashable, bytes], Any] = Cache(
            max_bytes, _weigh, max_entry_bytes=max_entry_bytes, name="mapped_answers"
        )

    def get(self, asked: Hashable, body: bytes) -> Any:
        return self._items.get((asked, body))

    def put(self, asked: Hashable, body: bytes, mapped: object) -> None:
        self._items.put((asked, body), mapped)
