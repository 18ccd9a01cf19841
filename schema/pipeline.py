"""Everything the schema does around each operation, as one Strawberry extension.

Strawberry builds a context manager per extension, per hook, per request (it wraps
each generator hook in ``contextlib.contextmanager`` every time); with the six
stock extensions this gateway used (error coding, deadline, parser cache,
validation cache, extra validation rules, token limit) that bookkeeping cost more
than executing a one-record query. One extension does all of it:

- ``on_operation``: the request's deadline (:mod:`schema.deadline`) around the
  whole operation; afterwards every error coded, unexpected ones masked
  (:func:`schema.errors.code_errors`).
- before the operation runs, still in ``on_operation`` (a hook of its own costs
  a context manager per request): documents parsed once per query text
  (``engine.documents``), with the token limit; validation once per document,
  with graphql-core's rules, the limits rule (:mod:`schema.limits`) and, when
  introspection is off, ``NoSchemaIntrospectionCustomRule`` and no suggestions
  ("Did you mean 'providers'?" would give the schema away field by field).

Cached answers are the same objects each time and never mutated here: error
coding builds new errors.

Tracing (``tracer`` given: the gateway's, only when tracing is on): a server span
per operation (``graphql.operation.name``/``.type``, ``gateway.cost`` as the
limits estimated it, ``gateway.outcome``: ``ok``, ``partial`` or the first
error's code, ``gateway.document.cached``: its document was parsed and
validated before), current while it runs, so the loaders' batches and the
upstream calls nest under it; a child span for parsing and one for validation
when they happen: a document kept from an earlier request is neither parsed nor
validated again, and costs no span (the engine does the same for planning). With
no tracer none of it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
)
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext

from adapters.transport.deadline import deadline_scope
from adapters.transport.tracing import scope
from caching import bounds
from engine import documents
from engine.internals import graphql_schema
from schema.context import Context
from schema.deadline import DEFAULT_SECONDS
from schema.errors import code_errors, request_error_code
from schema.limits import QueryLimits, estimated_cost, limits_rule


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
    def __init__(self, documents: Documents, tracer: Tracer | None = None) -> None:
        self.documents = documents
        self.tracer = tracer

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.parse_options["max_tokens"] = self.documents.max_tokens
        context = ctx.context
        seconds = (
            context.upstreams.request_deadline
            if isinstance(context, Context)
            else DEFAULT_SECONDS
        )
        if self.tracer is None:
            self._prepare()
            with deadline_scope(seconds):
                yield
            self._code_errors()
            return
        kept = self.documents.kept(ctx.query)
        with scope(
            self.tracer,
            "graphql.operation",
            kind=SpanKind.SERVER,
            record_exception=False,
        ) as span:
            self._prepare(self.tracer, kept)
            with deadline_scope(seconds):
                yield
            self._code_errors()
            _describe_operation(span, ctx, kept is not None)

    def _code_errors(self) -> None:
        ctx = self.execution_context
        result = ctx.result
        if result is None or not hasattr(result, "errors"):
            return
        context = ctx.context
        partial = context.partial_errors if isinstance(context, Context) else ()
        if result.errors or partial:
            result.errors = code_errors(result.errors or (), partial)

    def _prepare(
        self, tracer: Tracer | None = None, kept: DocumentNode | None = None
    ) -> None:
        """The document parsed and validated, before Strawberry would: it then
        finds both done (``graphql_document`` and ``pre_execution_errors`` set)
        and only checks the operation's type in between. Done here rather than
        in ``on_parse`` and ``on_validate``: Strawberry wraps every hook an
        extension defines in a new context manager on every request (two
        fewer: 2.5 % of an application by id's instructions). ``tracer``: a
        span for each step that happens (the ``kept`` document, found when the
        operation's span started, is neither parsed nor validated again)."""
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            if kept is not None:
                ctx.graphql_document = kept
            elif tracer is None:
                self._parse()
            else:
                span = tracer.start_span("graphql.parse")
                try:
                    self._parse()
                finally:
                    span.end()
        if ctx.graphql_document is None or ctx.pre_execution_errors is not None:
            return  # a syntax error: Strawberry's own parse reports it
        if tracer is None:
            self._validate()
            return
        kept_errors = self.documents.kept_errors(
            ctx.query, ctx.graphql_document, tuple(ctx.validation_rules)
        )
        if kept_errors is not None:  # validated before: no validation, no span
            ctx.pre_execution_errors = kept_errors
            return
        span = tracer.start_span("graphql.validate")
        try:
            self._validate()
            span.set_attribute("gateway.errors", len(ctx.pre_execution_errors or ()))
        finally:
            span.end()

    def _parse(self) -> None:
        ctx = self.execution_context
        # A syntax error is left to Strawberry's own parse, which reports it as
        # a request error (it parses again, with the same token limit).
        with suppress(GraphQLError):
            ctx.graphql_document = self.documents.parse(ctx.query or "")

    def _validate(self) -> None:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        ctx.pre_execution_errors = self.documents.validate(
            graphql_schema(ctx.schema),
            ctx.query,
            ctx.graphql_document,
            tuple(ctx.validation_rules),
        )


def _describe_operation(span: Span, ctx: ExecutionContext, cached: bool) -> None:
    """Name, type, estimated cost and outcome of the operation, on its span."""
    name = ctx.operation_name
    kind: str | None = None
    outcome = operation_outcome(ctx)
    attributes: dict[str, AttributeValue] = {
        "gateway.outcome": outcome,
        "gateway.document.cached": cached,
    }
    operation = _operation(ctx)
    if operation is not None:
        kind = attributes["graphql.operation.type"] = operation.operation.value
        name = name or (operation.name.value if operation.name else None)
        cost = estimated_cost(operation)
        if cost is not None:
            attributes["gateway.cost"] = cost
    if name:
        attributes["graphql.operation.name"] = name
    span.set_attributes(attributes)
    span.update_name(" ".join(p for p in (kind, name) if p) or "graphql.operation")
    if outcome not in ("ok", "partial"):
        span.set_status(StatusCode.ERROR, outcome)


def _operation(ctx: ExecutionContext) -> OperationDefinitionNode | None:
    """The operation run: the one named, or the document's only one."""
    document = ctx.graphql_document
    if document is None:
        return None
    wanted = ctx.operation_name
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (wanted is None or (d.name is not None and d.name.value == wanted))
    ]
    return operations[0] if len(operations) == 1 else None


def operation_outcome(ctx: ExecutionContext) -> str:
    """``ok``, ``partial`` (data with errors) or the first error's code."""
    result = ctx.result
    errors = getattr(result, "errors", None) if result is not None else None
    if not errors:
        return "ok" if result is not None else "INTERNAL"
    if getattr(result, "data", None) is not None:
        return "partial"
    code = (errors[0].extensions or {}).get("code")
    return code if isinstance(code, str) else request_error_code(errors[0].message)
