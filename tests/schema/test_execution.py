"""Leaf selection sets built in one loop answer exactly as graphql-core would."""

from __future__ import annotations

import enum
import gc
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor

from caching import Cache
from caching.bounds import RENDERED_ENTRY_BYTES, RENDERED_FIELD_BYTES
from engine.context import GatewayExecutionContext
from engine.fields import at_hand
from engine.plans import immutable
from schema.api import build_schema
from schema.limits import QueryLimits
from schema.pipeline import Documents, Pipeline
from tests.engine.renders import count_renders


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    DEEP_BLUE = "deep-blue"


class Exploding:
    @property
    def text(self) -> str:
        raise RuntimeError("boom")


@strawberry.type
class Tag:
    label: str
    colour: Colour | None = None


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    ratio: float
    ok: bool
    colour: Colour
    at: datetime
    maybe: str | None
    must: str  # some items break this promise: None
    tags: list[Tag] = strawberry.field(default_factory=list)
    colours: list[Colour] = strawberry.field(default_factory=list)
    loose_tags: list[Tag | None] | None = None
    parent: Tag | None = None
    handy: strawberry.Private[list[Tag] | None] = None  # even items have it

    @strawberry.field
    @at_hand("handy")
    def kept(self) -> list[Tag]:
        if self.handy is not None:
            return self.handy
        return [Tag(label=f"made for {self.name}")]

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def nick(self) -> str:
        return self.name[:3]

    @strawberry.field
    def fails(self) -> str:
        raise ValueError("no")


@strawberry.type
class Page:
    items: list[Item]
    total: int


@strawberry.type
class Broken:
    text: str


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [_item(i) for i in range(5)]

    @strawberry.field
    def item(self, index: int) -> Item | None:
        return _item(index)

    @strawberry.field
    async def later(self) -> Item:
        return _item(2)

    @strawberry.field
    def page(self, odd: bool = False) -> Page:
        items = [_item(i) for i in range(4)]
        if odd:
            items[1].tags.append(None)  # type: ignore[arg-type]
            items[2].parent = items[0]  # type: ignore[assignment]
            items[3].colours = "RED"  # type: ignore[assignment]
        return Page(items=items, total=len(items))

    @strawberry.field
    def broken(self) -> Broken:
        return Exploding()  # type: ignore[return-value]

    @strawberry.field
    def handy(self) -> Page:
        items = [_item(i) for i in (0, 2, 4)]
        return Page(items=items, total=len(items))

    @strawberry.field
    def odd(self) -> list[Item]:
        return _odd()

    @strawberry.field
    def loose(self) -> list[Item | None]:
        return list(_odd())


def _odd() -> list[Item]:
    items = [_item(0), _item(1)]
    items[1].must = None  # type: ignore[assignment]
    items[0].colour = "not a colour"  # type: ignore[assignment]
    return items


def _item(i: int) -> Item:
    return Item(
        id=strawberry.ID(f"i{i}"),
        name=f"item {i}",
        count=i,
        ratio=i / 3,
        ok=i % 2 == 0,
        colour=Colour.RED if i % 2 else Colour.DEEP_BLUE,
        at=datetime(2026, 11, 23, 8, i, tzinfo=UTC),
        maybe=None if i % 2 else f"m{i}",
        must="yes",
        tags=[Tag(label=f"t{i}.{j}", colour=Colour.RED) for j in range(i)],
        colours=[Colour.RED, Colour.DEEP_BLUE][: i % 3],
        loose_tags=None if i % 2 else [None, Tag(label="x")],
        parent=Tag(label="p") if i % 2 else None,
        handy=None if i % 2 else [Tag(label=f"h{i}", colour=Colour.RED)],
    )


