"""Every GraphQL operation gets a deadline that its upstream calls respect.

The deadline lives in a context variable
(:func:`adapters.transport.deadline.deadline_scope`), so the dataloaders' batch
tasks, started inside the operation, inherit it; each provider's ``ResilientTransport``
reads it to clamp attempts and skip retries that could not finish in time. The length
comes from ``Settings.request_deadline``, carried by the upstreams of the request's
context; :class:`schema.pipeline.Pipeline` sets it around each operation.
"""

from __future__ import annotations

DEFAULT_SECONDS = 15.0  # a context without upstreams (never the app's)
