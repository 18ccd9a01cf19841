"""Every GraphQL operation gets a deadline that its upstream calls respect.

The deadline lives in a context variable (:func:`adapters.resilience.deadline_scope`),
so the dataloaders' batch tasks, started inside the operation, inherit it; each
provider's ``ResilientTransport`` reads it to clamp attempts and skip retries that
could not finish in time. The length comes from ``Settings.request_deadline``,
carried by the upstreams of the request's context.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from adapters.resilience import deadline_scope
from schema.context import Context

DEFAULT_SECONDS = 15.0  # a context without upstreams (never the app's)


class RequestDeadline(SchemaExtension):
    """Set the request's deadline around the whole operation."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        seconds = (
            context.upstreams.request_deadline
            if isinstance(context, Context)
            else DEFAULT_SECONDS
        )
        with deadline_scope(seconds):
            yield
