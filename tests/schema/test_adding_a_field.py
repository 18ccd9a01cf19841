"""``docs/adding-a-field.md`` followed once, on a test-only ``Application``.

``Regional`` is the real ``Application`` with two fields added as the guide
says: ``region``, a plain field (set where the object is made from the record),
and ``headline``, a computed resolver. The guard (``engine.survey``, as in
``test_fast_path_guard``) sees ``region`` as direct at once, and reports
``headline`` until it is listed; the engine answers both exactly as stock
graphql-core execution does, reading ``region`` in its loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from adapters import model
from engine import plans
from engine.context import GatewayExecutionContext
from engine.survey import survey
from schema.types.application import Application
from tests.schema.test_fast_path_guard import NOT_DIRECT, not_direct


@strawberry.type(name="Application")
class Regional(Application):
    # Step 2, a plain field: declared, and set where the object is made.
    region: str | None = strawberry.field(
        default=None, description="Where the account is opened."
    )

    # Step 2, a computed field: runs per object, through graphql-core.
    @strawberry.field(description="Name and state, for a list row.")
    def headline(self) -> str:
        return f"{self.name} ({self.state.name})"


def _regional(key: str, region: str | None) -> Regional:
    record = model.Application(
        provider=model.Provider.APITURE,
        key=key,
        provider_id=key,
        state=model.State.RUNNING,
        provider_state="running",
        name=f"Account {key}",
    )
    base = Application.from_domain(record)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(Application)}
    fields.pop("documents", None)  # a resolver, not a value
    return Regional(**fields, region=region)


ROWS = [_regional("r1", "EU"), _regional("r2", None)]


@strawberry.type
class Query:
    @strawberry.field
    def applications(self) -> list[Regional]:
        return ROWS


def _schema(context: type[Any] = GatewayExecutionContext) -> strawberry.Schema:
    return strawberry.Schema(query=Query, execution_context_class=context)


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
    real = plans.run_plan

    def counting(steps: Any, source: Any) -> dict[str, Any]:
        read.append(tuple(s.response_name for s in steps))
        return real(steps, source)

    monkeypatch.setattr(plans, "run_plan", counting)
    plans._RENDERED.clear()
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
