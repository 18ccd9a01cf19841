"""Every cache's bound, in bytes, and how its entries are weighed.

Weights are estimates (see :mod:`caching`): measured once with ``tracemalloc``
and a deep ``sys.getsizeof`` on the benchmark operations, then rounded up. Each
bound keeps about as many entries as the count-bounded cache it replaced.
"""

from __future__ import annotations

KiB = 1024
MiB = 1024 * KiB

# engine.context: plans kept across requests, by the AST nodes of a selection.
# A plan (named tuples, closures, the nodes' ids): ~2 KiB. 2,048 plans.
PLAN_BYTES = 2 * KiB
PLANS_MAX_BYTES = 2048 * PLAN_BYTES
# engine.context: whether an operation uses directives, by operation: ~256 B.
STATIC_BYTES = 256
STATIC_MAX_BYTES = 2048 * STATIC_BYTES

# engine.plans: what a plan read from an immutable object. A result dict is
# ~200 B per field (the dict, its keys and completed values), measured 1.6 KiB
# for the 8 fields of a typical object; about 8,192 such results.
RENDERED_ENTRY_BYTES = 128
RENDERED_FIELD_BYTES = 200
RENDERED_MAX_BYTES = 16 * MiB

# engine.presented: one schema object (and its nested objects) per record,
# measured 4.8 KiB on average for an Application, 3.3 KiB for a Document.
PRESENTED_BYTES = 4 * KiB
PRESENTED_MAX_BYTES = 4096 * PRESENTED_BYTES  # per type

# engine.selection: the fields selected below a field, by its nodes: ~512 B.
SELECTED_BYTES = 512
SELECTED_MAX_BYTES = 1024 * SELECTED_BYTES

# engine.documents: a parsed document is 40-56 bytes per character of its query
# text (the benchmark operations); counted 64. A query over 64 K characters is
# parsed every time.
DOCUMENT_CHAR_BYTES = 64
DOCUMENTS_MAX_BYTES = 32 * MiB
DOCUMENT_MAX_ENTRY_BYTES = 4 * MiB

# adapters.transport.memo: records mapped from a provider answer, by its bytes:
# counted 4 bytes per byte of the answer (Python objects are larger than their
# JSON). An answer over 256 KiB is mapped every time. Per client.
ANSWER_BYTE_BYTES = 4
ANSWERS_MAX_BYTES = 16 * MiB
ANSWER_MAX_ENTRY_BYTES = 1 * MiB

# adapters.apiture.client: (ETag, record) per application or enrollment id for
# conditional reads: a record ~4 KiB. 1,024 records per kind.
ETAG_ENTRY_BYTES = 4 * KiB
ETAG_MAX_BYTES = 1024 * ETAG_ENTRY_BYTES

# All of them together, at most (the RSS a full set of caches adds; a run of
# the mix over distinct records, ``python -m benchmarks.served_cost --tool rss``,
# shows the RSS level off past warm-up):
#   plans 4 MiB + operations 0.5 MiB + selections 0.5 MiB + documents 32 MiB
#   + kept plan results 16 MiB + shared objects 16 MiB x 2 types (Application,
#   Document) + mapped answers 16 MiB x 1 client (Mambu's document lists) +
#   ETag cache 4 MiB x 2 kinds (applications, enrollments) = 109 MiB.
# Bounded by a count, not a Cache (each small), with their bytes:
#   schema.ids.encode: 16,384 ids, ~370 B each (the key and the id, measured
#   280 B with tracemalloc for the id and the cache's node, plus the key kept
#   alive) = ~6 MiB;
#   gateway.auth: VERIFIED_MAX = 10,000 verified tokens, ~2 KiB each (the token's
#   text and its Caller; estimated, not measured) = ~20 MiB;
#   adapters.apiture.mapping._summary_fields: 256 frozensets of field names, a
#   few KiB in all;
#   schema.live.hub.Live.remembered: the last state of 10,000 records, ~224 B
#   each (the key string it keeps alive, the tuple, the ordered dict's node;
#   measured with tracemalloc) = ~2.2 MiB. One is added per state change made
#   here: on the bench's mix (5 % approvals, each of a fresh application) it is
#   still filling at 200,000 requests, a slow rise of the RSS that stops there.
