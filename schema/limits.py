"""Limits on what one request may ask, checked during validation: before anything
runs, so a refused request costs no upstream call.

Depth, aliases, root fields, list sizes (``first`` at most 100) and an estimated
cost: every field costs 1, multiplied by the page sizes of the connections above
it, so ``applications(first: 100) { edges { node { documents { … } } } }`` costs
what its fan-out would. A refusal is a GraphQL error coded ``QUERY_TOO_COMPLEX``.
The token limit is applied by the parser (:mod:`schema.pipeline`).

Introspection (``__schema``, ``__type``) is not a deep query: the standard
introspection query of graphql-js is 15 levels deep, and GraphiQL, codegen and
every IDE send it first. Its root fields are held to a budget of their own
instead of the depth and cost limits: an estimated cost in which each list the
schema answers (``types``, ``fields``, ``args``…) multiplies what is under it by
its real size in this schema, at most twice what the full standard introspection
query costs. So every standard introspection query passes, while a nested one
(``fields { type { fields { type { fields … } } } }``) cannot return more than
two of them would. Root fields, aliases and tokens count as for any query, and
where introspection is off it is still refused (:mod:`schema.pipeline`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_introspection_query,
    parse,
)

from caching import Cache, bounds, per_entry
from schema.pagination import DEFAULT_PAGE, MAX_PAGE

CODE = "QUERY_TOO_COMPLEX"
CONNECTIONS = frozenset({"applications", "enrollments", "documents"})
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# What a client may spend on introspection in one operation, in full standard
# introspection queries.
INTROSPECTION_BUDGET = 2
# The fullest standard query: every option graphql-core knows, on.
STANDARD_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    experimental_directive_deprecation=True,
    one_of=True,
)


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_root_fields: int = 10
    max_tokens: int = 3000
    max_cost: int = 50_000
    max_page: int = MAX_PAGE


Fragments = Mapping[str, FragmentDefinitionNode]
# A field with the fragments spread on the way to it: a fragment never expands
# inside itself, so a cycle (refused by graphql-core's own rule, which runs
# beside this one) cannot loop here.
Found = tuple[FieldNode, frozenset[str]]


def fields_of(
    selection_set: SelectionSetNode | None,
    fragments: Fragments,
    seen: frozenset[str] = frozenset(),
) -> list[Found]:
    """The fields of a selection set, fragments expanded."""
    found: list[Found] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found.append((selection, seen))
        elif isinstance(selection, InlineFragmentNode):
            found.extend(fields_of(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                found.extend(
                    fields_of(fragment.selection_set, fragments, seen | {name})
                )
    return found


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }


# Each validated operation's estimated cost, for its trace (validation runs once
# per document: the entry keeps the node, so its id is not reused meanwhile).
_COSTS: Cache[int, tuple[OperationDefinitionNode, int]] = Cache(
    bounds.STATIC_MAX_BYTES, per_entry(bounds.STATIC_BYTES)
)


def estimated_cost(operation: OperationDefinitionNode) -> int | None:
    """The cost the limits estimated when ``operation`` was validated."""
    found = _COSTS.get(id(operation))
    return found[1] if found is not None and found[0] is operation else None


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A validation rule enforcing ``limits`` on each operation."""

    class Limits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = fragments_of(context.document)

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_: Any
        ) -> None:
            roots = fields_of(node.selection_set, self.fragments)
            if len(roots) > limits.max_root_fields:
                self._refuse(
                    f"an operation may select at most {limits.max_root_fields} "
                    f"root fields ({len(roots)} selected)",
                    node,
                )
            aliases = self._count_aliases(roots)
            if aliases > limits.max_aliases:
                self._refuse(
                    f"an operation may use at most {limits.max_aliases} aliases "
                    f"({aliases} used)",
                    node,
                )
            # Introspection has a budget of its own (the module docstring).
            data = [r for r in roots if r[0].name.value not in INTROSPECTION_ROOTS]
            meta = [r for r in roots if r[0].name.value in INTROSPECTION_ROOTS]
            depth = max((self._depth(found) for found in data), default=0)
            if depth > limits.max_depth:
                self._refuse(
                    f"the query is {depth} levels deep; at most "
                    f"{limits.max_depth} are allowed",
                    node,
                )
            cost = sum(self._cost(found, 1, True) for found in data)
            _COSTS.put(id(node), (node, cost))
            if cost > limits.max_cost:
                self._refuse(
                    f"the query's estimated cost is {cost}; at most "
                    f"{limits.max_cost} is allowed",
                    node,
                )
            if meta:
                sizes, budget = introspection_budget(self.context.schema)
                spent = sum(
                    introspection_cost(found, 1, sizes, self.fragments)
                    for found in meta
                )
                if spent > budget:
                    self._refuse(
                        f"the introspection's estimated cost is {spent}; at most "
                        f"{budget} is allowed ({INTROSPECTION_BUDGET} times the "
                        "full standard introspection query)",
                        node,
                    )

        def _refuse(self, message: str, node: Any) -> None:
            self.report_error(GraphQLError(message, node, extensions={"code": CODE}))

        def _inner(self, found: Found) -> list[Found]:
            field, seen = found
            return fields_of(field.selection_set, self.fragments, seen)

        def _count_aliases(self, fields: list[Found]) -> int:
            return sum(
                (1 if f[0].alias else 0) + self._count_aliases(self._inner(f))
                for f in fields
            )

        def _depth(self, found: Found) -> int:
            return 1 + max((self._depth(f) for f in self._inner(found)), default=0)

        def _page(self, field: FieldNode, root: bool) -> int:
            return page_size(field, root, limits.max_page, self._refuse)

        def _cost(self, found: Found, multiplier: int, root: bool) -> int:
            return field_cost(
                found, multiplier, root, self.fragments, limits.max_page, self._refuse
            )

    return Limits


