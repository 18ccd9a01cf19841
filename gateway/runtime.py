"""Process-wide tuning of the garbage collector, measured on the benchmark.

A request allocates thousands of short-lived containers; CPython's cyclic
collector runs every 700 net allocations and, every hundred of those, walks the
whole heap, which at start-up already holds ~100,000 long-lived objects (the
schema, graphql-core's type system, the sandboxes' data, imported modules). None
of those ever become garbage, yet each full collection walked them all: 100+ ms
pauses, about a third of a one-record query's CPU under load.

- ``gc.freeze()`` once the application has started moves everything alive then
  into the permanent generation, which collections skip.
- Older generations are collected less often (``GC_THRESHOLDS``): requests
  create few reference cycles (reference counting frees the rest at once), so
  later collections find little and the young generation stays as it is.

That holds only while a request leaves no cycle behind. graphql-core's executor
is one (it holds methods bound to itself), and with it everything the request
built; under load those survived into the oldest generation, whose rare
collection then took 560 ms. ``engine.context`` breaks that cycle when an
operation ends, and a test counts the cyclic garbage of an execution.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (700, 20, 100)
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
