"""Ask only for what the query selects.

A provider's list summary often holds every field a page needs; the detail call per
item is made only when the selection reaches beyond the summary's ``fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from schema.context import Info

# Fields every representation carries, summary or not.
ALWAYS = frozenset({"id", "provider", "provider_id", "state", "provider_state"})

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _children(
    selections: Iterable[SelectedField | FragmentSpread | InlineFragment], name: str
) -> list[SelectedField | FragmentSpread | InlineFragment]:
    found: list[SelectedField | FragmentSpread | InlineFragment] = []
    for s in selections:
        if isinstance(s, SelectedField):
            if s.name == name:
                found.extend(s.selections)
        else:
            found.extend(_children(s.selections, name))
    return found


def _names(
    selections: Iterable[SelectedField | FragmentSpread | InlineFragment],
) -> set[str]:
    names: set[str] = set()
    for s in selections:
        if isinstance(s, SelectedField):
            if not s.name.startswith("__"):
                names.add(_snake(s.name))
        else:
            names |= _names(s.selections)
    return names


def selected_fields(info: Info, path: Sequence[str] = ()) -> frozenset[str]:
    """Domain names of the fields selected under ``path`` of the current field."""
    selections: list[SelectedField | FragmentSpread | InlineFragment] = []
    for field in info.selected_fields:
        selections.extend(field.selections)
    for name in path:
        selections = _children(selections, name)
    return frozenset(_names(selections))


def needs_detail(selected: frozenset[str], carried: frozenset[str]) -> bool:
    return not (selected - ALWAYS) <= carried
