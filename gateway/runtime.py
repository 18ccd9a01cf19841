"""Process-wide tuning of the garbage collector, measured on the benchmark.

A request allocates thousands of short-lived containers; CPython's cyclic
collector runs every 700 net allocations and, every hundred of those, walks the
whole heap, which at start-up already holds ~100,000 long-lived objects (the
schema, graphql-core's type system, the sandboxes' data, imported modules). None
of those ever become garbage, yet each full collection walked them all: 100+ ms
pauses, about a third of a one-record query's CPU under load.

- ``gc.freeze()`` once the application has started moves everything alive then
  into the permanent generation, which collections skip.
- Collections are rare (``GC_THRESHOLDS``): requests create few reference
  cycles (reference counting frees the rest at once; about 2 cyclic objects
  per request of a page of 20 with people), so collections find next to
  nothing. The young generation is collected after 50,000 net allocations
  instead of CPython's 700: counted in net allocations, a request's objects
  freed by reference counting as it ends do not count, so under steady load a
  collection comes every few hundred requests rather than twice per request.
  At 700 each collection found the in-flight requests' objects alive and
  promoted them, and the older generations' collections walked them again.
  Under ``make bench`` load (the mix, b and c, 15 s each) the collector ran
  for 4.6 s at 700 and 0.5 s at 50,000 (timed with ``gc.callbacks``). CPU
  per request, the two side by side in one run,
  700 → 50,000: the mix 2.46 → 2.15 ms, a page of 50 1.97 → 1.69, a page of 20
  with people 8.90 → 7.44. Garbage in cycles waits at most 50,000 allocations
  (a few MB); a young collection takes about 1 ms.

That holds only while a request leaves no cycle behind. graphql-core's executor
is one (it holds methods bound to itself), and with it everything the request
built; under load those survived into the oldest generation, whose rare
collection then took 560 ms. ``engine.context`` breaks that cycle when an
operation ends, and a test counts the cyclic garbage of an execution.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)
_settled = False


def settle_heap() -> None:
    """Collect once, then keep what is alive now out of every later collection.

    Once per process: the first application started is the one being served (a
    test process starts many; each would pay for a full collection).
    """
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
