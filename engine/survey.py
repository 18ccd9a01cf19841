"""How the engine reads every field of a schema: the guard behind
``docs/adding-a-field.md``.

``survey`` plans each object type's whole selection (every field; below a field
of another type, its ``__typename``: each type is surveyed on its own) with the
gateway's execution context and reports, field by field, what the plan does
with it:

- ``direct``: read straight off the object in the plan's loop;
- ``at hand``: a resolver declared ``at_hand(attribute)``, read like a plain
  field wherever the attribute is not None;
- ``resolver``: the field's own resolver runs, through graphql-core;
- ``below``: the field itself is plain, but its type is an interface or a
  union, which graphql-core resolves (and completes);
- ``arguments``: the field takes arguments, so graphql-core executes it.

``shared_attributes`` lists every attribute of the types declared
``immutable`` (objects shared by every request that gets the same record):
anything per caller placed there would leak between callers.

Not on the request path: tests and the guide use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    is_leaf_type,
    parse,
)
from graphql.execution.collect_fields import FieldDetails, GroupedFieldSet
from graphql.pyutils import Undefined
from strawberry.types.field import StrawberryField

from engine import plans
from engine.context import GatewayExecutionContext
from engine.fields import at_hand_attribute, declared, read_directly


def survey(
    schema: GraphQLSchema,
    context_class: type[GatewayExecutionContext] = GatewayExecutionContext,
) -> dict[str, dict[str, str]]:
    """Type name -> field name -> how the engine reads it (see the module)."""
    executor: Any = context_class.build(schema, parse("{ __typename }"))
    assert not isinstance(executor, list), executor
    roots = {schema.query_type, schema.mutation_type, schema.subscription_type}
    found: dict[str, dict[str, str]] = {}
    for name, type_ in sorted(schema.type_map.items()):
        if not isinstance(type_, GraphQLObjectType) or name.startswith("__"):
            continue
        if type_ in roots:
            continue
        found[name] = _survey_type(executor, type_)
    return found


def _survey_type(executor: Any, type_: GraphQLObjectType) -> dict[str, str]:
    text = "{ " + _selection(type_) + " }"
    definition = parse(text).definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    grouped: GroupedFieldSet = {}
    for node in definition.selection_set.selections:
        assert isinstance(node, FieldNode)
        grouped[node.name.value] = [FieldDetails(node, None)]
    plan: plans.Plan | None = executor._make_plan(type_, grouped, True)
    steps = {s.response_name: s for s in plan.steps} if plan is not None else {}
    kinds: dict[str, str] = {}
    for name, field in type_.fields.items():
        kinds[name] = _kind(field, steps.get(name))
    return kinds


def _kind(field: GraphQLField, step: plans.Step | None) -> str:
    if field.args:
        return "arguments"
    definition = field.extensions.get("strawberry-definition")
    if step is not None:
        python_name = getattr(definition, "python_name", None)
        return "direct" if step.attribute == python_name else "at hand"
    if isinstance(definition, StrawberryField) and (
        read_directly(definition, field.resolve)
        or at_hand_attribute(definition, field.resolve) is not None
    ):
        return "below"
    return "resolver"


def _selection(type_: GraphQLObjectType) -> str:
    """Every field of ``type_`` without required arguments; below a field of
    another type, only ``__typename`` (each type is surveyed on its own)."""
    parts: list[str] = []
    for name, field in type_.fields.items():
        if any(
            isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
            for a in field.args.values()
        ):
            continue  # reported as "arguments" all the same
        named = get_named_type(field.type)
        parts.append(name if is_leaf_type(named) else f"{name} {{ __typename }}")
    return " ".join(parts)


def shared_attributes(schema: GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """Every attribute of each of the schema's types declared ``immutable``:
    what every request that gets the same record reads."""
    found: dict[str, tuple[str, ...]] = {}
    for name, type_ in sorted(schema.type_map.items()):
        definition = type_.extensions.get("strawberry-definition")
        cls = getattr(definition, "origin", None)
        if cls in plans._IMMUTABLE and dataclasses.is_dataclass(cls):
            found[name] = tuple(f.name for f in dataclasses.fields(cls))
    return found


def declarations(schema: GraphQLSchema) -> dict[str, dict[str, str]]:
    """Type name -> field name -> how its declaration says it is answered, for
    the fields derived from a domain record's declaration (``engine.fields``)."""
    found: dict[str, dict[str, str]] = {}
    for name, type_ in sorted(schema.type_map.items()):
        if not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            definition = field.extensions.get("strawberry-definition")
            kind = (
                declared(definition)
                if isinstance(definition, StrawberryField)
                else None
            )
            if kind is not None:
                found.setdefault(name, {})[field_name] = kind
    return found
