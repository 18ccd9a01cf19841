"""A batch read's keys fetched at once, each key's error its own.

Every client's batch method (``get_applications``, ``documents_for_owners``, …)
answers each key with its record or the :class:`~adapters.errors.AdapterError`
that befell just that key. :func:`each` is that shape, with the event loop's
cost of concurrency paid only where there is concurrency:

- **One key** (one application's detail, one customer's documents: most
  batches) is fetched in the caller's own task. ``asyncio.gather`` would wrap
  it in a task, whose first step runs one loop iteration later, and hand its
  answer back one iteration later again. At one connection an iteration is
  microseconds; under load every iteration also carries the other requests'
  ready work, a few milliseconds each.
- **Several keys**: a task each, all made at once. Their first steps run one
  after another in the next loop iteration, each building its request and
  writing it before the next is built, so the first read leaves first. Not one
  task per loop iteration: a page of 20 with people spread over 20 iterations
  under load took about as many iterations' worth of other requests' work
  (~100 ms at 32 connections) to send its reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from adapters.errors import AdapterError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def each(
    keys: Sequence[K], fetch: Callable[[K], Awaitable[V]]
) -> dict[K, V | AdapterError]:
    """``fetch`` every distinct key of ``keys`` concurrently; an AdapterError
    answers just its key; any other exception propagates, as from
    ``asyncio.gather``. Cancelled, it cancels every fetch still running."""
    unique = list(dict.fromkeys(keys))

    async def one(key: K) -> V | AdapterError:
        try:
            return await fetch(key)
        except AdapterError as exc:
            return exc

    if len(unique) == 1:
        key = unique[0]
        return {key: await one(key)}
    values = await asyncio.gather(*(one(key) for key in unique))
    return dict(zip(unique, values, strict=True))
