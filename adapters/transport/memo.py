"""Answers as mapped, kept by the exact bytes they came as.

A provider answer that has not changed since it was last read (the same list
page, polled by every open screen; a client's documents) comes back with the
same bytes, and mapping it again would make the same immutable records. The
provider is still asked every time: only the parsing and mapping are saved.
Anything else in the bytes (one field of one item) is another key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class MappedAnswers:
    """What answers were mapped to, by (what was asked, the answer's bytes).

    Bounded by entries (the least recently used goes first) and by the size of
    the answers kept: a larger answer is mapped every time.
    """

    def __init__(self, size: int = 32, max_body: int = 256 * 1024) -> None:
        self.size = size
        self.max_body = max_body
        self._items: OrderedDict[tuple[Hashable, bytes], Any] = OrderedDict()

    def get(self, asked: Hashable, body: bytes) -> Any:
        key = (asked, body)
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, asked: Hashable, body: bytes, mapped: object) -> None:
        if len(body) > self.max_body or self.size <= 0:
            return
        self._items[(asked, body)] = mapped
        while len(self._items) > self.size:
            self._items.popitem(last=False)
