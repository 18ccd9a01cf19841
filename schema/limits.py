"""Limits on what one request may ask, checked during validation: before anything
runs, so a refused request costs no upstream call.

Depth, aliases, root fields, list sizes (``first`` at most 100) and an estimated
cost: every field costs 1, multiplied by the page sizes of the connections above
it, so ``applications(first: 100) { edges { node { documents { … } } } }`` costs
what its fan-out would. A refusal is a GraphQL error coded ``QUERY_TOO_COMPLEX``.
The token limit is applied by the parser (:mod:`schema.pipeline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)

from schema.pagination import DEFAULT_PAGE, MAX_PAGE

CODE = "QUERY_TOO_COMPLEX"
CONNECTIONS = frozenset({"applications", "enrollments", "documents"})


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_root_fields: int = 10
    max_tokens: int = 3000
    max_cost: int = 50_000
    max_page: int = MAX_PAGE


def limits_rule(limits: QueryLimits) -> type[ValidationRule]:
    """A validation rule enforcing ``limits`` on each operation."""

    class Limits(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_: Any
        ) -> None:
            roots = self._fields(node.selection_set, set())
            if len(roots) > limits.max_root_fields:
                self._refuse(
                    f"an operation may select at most {limits.max_root_fields} "
                    f"root fields ({len(roots)} selected)",
                    node,
                )
            aliases = self._count_aliases(node.selection_set, set())
            if aliases > limits.max_aliases:
                self._refuse(
                    f"an operation may use at most {limits.max_aliases} aliases "
                    f"({aliases} used)",
                    node,
                )
            depth = self._depth(node.selection_set, set())
            if depth > limits.max_depth:
                self._refuse(
                    f"the query is {depth} levels deep; at most "
                    f"{limits.max_depth} are allowed",
                    node,
                )
            cost = self._cost(node.selection_set, 1, set(), True)
            if cost > limits.max_cost:
                self._refuse(
                    f"the query's estimated cost is {cost}; at most "
                    f"{limits.max_cost} is allowed",
                    node,
                )

        def _refuse(self, message: str, node: Any) -> None:
            self.report_error(GraphQLError(message, node, extensions={"code": CODE}))

        def _fields(
            self, selection_set: SelectionSetNode | None, seen: set[str]
        ) -> list[FieldNode]:
            """The fields of a selection set, fragments expanded."""
            found: list[FieldNode] = []
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    found.append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    found.extend(self._fields(selection.selection_set, seen))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is not None and name not in seen:
                        found.extend(
                            self._fields(fragment.selection_set, seen | {name})
                        )
            return found

        def _count_aliases(
            self, selection_set: SelectionSetNode | None, seen: set[str]
        ) -> int:
            return sum(
                (1 if f.alias else 0) + self._count_aliases(f.selection_set, seen)
                for f in self._fields(selection_set, seen)
            )

        def _depth(self, selection_set: SelectionSetNode | None, seen: set[str]) -> int:
            fields = self._fields(selection_set, seen)
            if not fields:
                return 0
            return 1 + max(self._depth(f.selection_set, seen) for f in fields)

        def _page(self, field: FieldNode, root: bool) -> int:
            for argument in field.arguments or ():
                if argument.name.value == "first":
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        size = int(value.value)
                    elif isinstance(value, VariableNode):
                        # Variables are unknown while validating (and the result
                        # is cached per document): assume the largest page.
                        size = limits.max_page
                    else:
                        size = DEFAULT_PAGE
                    if size > limits.max_page:
                        self._refuse(
                            f"first may be at most {limits.max_page} ({size} asked)",
                            field,
                        )
                    return max(size, 1)
                if argument.name.value == "ids":
                    return max(len(getattr(argument.value, "values", ()) or ()), 1)
            if any(a.name.value == "after" for a in field.arguments or ()):
                return DEFAULT_PAGE
            if root and field.name.value in CONNECTIONS:
                return DEFAULT_PAGE
            return 1

        def _cost(
            self,
            selection_set: SelectionSetNode | None,
            multiplier: int,
            seen: set[str],
            root: bool,
        ) -> int:
            total = 0
            for field in self._fields(selection_set, seen):
                total += multiplier
                if field.selection_set is not None:
                    inner = multiplier * self._page(field, root)
                    total += self._cost(field.selection_set, inner, seen, False)
            return total

    return Limits
