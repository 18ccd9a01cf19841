"""Introspection is not a deep query, and it cannot be used to get round the limits.

The standard introspection queries of graphql-js (GraphiQL, GraphQL Code Generator,
Apollo's tools) and graphql-core pass; what introspection may cost is bounded by
its own budget (schema/limits.py); it stays off where introspection is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    OperationDefinitionNode,
    build_client_schema,
    get_introspection_query,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.settings import Settings
from schema.api import build_schema
from schema.limits import INTROSPECTION_BUDGET, introspection_budget
from tests.conftest import serve

# graphql-js 16's getIntrospectionQuery() with every option on (what GraphiQL and
# codegen send, at most), as tests/frontend's graphql package prints it.
GRAPHQL_JS = (Path(__file__).parent / "graphql-js-introspection.graphql").read_text()
SCHEMA = build_schema()


def depth(query: str) -> int:
    """Levels of nested fields, fragments expanded (what the depth limit counts)."""
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if hasattr(d, "type_condition")
    }

    def of(selection_set: Any) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(
                    deepest, of(fragments[selection.name.value].selection_set)
                )
        return deepest

    operation = next(
        d for d in document.definitions if isinstance(d, OperationDefinitionNode)
    )
    return of(operation.selection_set)


def keys(value: Any) -> int:
    """Every field of every object in an answer: what the cost estimate counts."""
    if isinstance(value, dict):
        return len(value) + sum(keys(v) for v in value.values())
    if isinstance(value, list):
        return sum(keys(v) for v in value)
    return 0


async def test_graphql_js_standard_introspection_passes_over_http() -> None:
    assert depth(GRAPHQL_JS) > Settings().max_query_depth  # refused before
    async with serve() as gateway:
        body = await gateway.execute(GRAPHQL_JS)
    assert "errors" not in body, body["errors"]
    client_schema = build_client_schema(body["data"])
    assert client_schema.query_type is not None
    assert client_schema.query_type.name == "Query"
    assert "VersionConflict" in client_schema.type_map
    assert gateway.upstream_calls() == 0


@settings(max_examples=12, derandomize=True, deadline=None)
@given(options=st.fixed_dictionaries({name: st.booleans() for name in (
    "descriptions", "specified_by_url", "directive_is_repeatable",
    "schema_description", "input_value_deprecation", "one_of",
)}))  # fmt: skip
def test_graphql_core_standard_introspection_passes(options: dict[str, bool]) -> None:
    result = SCHEMA.execute_sync(get_introspection_query(**options))
    assert result.errors is None
    assert result.data is not None
    assert build_client_schema(result.data).query_type is not None


def test_two_standard_introspections_pass_and_three_are_refused() -> None:
    operation, fragments = GRAPHQL_JS.split("fragment", 1)
    selection = operation.split("{", 1)[1].rsplit("}", 1)[0]
    assert selection.strip().startswith("__schema")

    def aliased(n: int) -> str:
        copies = " ".join(f"s{i}: {selection.strip()}" for i in range(n))
        return f"query Many {{ {copies} }}\nfragment{fragments}"

    assert SCHEMA.execute_sync(aliased(2)).errors is None
    refused = SCHEMA.execute_sync(aliased(3))
    assert refused.data is None
    assert refused.errors is not None
    assert refused.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert "introspection" in refused.errors[0].message


async def test_introspection_beside_data_leaves_the_data_limits_in_force() -> None:
    # 13 levels of data beside introspection: the limits rule counts them
    # whether or not the path exists (graphql-core's own rules say it does not).
    deep = "a { " * 12 + "b" + " }" * 12
    query = "{ __schema { queryType { name } } " + deep + " }"
    result = SCHEMA.execute_sync(query)
    assert result.errors is not None
    assert any(
        e.extensions == {"code": "QUERY_TOO_COMPLEX"} and "levels deep" in e.message
        for e in result.errors
    )
    async with serve() as gateway:
        body = await gateway.execute(
            "{ __schema { queryType { name } } providers { name } }"
        )
    assert body["data"]["__schema"] == {"queryType": {"name": "Query"}}


async def test_standard_introspection_is_refused_where_introspection_is_off() -> None:
    async with serve(Settings(introspection=False)) as gateway:
        body = await gateway.execute(GRAPHQL_JS)
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()


# Random introspection selections, nested as deep as an attacker likes.
TYPE_LEAVES = ["name", "kind", "description"]
FIELD_LEAVES = ["name", "description", "isDeprecated"]


def selection(kind: str, depth_left: int) -> st.SearchStrategy[str]:
    leaves = {"type": TYPE_LEAVES, "input": ["name", "defaultValue"]}.get(
        kind, FIELD_LEAVES
    )
    nested: list[tuple[str, str]] = []
    if depth_left > 0:
        if kind == "type":
            nested = [
                ("fields(includeDeprecated: true)", "field"),
                ("interfaces", "type"),
                ("possibleTypes", "type"),
                ("inputFields", "input"),
                ("ofType", "type"),
                ("enumValues(includeDeprecated: true)", "value"),
            ]
        elif kind == "field":
            nested = [("args", "input"), ("type", "type")]
        elif kind == "input":
            nested = [("type", "type")]
    parts = [st.sampled_from(leaves)] + [
        selection(inner, depth_left - 1).map(lambda s, name=name: f"{name} {{ {s} }}")
        for name, inner in nested
    ]
    return st.lists(st.one_of(parts), min_size=1, max_size=3).map(" ".join)


def introspections() -> st.SearchStrategy[str]:
    root = st.one_of(
        selection("type", 5).map(lambda s: f"__schema {{ types {{ {s} }} }}"),
        selection("type", 5).map(lambda s: f'__type(name: "Application") {{ {s} }}'),
    )
    aliased = st.lists(root, min_size=1, max_size=3).map(
        lambda roots: " ".join(f"r{i}: {r}" for i, r in enumerate(roots))
    )
    return aliased.map(lambda s: f"{{ {s} }}")


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(query=introspections())
def test_no_accepted_introspection_answers_more_than_its_budget(query: str) -> None:
    _, budget = introspection_budget(SCHEMA._schema)
    result = SCHEMA.execute_sync(query)
    if result.errors:
        assert result.data is None  # refused before running, never half-run
        return
    assert keys(result.data) <= budget


def test_the_budget_is_twice_the_standard_query() -> None:
    _, budget = introspection_budget(SCHEMA._schema)
    standard = SCHEMA.execute_sync(get_introspection_query(one_of=True))
    assert standard.data is not None
    assert keys(standard.data) <= budget // INTROSPECTION_BUDGET
    assert INTROSPECTION_BUDGET == 2


@pytest.mark.parametrize("root", ["__schema", "__type"])
def test_a_deep_nest_of_introspection_lists_is_refused(root: str) -> None:
    inner = "fields { type { " * 4 + "name" + " } }" * 4
    if root == "__schema":
        query = f"{{ __schema {{ types {{ {inner} }} }} }}"
    else:
        query = f'{{ __type(name: "Query") {{ {inner} }} }}'
    result = SCHEMA.execute_sync(query)
    assert result.data is None
    assert result.errors
