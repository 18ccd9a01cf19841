"""Ask only for what the query selects.

A provider's list summary often holds every field a page needs; the detail call per
item is made only when the selection reaches beyond the summary's ``fields``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import selection
from engine.internals import raw_info
from schema.context import Info

# Fields every representation carries, summary or not.
ALWAYS = frozenset({"id", "provider", "provider_id", "state", "provider_state"})


def selected_fields(info: Info, path: Sequence[str] = ()) -> frozenset[str]:
    """Python names of the fields selected under ``path`` of the current field
    (``engine.selection``)."""
    return selection.selected_fields(raw_info(info), path)


def beyond_always(selected: frozenset[str]) -> frozenset[str]:
    """The selected fields a representation may lack (computed once a page)."""
    return selected - ALWAYS


def needs_detail(selected: frozenset[str], carried: frozenset[str]) -> bool:
    return not beyond_always(selected) <= carried