SKIP = (
    "query($s: Boolean!) { items { id name @skip(if: $s) n: count @include(if: $s) }}"
)
QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        "{ items { id name count ratio ok colour at maybe must __typename } }",
        {},
    ),
    ("{ items { a: name b: name name count } }", {}),
    ("{ items { ...F } } fragment F on Item { id colour ... on Item { at } }", {}),
    (SKIP, {"s": True}),
    (SKIP, {"s": False}),
    ("{ items { id shout } }", {}),
    # plain fields and resolvers side by side, in the selection's order
    ("{ items { nick id tags { label } shout n: count nick2: nick } }", {}),
    ("{ loose { id fails must } }", {}),
    ("{ items { id fails } }", {}),
    ("{ odd { nick id must } }", {}),
    ("{ page { items { __typename at shout parent { label } } } }", {}),
    ("{ item(index: 3) { id maybe } }", {}),
    ("{ later { id shout tags { label } } }", {}),
    ("{ broken { text } }", {}),
    ("{ odd { id colour must } }", {}),
    ("{ odd { id must } items { id } }", {}),
    ("{ loose { id colour must } items { id } }", {}),
    (
        "{ page { total items { id tags { label colour } colours "
        "loose_: looseTags { label } parent { __typename label } } } }",
        {},
    ),
    (
        "{ page(odd: true) { total items { id tags { label } colours "
        "parent { label } } } }",
        {},
    ),
    ("{ page(odd: true) { items { id } } b: page { items { parent { label } } } }", {}),
    # answered at hand (even items) or by the resolver (odd ones)
    ("{ items { id kept { label } } }", {}),
    ("{ page { total items { kept { label colour } id nick } } }", {}),
    ("{ handy { items { id kept { label } } } page { items { kept { label } } } }", {}),
    ("{ odd { kept { label } must } }", {}),
]


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    ours = strawberry.Schema(Query, execution_context_class=GatewayExecutionContext)
    stock = strawberry.Schema(Query)
    return ours, stock


def _shape(result: Any) -> tuple[Any, list[tuple[str, Any, Any]]]:
    errors = [(e.message, e.path, e.locations) for e in result.errors or []]
    return result.data, errors


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_the_same_answer_as_graphql_core(
    query: str, variables: dict[str, Any]
) -> None:
    ours, stock = _schemas()
    mine = await ours.execute(query, variable_values=variables)
    theirs = await stock.execute(query, variable_values=variables)
    assert _shape(mine) == _shape(theirs)


async def test_errors_still_reach_the_client_with_their_paths() -> None:
    ours, _ = _schemas()
    result = await ours.execute("{ odd { id colour must } }")
    assert result.data is None  # `odd` is non-null: the null propagates to the root
    assert [e.path for e in result.errors or []] == [["odd", 0, "colour"]]
    result = await ours.execute("{ loose { id colour must } }")
    assert result.data == {"loose": [None, None]}
    paths = sorted(tuple(e.path or ()) for e in result.errors or [])
    assert paths == [("loose", 0, "colour"), ("loose", 1, "must")]


