"""``docs/adding-a-field.md`` followed once, on a test-only ``Application``.

``Regional`` is the real record with two fields added as the guide says:
``region``, a plain field declared once on the record (``shown``), and
``headline``, a computed resolver on the type. Its GraphQL type is derived from
the record (``shows``) as the real ``Application``'s is. The guard
(``engine.survey``, as in ``test_fast_path_guard``) sees ``region`` as direct at
once, and reports ``headline`` until it is listed; the engine answers both
exactly as stock graphql-core execution does, reading ``region`` in its loop.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from adapters import model
from adapters.declaring import shown
from engine.context import GatewayExecutionContext
from engine.fields import DECLARED, at_hand
from engine.survey import survey
from schema.types.application import TYPES
from schema.types.node import Node
from schema.types.presenting import presenter, shows
from tests.engine.renders import count_renders
from tests.schema.test_fast_path_guard import NOT_DIRECT, not_direct


# Step 1, a plain field: declared once, on the record.
@dataclasses.dataclass(frozen=True)
class RegionalRecord(model.Application):
    region: Annotated[str | None, shown("Where the account is opened.")] = None


@strawberry.type(name="Application")
@shows(RegionalRecord, TYPES)
class Regional(Node):
    domain: strawberry.Private[RegionalRecord]
    listed_documents: strawberry.Private[list[Any] | None]

    # The record declares it resolver=True: the type gives the resolver.
    @at_hand("listed_documents")
    def documents(self) -> list[Any]:
        return self.listed_documents or []

    # Step 2, a computed field: runs per object, through graphql-core.
    @strawberry.field(description="Name and state, for a list row.")
    def headline(self) -> str:
        return f"{self.domain.name} ({self.domain.state.name})"


# The derived values, as the real type gives them (schema.types.application).
_make = presenter(
    Regional,
    id=lambda r: strawberry.ID(r.key),
    available_actions=lambda r: [],
    domain=lambda r: r,
    listed_documents=lambda r: [],
)


def _regional(key: str, region: str | None) -> Regional:
    return _make(
        RegionalRecord(
            provider=model.Provider.APITURE,
            key=key,
            provider_id=key,
            state=model.State.RUNNING,
            provider_state="running",
            name=f"Account {key}",
            region=region,
        )
    )


ROWS = [_regional("r1", "EU"), _regional("r2", None)]


@strawberry.type
class Query:
    @strawberry.field
    def applications(self) -> list[Regional]:
        return ROWS


def _schema(context: type[Any] = GatewayExecutionContext) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=context)


def test_the_record_declares_the_field_once_and_the_type_shows_it() -> None:
    sdl = _schema().as_str()
    assert '"""Where the account is opened."""\n  region: String\n' in sdl
    definition = Regional.__strawberry_definition__  # type: ignore[attr-defined]
    declared = {f.python_name: f.metadata.get(DECLARED) for f in definition.fields}
    assert declared["region"] == declared["provider_id"] == "direct"
    assert declared["documents"] == "resolver"
    assert declared["headline"] is None  # the type's own resolver


def test_the_plain_field_is_direct_and_the_computed_one_is_reported() -> None:
    found = survey(_schema()._schema)
    assert found["Application"]["region"] == "direct"
    # The guard as it stands fails, naming only the computed field ...
    added = set(not_direct(found).items()) - set(NOT_DIRECT.items())
    assert added == {(("Application", "headline"), "resolver")}
    # ... until the author lists it, as the guide says.
    declared = {**NOT_DIRECT, ("Application", "headline"): "resolver"}
    assert {
        key: kind for key, kind in declared.items() if key[0] in found
    } == not_direct(found)


async def test_both_answer_as_stock_execution_and_region_is_read_in_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    query = "{ applications { providerId region headline } }"
    stock = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    read: list[tuple[str, ...]] = []
    count_renders(
        monkeypatch,
        lambda steps, source: read.append(tuple(s.response_name for s in steps)),
    )
    fast = await _schema().execute(query)
    assert fast.errors is None and stock.errors is None
    assert (
        fast.data
        == stock.data
        == {
            "applications": [
                {
                    "providerId": "r1",
                    "region": "EU",
                    "headline": "Account r1 (RUNNING)",
                },
                {
                    "providerId": "r2",
                    "region": None,
                    "headline": "Account r2 (RUNNING)",
                },
            ]
        }
    )
    # The plain fields of each object read in the engine's loop, the computed
    # one left to graphql-core beside them.
    assert read == [("providerId", "region"), ("providerId", "region")]
