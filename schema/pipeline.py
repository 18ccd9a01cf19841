"""Everything the schema does around each operation, as one Strawberry extension.

Strawberry builds a context manager per extension, per hook, per request (it wraps
each generator hook in ``contextlib.contextmanager`` every time); with the six
stock extensions this gateway used (error coding, deadline, parser cache,
validation cache, extra validation rules, token limit) that bookkeeping cost more
than executing a one-record query. One extension does all of it:

- ``on_operation``: the request's deadline (:mod:`schema.deadline`) around the
  whole operation; afterwards every error coded, unexpected ones masked
  (:func:`schema.errors.code_errors`).
- ``on_parse``: documents parsed once per query text (``engine.documents``), with
  the token limit.
- ``on_validate``: validation once per document, with graphql-core's rules, the
  limits rule (:mod:`schema.limits`) and, when introspection is off,
  ``NoSchemaIntrospectionCustomRule`` and no suggestions ("Did you mean
  'providers'?" would give the schema away field by field).

Cached answers are the same objects each time and never mutated here: error
coding builds new errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from adapters.transport.resilience import deadline_scope
from caching import bounds
from engine import documents
from engine.internals import graphql_schema
from schema.context import Context
from schema.deadline import DEFAULT_SECONDS
from schema.errors import code_errors
from schema.limits import QueryLimits, limits_rule


class Documents(documents.Documents):
    """The schema's documents: graphql-core's rules, the query limits and, when
    introspection is off, no introspection and no suggestions."""

    def __init__(
        self,
        limits: QueryLimits,
        *,
        introspection: bool,
        max_bytes: int = bounds.DOCUMENTS_MAX_BYTES,
    ) -> None:
        extra: list[type[ASTValidationRule]] = [limits_rule(limits)]
        if not introspection:
            extra.append(NoSchemaIntrospectionCustomRule)
        super().__init__(
            max_tokens=limits.max_tokens,
            extra_rules=extra,
            hide_suggestions=not introspection,
            max_bytes=max_bytes,
        )


class Pipeline(SchemaExtension):
    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = self.documents.max_tokens
        context = ctx.context
        seconds = (
            context.upstreams.request_deadline
            if isinstance(context, Context)
            else DEFAULT_SECONDS
        )
        with deadline_scope(seconds):
            yield
        result = ctx.result
        if result is None or not hasattr(result, "errors"):
            return
        partial = context.partial_errors if isinstance(context, Context) else ()
        if result.errors or partial:
            result.errors = code_errors(result.errors or (), partial)

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            # A syntax error is left to Strawberry's own parse, which reports it
            # as a request error (it parses again, with the same token limit).
            with suppress(GraphQLError):
                ctx.graphql_document = self.documents.parse(ctx.query)
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        ctx.pre_execution_errors = self.documents.validate(
            graphql_schema(ctx.schema),
            ctx.query,
            ctx.graphql_document,
            tuple(ctx.validation_rules),
        )
        yield
