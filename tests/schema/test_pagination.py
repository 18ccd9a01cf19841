"""The merged connection walks every provider to its end, each item exactly once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import model
from adapters.errors import ValidationFailed
from schema import pagination
from schema.pagination import Source
from tests.conftest import Gateway

BASE = datetime(2024, 1, 1, tzinfo=UTC)


def fake(
    provider: model.Provider, items: list[tuple[str, datetime | None]]
) -> tuple[Source[tuple[str, datetime | None]], list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    async def fetch(offset: int, limit: int) -> model.Page[tuple[str, datetime | None]]:
        calls.append((offset, limit))
        chunk = items[offset : offset + limit]
        return model.Page(chunk, offset, len(items), offset + limit < len(items))

    return Source(provider, fetch, chunk=5), calls


async def walk(
    sources: list[Source[tuple[str, datetime | None]]], first: int
) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = await pagination.merged_slice(sources, after, first, lambda x: x[1])
        seen.extend(item[0] for item, _ in page.items)
        if page.items:
            after = page.items[-1][1].encode()
        if not page.has_next_page:
            return seen
    raise AssertionError("did not end")


@pytest.mark.parametrize("first", [1, 3, 5, 7, 20])
async def test_walking_two_providers_returns_every_item_exactly_once(
    first: int,
) -> None:
    newest_first = [(f"a{i}", BASE - timedelta(hours=i)) for i in range(23)]
    undated = [(f"c{i}", None) for i in range(11)]
    a, _ = fake(model.Provider.APITURE, newest_first)
    c, _ = fake(model.Provider.CONNECTFI, undated)
    seen = await walk([a, c], first)
    assert sorted(seen) == sorted(x for x, _ in newest_first + undated)
    assert len(seen) == len(set(seen)) == 34
    # Newest first, records without a creation time after those with one.
    assert seen[:23] == [x for x, _ in newest_first]


async def test_interleaves_by_creation_time() -> None:
    a, _ = fake(model.Provider.APITURE, [("a0", BASE), ("a1", BASE - timedelta(2))])
    c, _ = fake(model.Provider.CONNECTFI, [("c0", BASE - timedelta(1))])
    page = await pagination.merged_slice([a, c], None, 10, lambda x: x[1])
    assert [item[0] for item, _ in page.items] == ["a0", "c0", "a1"]
    assert page.total_count == 3
    assert not page.has_next_page


async def test_both_providers_are_read_in_the_same_round() -> None:
    a, a_calls = fake(model.Provider.APITURE, [(f"a{i}", BASE) for i in range(3)])
    c, c_calls = fake(model.Provider.CONNECTFI, [(f"c{i}", None) for i in range(3)])
    await pagination.merged_slice([a, c], None, 2, lambda x: x[1])
    assert a_calls == [(0, 5)]
    assert c_calls == [(0, 5)]


async def test_a_cursor_resumes_each_provider_where_it_stopped() -> None:
    a, a_calls = fake(model.Provider.APITURE, [(f"a{i}", BASE) for i in range(9)])
    page = await pagination.merged_slice([a], None, 4, lambda x: x[1])
    again = await pagination.merged_slice(
        [a], page.items[-1][1].encode(), 4, lambda x: x[1]
    )
    assert [x[0] for x, _ in again.items] == ["a4", "a5", "a6", "a7"]
    assert a_calls[-1] == (4, 5)


@pytest.mark.parametrize("providers", [1, 2])
async def test_every_cursor_is_a_cursor_of_the_offsets_after_its_item(
    providers: int,
) -> None:
    # Made with tuple.__new__ (no NamedTuple __new__ per item): still Cursors.
    a, _ = fake(model.Provider.APITURE, [(f"a{i}", BASE) for i in range(4)])
    c, _ = fake(model.Provider.CONNECTFI, [(f"c{i}", None) for i in range(2)])
    page = await pagination.merged_slice([a, c][:providers], None, 5, lambda x: x[1])
    cursors = [c for _, c in page.items]
    assert all(type(c) is pagination.Cursor for c in cursors)
    if providers == 1:
        assert cursors == [pagination.Cursor((a.provider,), (n,)) for n in range(1, 5)]
    else:
        expected = [(1, 0), (2, 0), (3, 0), (4, 0), (4, 1)]
        assert cursors == [
            pagination.Cursor((a.provider, c.provider), n) for n in expected
        ]
    assert cursors[-1].providers == cursors[-1][0]


async def test_items_refused_by_keep_are_skipped_but_consumed() -> None:
    items = [(f"a{i}", BASE - timedelta(hours=i)) for i in range(10)]
    a, _ = fake(model.Provider.APITURE, items)
    even = Source(a.provider, a.fetch, chunk=3, keep=lambda x: int(x[0][1:]) % 2 == 0)
    seen = await walk([even], 2)
    assert seen == ["a0", "a2", "a4", "a6", "a8"]


def test_a_foreign_cursor_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor("not-a-cursor")


def test_page_size_is_bounded() -> None:
    assert pagination.page_size(None) == pagination.DEFAULT_PAGE
    with pytest.raises(ValidationFailed):
        pagination.page_size(101)
    with pytest.raises(ValidationFailed):
        pagination.page_size(-1)


async def test_edge_cursors_are_encoded_only_when_selected(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[object] = []
    real = pagination.encode_cursor

    def counting(offsets: Any) -> str:
        encoded.append(offsets)
        return real(offsets)

    monkeypatch.setattr(pagination, "encode_cursor", counting)
    page = """query($c: Boolean!) { applications(first: 20) {
        edges { cursor @include(if: $c) node { id } } pageInfo { endCursor } } }"""
    without = await gateway.data(page, {"c": False})
    assert len(without["applications"]["edges"]) == 20
    assert len(encoded) == 2  # pageInfo's start and end only
    encoded.clear()
    both = await gateway.data(page, {"c": True})
    edges = both["applications"]["edges"]
    assert len(encoded) == 2 + 20
    assert edges[-1]["cursor"] == both["applications"]["pageInfo"]["endCursor"]
    assert edges[-1]["cursor"] == without["applications"]["pageInfo"]["endCursor"]


# Cursors cross the trust boundary: ``after`` is whatever the caller sends.
CURSOR_PROPERTY = settings(
    derandomize=True, max_examples=300, deadline=None, database=None
)
OFFSETS = st.dictionaries(
    st.sampled_from(list(model.Provider)), st.integers(0, 2**63), max_size=4
)


@CURSOR_PROPERTY
@given(OFFSETS)
def test_a_cursor_is_the_json_of_its_offsets_and_reads_back(
    offsets: dict[model.Provider, int],
) -> None:
    cursor = pagination.encode_cursor(offsets)
    raw = json.dumps(
        {p.name: n for p, n in sorted(offsets.items(), key=lambda x: x[0].name)}
    )
    assert base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) == raw.encode()
    assert "=" not in cursor
    assert pagination.decode_cursor(cursor) == (offsets if offsets else {})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@CURSOR_PROPERTY
@given(
    st.one_of(
        st.text(max_size=80),
        st.binary(max_size=60).map(_b64),
        st.recursive(
            st.none()
            | st.booleans()
            | st.floats()
            | st.integers()
            | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["APITURE", "MAMBU", "x", ""])
                    | st.text(max_size=5),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=6,
        ).map(lambda v: _b64(json.dumps(v).encode())),
    )
)
def test_any_after_is_a_cursor_of_ours_or_a_clear_refusal(after: str) -> None:
    try:
        offsets = pagination.decode_cursor(after)
    except ValidationFailed as exc:
        assert exc.violations[0].path == ("after",)
        return
    assert all(isinstance(p, model.Provider) for p in offsets)
    assert all(type(n) is int and n >= 0 for n in offsets.values())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"APITURE": Infinity}',  # was an OverflowError: an internal error
        b'{"APITURE": NaN}',
        b'{"APITURE": 1e400}',
        b'{"APITURE": 1.5}',
        b'{"APITURE": "3"}',
        b'{"APITURE": true}',
        b'{"APITURE": -1}',
        b'{"NOBODY": 1}',
        b"[1]",
    ],
)
def test_a_cursor_we_never_wrote_is_refused(raw: bytes) -> None:
    with pytest.raises(ValidationFailed):
        pagination.decode_cursor(_b64(raw))


async def test_an_infinite_offset_in_after_is_bad_user_input(gateway: Gateway) -> None:
    answer = await gateway.execute(
        "query($after: String) {"
        " applications(first: 2, after: $after) { totalCount } }",
        {"after": _b64(b'{"APITURE": Infinity}')},
    )
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "not a cursor" in error["message"]


def test_an_apiture_source_filters_by_date_only_when_dates_are_given() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace
    from typing import Any, cast

    from schema import listing
    from schema.types.inputs import ApplicationFilter

    ctx = cast(Any, SimpleNamespace())  # read only when a page is fetched
    (undated,) = listing.application_sources(ctx, None, 10)
    assert undated.keep is None  # every item kept, nothing called per item
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    (dated,) = listing.application_sources(
        ctx, ApplicationFilter(created_from=start, created_to=end), 10
    )
    assert dated.keep is not None
    record: Any = SimpleNamespace
    assert dated.keep(record(created_at=datetime(2024, 1, 15, tzinfo=UTC)))
    assert not dated.keep(record(created_at=datetime(2024, 3, 1, tzinfo=UTC)))
    assert dated.keep(record(created_at=None))  # cannot tell: kept
