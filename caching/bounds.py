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

# schema.live.hub: the last state of each record changed in this process, by
# (kind, provider, key): measured with tracemalloc 250-285 B per record (the
# key's tuple and its two strings made per request, the cache's nodes and
# weight; 283 B in the gateway under the bench's mix), up to 390 B with the
# tables' room left by evictions; counted 400. 512 KiB: the last ~1,300
# records, a bound the bench's mix reaches within its warm-up (5 % approvals
# of fresh applications: ~2,000 in its first 40,000 requests).
LIVE_STATE_BYTES = 400
LIVE_STATES_MAX_BYTES = 512 * KiB

# gateway.auth: verified tokens, by their text: measured with tracemalloc
# (tokens of 332 characters, 5 claims) ~910 B for the Caller, its tuple and the
# cache's nodes and weight, beside the token's text (49 B + a byte a character)
# and the claims' text the Caller keeps (under 3/4 of the token's length:
# base64); counted 1 KiB + twice the token's length. 20 MiB: ~10,000 tokens of
# ~550 characters (the count-bounded map it replaced kept 10,000).
VERIFIED_ENTRY_BYTES = 1 * KiB
VERIFIED_MAX_BYTES = 20 * MiB

# schema.ids.encode (a functools.lru_cache: bounded by count, see below).
ENCODED_IDS = 8_192

# All of them together, at most (the RSS a full set of caches adds; a run of
# the mix over distinct records, ``python -m benchmarks.served_cost --tool rss``,
# shows the RSS level off past warm-up):
#   plans 4 MiB + operations 0.5 MiB + selections 0.5 MiB + documents 32 MiB
#   + kept plan results 16 MiB + shared objects 16 MiB x 2 types (Application,
#   Document) + mapped answers 16 MiB x 1 client (Mambu's document lists) +
#   ETag cache 4 MiB x 2 kinds (applications, enrollments) + verified tokens
#   20 MiB + the live hub's states 0.5 MiB = 129.5 MiB.
# Bounded by a count, not a Cache (each small), with their bytes:
#   schema.ids.encode: ENCODED_IDS = 8,192 ids, ~365 B each (the id, the key
#   it keeps alive and the cache's node: measured with tracemalloc, uuid keys)
#   = ~2.9 MiB. It was 16,384 (~5.7 MiB): more than the bench's ~10,000
#   Apiture applications, one more per approval, so still filling after its
#   warm-up (+205 KiB in 32,000 requests, traced); 8,192 is fewer than the
#   applications its pages cover early. A miss costs ~0.2 us more than a hit.
#   gateway.auth: a Cache now (VERIFIED_MAX_BYTES above, 20 MiB);
#   adapters.apiture.mapping._summary_fields: 256 frozensets of field names, a
#   few KiB in all;
#   schema.live.hub: a Cache now (LIVE_STATES_MAX_BYTES above, 512 KiB). It
#   kept 10,000 records by count (~2.8 MiB, measured 283 B each in the
#   gateway): on the bench's mix (5 % approvals, each of a fresh application)
#   still filling at 200,000 requests (+457 KiB in 32,000 after the warm-up).
# The bench's RSS past its warm-up, before and after these three: +6.5 MiB and
# rising, +1.9 MiB and flat from 160,000 requests (benchmarks/README.md).
