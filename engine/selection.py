"""What a query selects below a field, read from its syntax tree.

Lets a resolver ask only for what the query selects (a provider's list summary
often holds every field a page needs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)

from caching import Cache, bounds, per_entry

# (field nodes, path) -> the answer; keeps the nodes alive so ids stay theirs.
_SELECTED: Cache[tuple[object, ...], tuple[tuple[object, ...], frozenset[str]]] = Cache(
    bounds.SELECTED_MAX_BYTES, per_entry(bounds.SELECTED_BYTES), name="selections"
)


def _python_names(type_: GraphQLOutputType, path: Sequence[str]) -> dict[str, str]:
    """GraphQL name -> Python name of the fields of the type under ``path``, as
    their declarations say (Strawberry's ``python_name``)."""
    named = get_named_type(type_)
    for name in path:
        field = named.fields.get(name) if isinstance(named, GraphQLObjectType) else None
        if field is None:
            return {}
        named = get_named_type(field.type)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return {}
    return {
        name: getattr(
            field.extensions.get("strawberry-definition"), "python_name", name
        )
        for name, field in named.fields.items()
    }


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterable[FieldNode]:
    """The fields of a selection set, fragments expanded (directives ignored)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                yield from _fields(fragment.selection_set, fragments, seen | {name})


def selected_fields(
    raw: GraphQLResolveInfo[Any], path: Sequence[str] = ()
) -> frozenset[str]:
    """Python names of the fields selected under ``path`` of the field ``raw``
    resolves, as the fields' declarations name them (not guessed from the
    GraphQL names).

    Read from the query's syntax tree, once per parsed query (the document cache
    hands each request of one query text the same nodes).
    """
    nodes = tuple(raw.field_nodes)
    key = (*map(id, nodes), *map(id, raw.fragments.values()), tuple(path))
    known = _SELECTED.get(key)
    if known is not None:
        return known[1]
    fragments = raw.fragments
    level: list[FieldNode] = [
        f for node in nodes for f in _fields(node.selection_set, fragments)
    ]
    for name in path:
        level = [
            f
            for node in level
            if node.name.value == name
            for f in _fields(node.selection_set, fragments)
        ]
    python_names = _python_names(raw.return_type, path)
    found = frozenset(
        python_names.get(f.name.value, f.name.value)
        for f in level
        if not f.name.value.startswith("__")
    )
    _SELECTED.put(key, ((*nodes, *raw.fragments.values()), found))
    return found
