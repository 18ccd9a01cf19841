"""Everything the schema does around each operation, as one Strawberry extension.

Strawberry builds a context manager per extension, per hook, per request (it wraps
each generator hook in ``contextlib.contextmanager`` every time); with the six
stock extensions this gateway used (error coding, deadline, parser cache,
validation cache, extra validation rules, token limit) that bookkeeping cost more
than executing a one-record query. One extension does all of it:

- ``on_operation``: the request's deadline (:mod:`schema.deadline`) around the
  whole operation; afterwards every error coded, unexpected ones masked
  (:func:`schema.errors.code_errors`).
- ``on_parse``: documents parsed once per query text (LRU), with the token limit.
- ``on_validate``: validation once per document, with graphql-core's rules, the
  limits rule (:mod:`schema.limits`) and, when introspection is off,
  ``NoSchemaIntrospectionCustomRule`` and no suggestions ("Did you mean
  'providers'?" would give the schema away field by field).

Cached answers are the same objects each time and never mutated here: error
coding builds new errors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    validate,
)
from strawberry.extensions import SchemaExtension

from adapters.transport.resilience import deadline_scope
from schema.context import Context
from schema.deadline import DEFAULT_SECONDS
from schema.errors import code_errors
from schema.limits import QueryLimits, limits_rule


@dataclass
class _Entry:
    document: DocumentNode
    rules: tuple[type[ASTValidationRule], ...] | None = None
    errors: list[GraphQLError] | None = None


class Documents:
    """Parsed and validated documents by query text, least recently used out."""

    def __init__(
        self, limits: QueryLimits, *, introspection: bool, maxsize: int = 512
    ) -> None:
        self.max_tokens = limits.max_tokens
        extra: list[type[ASTValidationRule]] = [limits_rule(limits)]
        if not introspection:
            extra.append(NoSchemaIntrospectionCustomRule)
        self.extra_rules = tuple(extra)
        self.hide_suggestions = not introspection
        self.maxsize = maxsize
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def parse(self, query: str) -> DocumentNode:
        """The document of ``query``; syntax errors (never cached) propagate."""
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry.document
        document = parse(query, max_tokens=self.max_tokens)
        self._entries[query] = _Entry(document)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return document

    def validate(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        base_rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        rules = (*base_rules, *self.extra_rules)
        entry = self._entries.get(query) if query is not None else None
        if entry is None or entry.document is not document:
            return self._validate(schema, document, rules)
        if entry.rules != rules:
            entry.errors = self._validate(schema, document, rules)
            entry.rules = rules
        assert entry.errors is not None
        return entry.errors

    def _validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        if not self.hide_suggestions:
            return validate(schema, document, rules)
        errors = validate(schema, document, rules, hide_suggestions=True)
        # graphql-core hides the schema's names; the leaf rule still says "Did
        # you mean 'field { ... }'?": nothing is said that the client cannot see.
        return [_unsuggested(e) for e in errors]


def _unsuggested(error: GraphQLError) -> GraphQLError:
    head, found, _ = error.message.partition(" Did you mean ")
    if not found:
        return error
    return GraphQLError(
        head,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
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
            ctx.schema._schema,
            ctx.query,
            ctx.graphql_document,
            tuple(ctx.validation_rules),
        )
        yield
