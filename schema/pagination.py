"""Relay connections over offset-paged provider collections, merged across providers.

A cursor records how far into each provider's collection the connection has read
(``{"APITURE": 14, "CONNECTFI": 6}``), so it stays valid however the page sizes
change and whichever providers contribute. Each provider's stream comes back in one
order (newest first where the provider knows creation times); the streams are merged
by that key, ties and unknown creation times broken by provider and by position, so
walking a connection to its end yields every item exactly once.

Providers are read concurrently: each round fetches, at once, the next chunk of every
provider whose buffer ran dry. A provider that fails costs only its own items: the
slice reports it in ``failures`` and the others still fill the page. When every
provider failed the page is empty and names them all: a connection is never lost
whole to a provider (``read_or_failed`` says the same of a read that failed before
or after its page, and ``schema.types.connections`` reports them at the field's path).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

import orjson

from adapters import model
from adapters.errors import ProviderFailure, ValidationFailed, Violation

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_CURSOR = 1024  # characters: one offset per provider is under 100

Fetch = Callable[[int, int], Awaitable[model.Page[T]]]


@dataclass(frozen=True)
class Source(Generic[T]):
    """One provider's collection: ``fetch(offset, limit)`` and what to keep."""

    provider: model.Provider
    fetch: Fetch[T]
    chunk: int = DEFAULT_PAGE
    # None: every item (nothing to call per item)
    keep: Callable[[T], bool] | None = None
    exact_total: bool = True  # the provider's count already reflects ``keep``


class Cursor(NamedTuple):
    """A position in a merged connection, written out only when asked for.

    Every edge has one, few queries select them: encoding each (JSON, then
    base64) cost more than reading its node. A named tuple: made for every
    item of a page, at a third of a frozen dataclass's cost.
    """

    providers: tuple[model.Provider, ...]
    offsets: tuple[int, ...]

    def encode(self) -> str:
        return encode_cursor(dict(zip(self.providers, self.offsets, strict=True)))


# ``Cursor(providers, offsets)`` without the named tuple's ``__new__`` (Python
# code: about 3,000 instructions a call, one call per item of every page):
# ``_cursor(Cursor, (providers, offsets))`` makes the very same tuple.
_cursor = tuple.__new__


@dataclass(frozen=True)
class Slice(Generic[T]):
    items: list[tuple[T, Cursor]]  # item and the position just after it
    has_next_page: bool
    total_count: int | None
    start_cursor: str | None = None
    failures: Mapping[model.Provider, ProviderFailure] = field(default_factory=dict)


def encode_cursor(offsets: Mapping[model.Provider, int]) -> str:
    """``{"APITURE": 14, "CONNECTFI": 6}`` (what ``json.dumps`` writes of it,
    written directly: providers' names need no escaping, offsets are ints), in
    URL-safe base64 without padding."""
    ordered = sorted(offsets.items(), key=_name)
    raw = ", ".join(f'"{p.name}": {int(n)}' for p, n in ordered)
    return base64.urlsafe_b64encode(f"{{{raw}}}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[model.Provider, int]:
    """The offsets of a cursor this gateway wrote; anything else, a clear
    ``ValidationFailed`` (never another error: a cursor is the caller's input).
    Offsets are JSON integers, as written (a float, a string or a boolean is
    not one, nor ``Infinity``)."""
    if not cursor:
        return {}
    if len(cursor) > MAX_CURSOR:  # ours are a few dozen characters
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        offsets = {model.Provider[k]: v for k, v in data.items()}
    except (
        binascii.Error,
        ValueError,  # orjson.JSONDecodeError among them
        KeyError,
        AttributeError,
        TypeError,
    ) as exc:
        raise _bad_cursor() from exc
    if any(type(n) is not int or n < 0 for n in offsets.values()):
        raise _bad_cursor()
    return offsets


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 0 <= first <= MAX_PAGE:
        raise ValidationFailed(
            f"first must be between 0 and {MAX_PAGE}",
            [Violation(("first",), f"must be between 0 and {MAX_PAGE}")],
        )
    return first


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "after is not a cursor of this connection",
        [Violation(("after",), "not a cursor of this connection")],
    )


def _name(item: tuple[model.Provider, int]) -> str:
    return item[0].name


@dataclass
class _Stream(Generic[T]):
    source: Source[T]
    rank: int
    offset: int  # position of the next item to read from the provider
    consumed: int  # position just after the last item handed out
    buffer: deque[tuple[int, T]] = field(default_factory=deque)
    exhausted: bool = False
    total: int | None = None
    failure: ProviderFailure | None = None

    async def refill(self) -> None:
        try:
            page = await self.source.fetch(self.offset, self.source.chunk)
        except ProviderFailure as exc:
            # This provider's items are missing from the page; its offset stays
            # in the cursors, so a later page picks it up again.
            self.failure = exc
            self.exhausted = True
            return
        # (position, item) for each, made in one call rather than a loop
        self.buffer.extend(enumerate(page.items, self.offset))
        self.offset += len(page.items)
        self.total = page.total
        self.exhausted = not page.has_more or not page.items