def _counting(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The name of the type each call of graphql-core's ``method`` is given."""
    seen: list[str] = []
    real = getattr(Executor, method)

    def counting(self: Any, type_: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(type_.name)
        return real(self, type_, *args, **kwargs)

    monkeypatch.setattr(Executor, method, counting)
    return seen


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parent type of every field graphql-core executes itself."""
    return _counting(monkeypatch, "execute_field")


async def test_leaf_objects_skip_per_field_execution(executed: list[str]) -> None:
    ours, stock = _schemas()
    query = "{ items { id name count ratio ok colour at maybe must } }"
    await stock.execute(query)
    assert executed.count("Item") == 5 * 9
    executed.clear()
    result = await ours.execute(query)
    assert result.errors is None
    assert executed == ["Query"]  # only `items`: each Item built in one loop
    executed.clear()
    # A resolver: graphql-core executes it, and only it.
    result = await ours.execute("{ items { id shout } }")
    assert result.data is not None
    assert result.data["items"][1] == {"id": "i1", "shout": "ITEM 1"}
    assert executed.count("Item") == 5 * 1


async def test_nested_plain_objects_and_lists_are_built_in_one_loop(
    executed: list[str],
) -> None:
    ours, _ = _schemas()
    query = (
        "{ page { total items { id tags { label colour } colours parent { label } } } }"
    )
    result = await ours.execute(query)
    assert result.errors is None
    assert result.data is not None
    assert result.data["page"]["items"][3]["tags"][2] == {
        "label": "t3.2",
        "colour": "RED",
    }
    assert executed == ["Query"]
    executed.clear()
    # A null inside a non-null list: the page falls back, the error has its path.
    odd = await ours.execute("{ page(odd: true) { items { id tags { label } } } }")
    assert [e.path for e in odd.errors or []] == [["page", "items", 1, "tags", 1]]
    assert "Item" in executed


async def test_the_gateway_schema_uses_it() -> None:
    assert build_schema().execution_context_class is GatewayExecutionContext


async def test_plans_are_made_once_per_query_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    real = GatewayExecutionContext._make_plan

    def counting(self: Any, parent_type: Any, fields: Any, at_hand: bool) -> Any:
        made.append(parent_type.name)
        return real(self, parent_type, fields, at_hand)

    monkeypatch.setattr(GatewayExecutionContext, "_make_plan", counting)
    documents = Documents(QueryLimits(), introspection=True)  # parsed once per text
    ours = strawberry.Schema(
        Query,
        execution_context_class=GatewayExecutionContext,
        extensions=[lambda: Pipeline(documents)],
    )
    plain = "{ page { total items { id tags { label } } } }"
    for _ in range(3):
        assert (await ours.execute(plain)).errors is None
    assert made == ["Query", "Page", "Item", "Tag"]
    made.clear()
    # With a directive, what is selected depends on the variables: per request.
    varying = (
        "query($t: Boolean!) { page { items { id tags @include(if: $t) { label } } } }"
    )
    for t in (True, False):
        assert (await ours.execute(varying, variable_values={"t": t})).errors is None
    assert made.count("Page") == 2


async def test_a_nested_include_follows_its_variable_on_every_request() -> None:
    ours, stock = _schemas()
    query = (
        "query($t: Boolean!) { page { items { id tags @include(if: $t) { label } } } }"
    )
    for t in (True, False, True):
        mine = await ours.execute(query, variable_values={"t": t})
        theirs = await stock.execute(query, variable_values={"t": t})
        assert _shape(mine) == _shape(theirs)
        assert mine.data is not None
        assert ("tags" in mine.data["page"]["items"][0]) is t


def _with_pipeline(
    execution_context_class: type[Executor] | None = None,
) -> strawberry.Schema:
    """A schema that parses and validates a query text once, as the gateway's."""
    return _with_pipeline_for(Query, execution_context_class)


def _with_pipeline_for(
    query: type,
    execution_context_class: type[Executor] | None = GatewayExecutionContext,
) -> strawberry.Schema:
    documents = Documents(QueryLimits(), introspection=True)
    return strawberry.Schema(
        query,
        execution_context_class=execution_context_class,
        extensions=[lambda: Pipeline(documents)],
    )


async def _cyclic_garbage(schema: strawberry.Schema, query: str) -> int:
    """Objects that only the cyclic collector could free, left by one execution.

    The collector counts the whole process's garbage, and other threads of the
    test session (the fault proxy's server, say) may leave some in the same
    window; the least of three executions is this execution's own (a cycle the
    executor makes, it makes every time)."""
    await schema.execute(query)  # parsed, validated, planned: kept on purpose
    counts = []
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            result = await schema.execute(query)
            assert result.errors is None
            del result
            counts.append(gc.collect())
        finally:
            gc.enable()
    return min(counts)


@pytest.mark.parametrize(
    "query",
    [
        "{ items { id tags { label } } }",
        "{ later { id shout tags { label } } }",  # an awaited result
        "{ page { total items { id shout } } }",
    ],
)
async def test_a_finished_operation_leaves_no_reference_cycle(query: str) -> None:
    # Requests that outlive the young generations under load would otherwise
    # pile up in the oldest one, and its collection pauses the whole process.
    assert await _cyclic_garbage(_with_pipeline(GatewayExecutionContext), query) == 0
    # The control: graphql-core's own executor is left in a cycle.
    assert await _cyclic_garbage(_with_pipeline(), query) > 0


@strawberry.type
class Fixed:
    name: str
    colour: Colour
    tags: list[Tag]


immutable(Fixed)
FIXED = [
    Fixed(name=f"f{i}", colour=Colour.RED, tags=[Tag(label="t")]) for i in range(3)
]


@strawberry.type
class FixedQuery:
    @strawberry.field
    def fixed(self) -> list[Fixed]:
        return FIXED

    @strawberry.field
    def loose(self) -> list[Tag]:
        return [Tag(label="fresh")]


async def test_what_is_read_from_an_unchanging_object_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []
    count_renders(monkeypatch, lambda steps, source: runs.append(type(source).__name__))
    schema = _with_pipeline_for(FixedQuery)
    query = "{ fixed { name colour tags { label } } loose { label } }"
    first = await schema.execute(query)
    again = await schema.execute(query)
    assert first.errors is None and again.errors is None
    assert first.data == again.data
    assert first.data is not None and again.data is not None
    assert first.data["fixed"][2] == {
        "name": "f2",
        "colour": "RED",
        "tags": [{"label": "t"}],
    }
    # Each Fixed object read once; a Tag made per request every time.
    assert runs.count("Fixed") == 3
    assert runs.count("Tag") >= 2
    assert all(
        a is b for a, b in zip(first.data["fixed"], again.data["fixed"], strict=True)
    )
    # Another selection of the same objects is another plan: read again.
    other = await schema.execute("{ fixed { name } }")
    assert other.data == {"fixed": [{"name": "f0"}, {"name": "f1"}, {"name": "f2"}]}
    assert runs.count("Fixed") == 6


def test_what_is_kept_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import plans as execution

    # Room for two results of one field each, by their weight.
    room = 2 * (RENDERED_ENTRY_BYTES + RENDERED_FIELD_BYTES)
    monkeypatch.setattr(execution, "_RENDERED", Cache(room, execution._weigh))
    steps = (execution.Step("name", "name", lambda v: v, True, ""),)
    objects = [Fixed(name=str(i), colour=Colour.RED, tags=[]) for i in range(3)]
    results = [execution.rendered(steps, o) for o in objects]
    assert len(execution._RENDERED) == 2
    assert execution.rendered(steps, objects[2]) is results[2]
    assert execution.rendered(steps, objects[0]) is not results[0]  # the oldest went


async def test_a_list_a_resolver_returns_is_built_in_one_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    completed = _counting(monkeypatch, "complete_object_value")
    ours, stock = _schemas()
    plain = "{ items { id name tags { label } } }"
    mine, theirs = await ours.execute(plain), await stock.execute(plain)
    assert _shape(mine) == _shape(theirs)
    assert completed.count("Item") == 5  # stock's own, one per item
    completed.clear()
    await ours.execute(plain)
    assert completed == []  # ours: the list built in one loop
    # Items with a resolver of their own are completed one by one, as before.
    await ours.execute("{ items { id shout } }")
    assert completed.count("Item") == 5


async def test_fields_at_hand_are_read_like_plain_ones(executed: list[str]) -> None:
    ours, _ = _schemas()
    query = "{ handy { total items { id kept { label } } } }"
    result = await ours.execute(query)
    assert result.errors is None
    assert result.data is not None
    assert [i["kept"] for i in result.data["handy"]["items"]] == [
        [{"label": "h0"}],
        [{"label": "h2"}],
        [{"label": "h4"}],
    ]
    assert executed == ["Query"]  # the whole page in one loop, no resolver run


async def test_where_a_field_is_not_at_hand_only_it_is_executed(
    executed: list[str],
) -> None:
    ours, _ = _schemas()
    result = await ours.execute("{ page { items { id kept { label } } } }")
    assert result.errors is None
    assert result.data is not None
    kept = [i["kept"][0]["label"] for i in result.data["page"]["items"]]
    assert kept == ["h0", "made for item 1", "h2", "made for item 3"]
    # The page's items by graphql-core (one of them lacks it); then only the
    # odd items' `kept`: every other field is still read in the loop.
    assert executed == ["Query", "Page", "Item", "Item"]
