"""Relay-style connections: ``edges { cursor node }``, ``pageInfo``, ``totalCount``.

Every connection field answers through ``Connection.answer``: a connection is never
lost whole to a provider. The providers that failed are missing from the page (named
in ``missingProviders``), each with an error at the connection's path carrying its
``code`` and ``provider``; the other providers' items are there. Failures of the
request itself (a bad cursor, ``first`` out of range) are not providers': they fail
the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import strawberry

from schema.errors import report_partial
from schema.pagination import Cursor, Slice, read_or_failed
from schema.types.common import Provider
from schema.types.presenting import by_name, maker

if TYPE_CHECKING:
    from schema.context import Info

N = TypeVar("N")
D = TypeVar("D")


@strawberry.type(description="Where a page stands in its connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow.")
    has_previous_page: bool = strawberry.field(
        description="Items precede this page (true whenever `after` was given)."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge: pass it as `after` for the next page."
    )


def _edge_cursor(root: strawberry.Parent[Any]) -> str:
    # Encoded only when a query selects it (see pagination.Cursor).
    cursor: Cursor = root.position
    return cursor.encode()


@strawberry.type(description="One item of a connection and its cursor.")
class Edge(Generic[N]):
    position: strawberry.Private[Cursor]
    cursor: str = strawberry.field(
        resolver=_edge_cursor, description="Opaque position of this edge."
    )
    node: N = strawberry.field(description="The item.")


# Edge(position=…, node=…), one for every item of a page (presenting.maker)
_edge: Callable[[Cursor, Any], Edge[Any]] = maker(Edge, "position", "node")


@strawberry.type(description="A page of items, Relay style.")
class Connection(Generic[N]):
    edges: list[Edge[N]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Paging facts.")
    total_count: int | None = strawberry.field(
        description="Items in the whole connection, where every provider says."
    )
    missing_providers: list[Provider] = strawberry.field(
        description="Providers that failed to answer: their items are missing "
        "from this page (an error with this path says why)."
    )

    @classmethod
    def from_slice(
        cls,
        page: Slice[D],
        node: Callable[[D], N],
        missing: list[Provider] | None = None,
    ) -> Self:
        edges = [_edge(c, node(item)) for item, c in page.items]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.start_cursor is not None,
                start_cursor=edges[0].position.encode() if edges else page.start_cursor,
                end_cursor=edges[-1].position.encode() if edges else page.start_cursor,
            ),
            total_count=page.total_count,
            missing_providers=missing or [],
        )

    @classmethod
    async def answer(
        cls,
        info: Info,
        read: Awaitable[Slice[D]],
        node: Callable[[D], N],
        after: str | None,
    ) -> Self:
        """The connection of the page ``read`` answers, whatever its providers
        did: those that failed are reported at this field's path and listed in
        ``missingProviders`` (``pagination.read_or_failed``)."""
        page = await read_or_failed(read, after)
        report_partial(info, page.failures)
        missing = [by_name(Provider, p) for p in page.failures]
        return cls.from_slice(page, node, missing=missing)