def _order(created_at: datetime | None, rank: int, position: int) -> tuple[object, ...]:
    # Newest first; records without a creation time after all that have one.
    if created_at is None:
        return (1, 0.0, rank, position)
    return (0, -created_at.timestamp(), rank, position)


async def merged_slice(
    sources: Sequence[Source[T]],
    after: str | None,
    first: int,
    created_at: Callable[[T], datetime | None],
) -> Slice[T]:
    offsets = decode_cursor(after)
    streams = [
        _Stream(s, rank, offsets.get(s.provider, 0), offsets.get(s.provider, 0))
        for rank, s in enumerate(sources)
    ]
    providers = tuple(s.source.provider for s in streams)
    out: list[tuple[T, Cursor]] = []
    if len(streams) == 1:  # nothing to merge: the one stream's items in turn
        await _drain(streams[0], first, providers, out)
    while len(out) < first and len(streams) > 1:
        dry = [s for s in streams if not s.buffer and not s.exhausted]
        if dry:
            await asyncio.gather(*(s.refill() for s in dry))
            continue
        live = [s for s in streams if s.buffer]
        if not live:
            break
        stream = (
            live[0]
            if len(live) == 1
            else min(
                live,
                key=lambda s: _order(
                    created_at(s.buffer[0][1]), s.rank, s.buffer[0][0]
                ),
            )
        )
        position, item = stream.buffer.popleft()
        stream.consumed = position + 1
        keep = stream.source.keep
        if keep is None or keep(item):
            out.append(
                (item, _cursor(Cursor, (providers, tuple(s.consumed for s in streams))))
            )
    failed = {s.source.provider: s.failure for s in streams if s.failure}
    has_next = any(s.buffer or not s.exhausted for s in streams if not s.failure)
    totals = [s.total for s in streams]
    total = (
        sum(t for t in totals if t is not None)
        if all(t is not None for t in totals)
        and all(s.source.exact_total for s in streams)
        and not failed
        else None
    )
    start = encode_cursor(offsets) if after else None
    return Slice(
        items=out,
        has_next_page=has_next,
        total_count=total,
        start_cursor=start,
        failures=failed,
    )


async def _drain(
    stream: _Stream[T],
    first: int,
    providers: tuple[model.Provider, ...],
    out: list[tuple[T, Cursor]],
) -> None:
    """``merged_slice`` of a single stream (the same items and cursors), without
    the merge's work per item."""
    buffer, keep = stream.buffer, stream.source.keep
    while len(out) < first:
        if not buffer:
            if stream.exhausted:
                return
            await stream.refill()
            continue
        position, item = buffer.popleft()
        stream.consumed = position + 1
        if keep is None or keep(item):
            out.append((item, _cursor(Cursor, (providers, (position + 1,)))))


def without(
    page: Slice[T],
    failed: Mapping[model.Provider, ProviderFailure],
    provider_of: Callable[[T], model.Provider],
) -> Slice[T]:
    """``page`` less the items of the providers in ``failed`` (their detail read
    failed after the merge). Every remaining cursor holds each failed provider at
    its first dropped item, so asking again from any of them reads those items
    again; the count is unknown and there is more to read."""
    providers = page.items[0][1].providers if page.items else ()
    hold: dict[int, int] = {}
    kept: list[tuple[T, Cursor]] = []
    for item, cursor in page.items:
        if (provider := provider_of(item)) in failed:
            i = providers.index(provider)
            hold.setdefault(i, cursor.offsets[i] - 1)
        else:
            kept.append((item, cursor))
    held = [
        (
            item,
            Cursor(
                c.providers,
                tuple(
                    min(n, hold[i]) if i in hold else n for i, n in enumerate(c.offsets)
                ),
            ),
        )
        for item, c in kept
    ]
    return Slice(
        items=held,
        has_next_page=True,
        total_count=None,
        start_cursor=page.start_cursor,
        failures={**page.failures, **failed},
    )


async def read_or_failed(read: Awaitable[Slice[T]], after: str | None) -> Slice[T]:
    """The page ``read`` answers or, when a provider's failure escaped it (an
    owner or a detail read around the merge), the page that failure leaves: no
    item, the provider named in ``failures``, the position unchanged (asking
    again resumes from ``after``)."""
    try:
        return await read
    except ProviderFailure as exc:
        if exc.provider is None:
            raise  # nobody to name: the field fails as it is (never seen)
        return Slice(
            items=[],
            has_next_page=False,
            total_count=None,
            start_cursor=after or None,
            failures={exc.provider: exc},
        )
