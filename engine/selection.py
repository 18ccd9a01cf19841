"""What a query selects below a field, read from its syntax tree.

Lets a resolver ask only for what the query selects (a provider's list summary
often holds every field a page needs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)

from caching import Cache, bounds, per_entry

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
# (field nodes, path) -> the answer; keeps the nodes alive so ids stay theirs.
_SELECTED: Cache[tuple[object, ...], tuple[tuple[object, ...], frozenset[str]]] = Cache(
    bounds.SELECTED_MAX_BYTES, per_entry(bounds.SELECTED_BYTES)
)


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


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
    resolves.

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
    found = frozenset(
        _snake(f.name.value) for f in level if not f.name.value.startswith("__")
    )
    _SELECTED.put(key, ((*nodes, *raw.fragments.values()), found))
    return found
