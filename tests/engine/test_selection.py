"""What a query selects below a field, by the Python names the fields declare."""

from __future__ import annotations

from typing import Any

import strawberry

from engine.selection import selected_fields


@strawberry.type
class Item:
    item_id: str
    # A GraphQL name no case conversion would turn into the Python one.
    download_url: str = strawberry.field(name="downloadURL")


@strawberry.type
class Edge:
    node: Item


@strawberry.type
class Page:
    edges: list[Edge]


seen: list[frozenset[str]] = []


@strawberry.type
class Query:
    @strawberry.field
    def page(self, info: strawberry.Info) -> Page:
        seen.append(selected_fields(info._raw_info, ("edges", "node")))
        return Page(edges=[Edge(node=Item(item_id="1", download_url="u"))])


async def test_python_names_from_the_declarations_fragments_expanded() -> None:
    schema = strawberry.Schema(query=Query)
    query = """
        query { page { edges { node { __typename itemId ...More } } } }
        fragment More on Item { downloadURL }
    """
    seen.clear()
    result: Any = await schema.execute(query)
    assert result.errors is None
    assert result.data["page"]["edges"][0]["node"]["downloadURL"] == "u"
    assert seen == [frozenset({"item_id", "download_url"})]
