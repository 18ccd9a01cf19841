"""Leaf fields read straight off their objects, without the per-field machinery.

graphql-core executes every field the same way: a path, a resolve-info object,
the resolver (for a plain Strawberry attribute, two wrappers around ``getattr``),
an awaitable check, then completion by type. A page of 50 applications with ten
scalar fields each is 500 such executions, most of the gateway's CPU on that page.

:class:`GatewayExecutionContext` plans each selection set once per request: when
every field selected on an object is a plain attribute of a scalar or enum type
(no resolver, no arguments, no deferral) or ``__typename``, the object's result
is built in one loop: ``getattr``, then the type's ``coerce_output_value``, exactly
what completion would have done. Anything unusual while doing so (a null in a
non-null field, an attribute or serialization error, a value that serializes to
nothing) drops that object back to graphql-core's own execution, which reports
it as the specification says. Selection sets with any other field (objects,
lists, resolvers) always take graphql-core's path.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# (response name, attribute or None for __typename, serialize, non-null, typename)
Step = tuple[str, str | None, Callable[[Any], Any] | None, bool, str]
Plan = tuple[Step, ...]


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, kept alive so its id stays its own;
        # its plan, or None when it must take graphql-core's path)
        self._plans: dict[int, tuple[GroupedFieldSet, Plan | None]] = {}
        manager = self.middleware_manager
        self._plain = manager is None or not manager.middlewares

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if self._plain:
            cached = self._plans.get(id(grouped_field_set))
            if cached is None:
                plan = plan_leaves(self.schema, parent_type, grouped_field_set)
                self._plans[id(grouped_field_set)] = (grouped_field_set, plan)
            else:
                plan = cached[1]
            if plan is not None:
                done = run_plan(plan, source_value)
                if done is not None:
                    return done
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )


def plan_leaves(
    schema: GraphQLSchema, parent_type: GraphQLObjectType, fields: GroupedFieldSet
) -> Plan | None:
    """The steps building this selection set's result, if every field is a leaf."""
    steps: list[Step] = []
    for response_name, details in fields.items():
        node = details[0].node
        if any(
            d.defer_usage is not None
            or d.fragment_variable_values is not None
            or d.node.arguments
            for d in details
        ):
            return None
        name = node.name.value
        if name == "__typename":
            steps.append((response_name, None, None, True, parent_type.name))
            continue
        field = parent_type.fields.get(name)
        if field is None or field.args:
            return None
        resolve = field.resolve
        if resolve is None or not getattr(resolve, "_is_default", False):
            return None  # a resolver of its own, or not built by Strawberry
        definition = field.extensions.get("strawberry-definition")
        if not isinstance(definition, StrawberryField):
            return None
        if definition.default_resolver is not getattr:
            return None
        non_null = is_non_null_type(field.type)
        named = field.type.of_type if non_null else field.type
        if not is_leaf_type(named):
            return None
        coerce = named.coerce_output_value
        if isinstance(named, GraphQLEnumType):
            coerce = _enum_coercion(named)
        steps.append((response_name, definition.python_name, coerce, non_null, ""))
    return tuple(steps)


def _enum_coercion(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """The enum's coercion, with its Python members' names looked up in a table.

    Strawberry's enum type finds a member's name by comparing it with every
    value; the table holds what that comparison finds, for every member.
    """
    coerce = enum_type.coerce_output_value
    wrapped = getattr(enum_type, "wrapped_cls", None)
    if not isinstance(wrapped, type) or not issubclass(wrapped, enum.Enum):
        return coerce
    table = {member: coerce(member) for member in wrapped}

    def coerced(value: Any) -> Any:
        name = table.get(value) if isinstance(value, enum.Enum) else None
        return coerce(value) if name is None else name

    return coerced


def run_plan(plan: Plan, source: Any) -> dict[str, Any] | None:
    """The object's result, or None to let graphql-core execute it instead."""
    result: dict[str, Any] = {}
    try:
        for response_name, attribute, serialize, non_null, typename in plan:
            if attribute is None:
                result[response_name] = typename
                continue
            value = getattr(source, attribute)
            if isinstance(value, Exception):
                return None  # graphql-core raises a returned exception
            if value is None:
                if non_null:
                    return None
                result[response_name] = None
                continue
            assert serialize is not None
            serialized = serialize(value)
            if serialized is None or serialized is Undefined:
                return None
            result[response_name] = serialized
    except Exception:
        return None
    return result
