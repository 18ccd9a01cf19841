"""A value goes into an upstream path as exactly one percent-encoded segment,
whatever it holds; a route remembers its template."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.transport.paths import Route, UnsafeSegment, route, segment

ANY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(part=ANY_TEXT | st.from_regex(r"[A-Za-z0-9_.~-]{1,12}", fullmatch=True))
def test_a_segment_is_quote_with_nothing_safe(part: str) -> None:
    if part in ("", ".", ".."):
        with pytest.raises(UnsafeSegment):
            segment(part)
        return
    encoded = segment(part)
    assert encoded == quote(part, safe="")
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert unquote(encoded) == part


@settings(max_examples=200, derandomize=True, deadline=None)
@given(first=ANY_TEXT, second=ANY_TEXT)
def test_a_route_puts_each_value_in_its_own_segment(first: str, second: str) -> None:
    template = "/api/{collection}/{holder}/documents"
    if {first, second} & {"", ".", ".."}:
        with pytest.raises(UnsafeSegment):
            route(template, collection=first, holder=second)
        return
    made = route(template, collection=first, holder=second)
    assert isinstance(made, Route) and made.template == template
    assert made.split("/") == [
        "",
        "api",
        quote(first, safe=""),
        quote(second, safe=""),
        "documents",
    ]
    # made again (the template parsed once): the same path
    assert route(template, collection=first, holder=second) == made