def page_size(
    field: FieldNode,
    root: bool,
    max_page: int = MAX_PAGE,
    refuse: Callable[[str, Any], None] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """How many items ``field`` fans out to, for the cost estimate; a page
    over ``max_page`` goes to ``refuse`` (and counts as asked). A page size in a
    variable is the largest page, unless ``variables`` gives it."""
    for argument in field.arguments or ():
        if argument.name.value == "first":
            value = argument.value
            if isinstance(value, IntValueNode):
                size = int(value.value)
            elif isinstance(value, VariableNode):
                # Variables are unknown while validating (and the result
                # is cached per document): assume the largest page.
                given = (variables or {}).get(value.name.value)
                size = max_page
                if isinstance(given, int) and not isinstance(given, bool):
                    size = min(max(given, 0), max_page)
            else:
                size = DEFAULT_PAGE
            if size > max_page and refuse is not None:
                refuse(f"first may be at most {max_page} ({size} asked)", field)
            return max(size, 1)
        if argument.name.value == "ids":
            return max(len(getattr(argument.value, "values", ()) or ()), 1)
    if any(a.name.value == "after" for a in field.arguments or ()):
        return DEFAULT_PAGE
    if root and field.name.value in CONNECTIONS:
        return DEFAULT_PAGE
    return 1


def field_cost(
    found: Found,
    multiplier: int,
    root: bool,
    fragments: Fragments,
    max_page: int = MAX_PAGE,
    refuse: Callable[[str, Any], None] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Every field costs 1, times the page sizes of the connections above it."""
    field, seen = found
    if field.selection_set is None:
        return multiplier
    inner = multiplier * page_size(field, root, max_page, refuse, variables)
    return multiplier + sum(
        field_cost(f, inner, False, fragments, max_page, refuse, variables)
        for f in fields_of(field.selection_set, fragments, seen)
    )


def operation_cost(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    max_page: int = MAX_PAGE,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The estimated cost of ``operation`` as the limits rule computes it
    (introspection fields aside), page sizes taken from ``variables`` where
    given: what a caller's cost rate limit charges."""
    fragments = fragments_of(document)
    return sum(
        field_cost(found, 1, True, fragments, max_page, None, variables)
        for found in fields_of(operation.selection_set, fragments)
        if found[0].name.value not in INTROSPECTION_ROOTS
    )


def introspection_cost(
    found: Found, multiplier: int, sizes: Mapping[str, int], fragments: Fragments
) -> int:
    """Every introspection field costs 1, times the sizes of the lists above it."""
    field, seen = found
    if field.selection_set is None:
        return multiplier
    inner = multiplier * sizes.get(field.name.value, 1)
    return multiplier + sum(
        introspection_cost(f, inner, sizes, fragments)
        for f in fields_of(field.selection_set, fragments, seen)
    )


def introspection_sizes(schema: GraphQLSchema) -> dict[str, int]:
    """How long each list introspection answers can be, in this schema."""
    types = list(schema.type_map.values())
    composite = [
        t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    ]
    inputs = [t for t in types if isinstance(t, GraphQLInputObjectType)]
    arguments = [len(f.args) for t in composite for f in t.fields.values()]
    arguments += [len(d.args) for d in schema.directives]
    abstract = [
        t for t in types if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)
    ]
    lengths = {
        "types": [len(types)],
        "directives": [len(schema.directives)],
        "fields": [len(t.fields) for t in composite],
        "inputFields": [len(t.fields) for t in inputs],
        "args": arguments,
        "enumValues": [len(getattr(t, "values", ())) for t in types],
        "interfaces": [len(t.interfaces) for t in composite],
        "possibleTypes": [len(schema.get_possible_types(t)) for t in abstract],
    }
    return {name: max([1, *found]) for name, found in lengths.items()}


_budgets: weakref.WeakKeyDictionary[GraphQLSchema, tuple[dict[str, int], int]] = (
    weakref.WeakKeyDictionary()
)


def introspection_budget(schema: GraphQLSchema) -> tuple[dict[str, int], int]:
    """The list sizes of ``schema`` and what introspection may cost on it."""
    known = _budgets.get(schema)
    if known is None:
        sizes = introspection_sizes(schema)
        document = parse(STANDARD_INTROSPECTION)
        fragments = fragments_of(document)
        operation = next(
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        )
        standard = sum(
            introspection_cost(found, 1, sizes, fragments)
            for found in fields_of(operation.selection_set, fragments)
        )
        known = _budgets[schema] = (sizes, INTROSPECTION_BUDGET * standard)
    return known
