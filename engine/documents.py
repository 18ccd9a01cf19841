"""Parsed and validated documents by query text.

A query text is parsed once and validated once per set of rules; the same text
brings the same document nodes, which lets plans (``engine.context``) and
selections (``engine.selection``) be found again by the nodes' identities.
Cached answers are the same objects each time and never mutated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    validate,
)

from caching import Cache, bounds


@dataclass
class _Entry:
    document: DocumentNode
    rules: tuple[type[ASTValidationRule], ...] | None = None
    errors: list[GraphQLError] | None = None


class Documents:
    """Parsed and validated documents by query text, least recently used out,
    weighed by the length of the text (``caching.bounds``)."""

    def __init__(
        self,
        *,
        max_tokens: int,
        extra_rules: Sequence[type[ASTValidationRule]] = (),
        hide_suggestions: bool = False,
        max_bytes: int = bounds.DOCUMENTS_MAX_BYTES,
    ) -> None:
        self.max_tokens = max_tokens
        self.extra_rules = tuple(extra_rules)
        self.hide_suggestions = hide_suggestions
        self._entries: Cache[str, _Entry] = Cache(
            max_bytes,
            _weigh,
            max_entry_bytes=bounds.DOCUMENT_MAX_ENTRY_BYTES,
            name="documents",
        )

    def parse(self, query: str) -> DocumentNode:
        """The document of ``query``; syntax errors (never cached) propagate."""
        entry = self._entries.get(query)
        if entry is not None:
            return entry.document
        document = parse(query, max_tokens=self.max_tokens)
        self._entries.put(query, _Entry(document))
        return document

    def kept(self, query: str | None) -> DocumentNode | None:
        """``query``'s document if it is kept (``parse`` would not parse it)."""
        entry = self._entries.get(query) if query is not None else None
        return None if entry is None else entry.document

    def kept_errors(
        self,
        query: str | None,
        document: DocumentNode,
        base_rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError] | None:
        """What ``validate`` answers from what it kept (no validation), or None
        when it would validate: the same list, found by one look-up."""
        entry = self._entries.get(query) if query is not None else None
        if (
            entry is None
            or entry.document is not document
            or entry.rules != (*base_rules, *self.extra_rules)
        ):
            return None
        return entry.errors

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


def _weigh(query: str, entry: _Entry) -> int:
    return len(query) * bounds.DOCUMENT_CHAR_BYTES
