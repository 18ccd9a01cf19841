"""The one extension around each operation: cached parsing and validation."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import ValidationRule

import engine.documents as pipeline
from caching.bounds import DOCUMENT_CHAR_BYTES
from schema.api import build_schema
from schema.limits import QueryLimits
from schema.pipeline import Documents

QUERY = "query Probe { __typename }"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = pipeline.parse

    def counting(source: str, **kwargs: Any) -> Any:
        seen.append(source)
        return real(source, **kwargs)

    monkeypatch.setattr(pipeline, "parse", counting)
    return seen


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    seen: list[object] = []
    real = pipeline.validate

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document)
        return real(schema, document, rules)

    monkeypatch.setattr(pipeline, "validate", counting)
    return seen


async def test_a_query_text_is_parsed_and_validated_once(
    parses: list[str], validations: list[object]
) -> None:
    schema = build_schema()
    for _ in range(3):
        result = await schema.execute(QUERY)
        assert result.errors is None
        assert result.data == {"__typename": "Query"}
    assert parses == [QUERY]
    assert len(validations) == 1


async def test_syntax_errors_are_reported_every_time_and_never_cached(
    parses: list[str],
) -> None:
    schema = build_schema()
    for _ in range(2):
        result = await schema.execute("{ __typename ")
        assert result.data is None
        assert result.errors is not None
        assert "Syntax Error" in result.errors[0].message
    assert parses == ["{ __typename "] * 2


async def test_a_cached_validation_failure_is_reported_every_time() -> None:
    schema = build_schema(limits=QueryLimits(max_depth=2))
    query = "{ applications { edges { node { id } } } }"
    for _ in range(2):
        result = await schema.execute(query)
        assert result.data is None
        assert [e.extensions for e in result.errors or []] == [
            {"code": "QUERY_TOO_COMPLEX"}
        ]


async def test_the_token_limit_applies_to_cached_parsing() -> None:
    schema = build_schema(limits=QueryLimits(max_tokens=10))
    result = await schema.execute(
        "{ applications { edges { node { id name state } } } }"
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}


async def test_introspection_is_refused_when_off_and_answered_when_on() -> None:
    query = "{ __schema { queryType { name } } }"
    off = await build_schema(introspection=False).execute(query)
    assert off.data is None
    assert off.errors is not None
    assert "introspection" in off.errors[0].message.lower()
    on = await build_schema(introspection=True).execute(query)
    assert on.errors is None
    assert on.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_the_cache_keeps_the_most_recently_used_texts(parses: list[str]) -> None:
    # Room for two of these texts (5 characters each), by their weight.
    documents = Documents(
        QueryLimits(), introspection=True, max_bytes=2 * 5 * DOCUMENT_CHAR_BYTES
    )
    for query in ["{ a }", "{ b }", "{ a }", "{ c }", "{ a }", "{ b }"]:
        documents.parse(query)
    # b was the least recently used when c came in, so it is parsed again.
    assert parses == ["{ a }", "{ b }", "{ c }", "{ b }"]


def test_other_rules_mean_another_validation(validations: list[object]) -> None:
    schema = build_schema()
    graphql_schema = schema._schema
    documents = Documents(QueryLimits(), introspection=True)
    document = documents.parse(QUERY)

    class Extra(ValidationRule):
        pass

    assert documents.validate(graphql_schema, QUERY, document, ()) == []
    assert documents.validate(graphql_schema, QUERY, document, ()) == []
    assert documents.validate(graphql_schema, QUERY, document, (Extra,)) == []
    assert len(validations) == 2
