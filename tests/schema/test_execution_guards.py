"""A guarded field is never read past its guard: permissions and extensions run.

The fast path reads a field straight off its object only where Strawberry itself
would (``engine.fields.read_directly``); a field with permission classes, a
field extension, or a resolver Strawberry wraps goes through Strawberry's own
resolution, and answers exactly as stock execution does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from graphql import DirectiveLocation
from strawberry.directive import DirectiveValue
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

from engine.context import GatewayExecutionContext
from engine.fields import at_hand

SECRET = "the protected value"
guarded: list[str] = []  # every guard that ran: "permission", "extension"


class Deny(BasePermission):
    message = "not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        guarded.append("permission")
        return False


class Masked(FieldExtension):
    """Replaces whatever the field answers."""

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kw: Any
    ) -> Any:
        guarded.append("extension")
        value = next_(source, info, **kw)
        return "masked" if value is not None else None


class Doubling(StrawberryField):
    """A field class of its own, answering something other than the attribute."""

    def get_result(self, source: Any, info: Any, args: list[Any], kwargs: Any) -> Any:
        return f"{getattr(source, self.python_name)} twice"


@strawberry.type
class Tag:
    label: str


@strawberry.type
class Vault:
    name: str
    secret: str | None = strawberry.field(default=SECRET, permission_classes=[Deny])
    must: str = strawberry.field(default=SECRET, permission_classes=[Deny])
    masked: str = strawberry.field(default=SECRET, extensions=[Masked()])
    doubled: str = Doubling(default="one")  # type: ignore[assignment]
    tags: list[Tag] | None = strawberry.field(default=None, permission_classes=[Deny])
    handy: strawberry.Private[list[Tag] | None] = None

    @strawberry.field(permission_classes=[Deny])
    @at_hand("handy")
    def kept(self) -> list[Tag] | None:
        return self.handy

    @strawberry.field(extensions=[Masked()])
    @at_hand("handy")
    def kept_label(self) -> str | None:
        return self.handy[0].label if self.handy else None


def _vaults() -> list[Vault]:
    return [
        Vault(name=f"v{i}", tags=[Tag(label=SECRET)], handy=[Tag(label=SECRET)])
        for i in range(3)
    ]


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def shout(value: DirectiveValue[str]) -> str:
    return value.upper()


@strawberry.type
class Query:
    @strawberry.field
    def vaults(self) -> list[Vault]:
        return _vaults()


def _schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    fast = strawberry.Schema(
        Query, execution_context_class=GatewayExecutionContext, **options
    )
    return fast, strawberry.Schema(Query, **options)


def _shape(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    return result.data, [(e.message, e.path) for e in result.errors or []]


async def _both(query: str, **options: Any) -> tuple[Any, Any]:
    """The answers of the fast and the stock schema, with the guards each ran."""
    fast, stock = _schemas(**options)
    guarded.clear()
    mine = _shape(await fast.execute(query))
    mine_guarded = sorted(guarded)
    guarded.clear()
    theirs = _shape(await stock.execute(query))
    assert (mine, mine_guarded) == (theirs, sorted(guarded))
    return mine, mine_guarded


async def test_a_permission_on_a_plain_field_is_checked() -> None:
    (data, errors), ran = await _both("{ vaults { name secret } }")
    assert data == {"vaults": [{"name": f"v{i}", "secret": None} for i in range(3)]}
    assert errors == [("not for you", ["vaults", i, "secret"]) for i in range(3)]
    assert ran == ["permission"] * 3
    # A non-null field refused: the null reaches the list's nullable parent.
    (data, errors), ran = await _both("{ vaults { must name } }")
    assert data is None
    assert errors[0] == ("not for you", ["vaults", 0, "must"])
    assert "permission" in ran


async def test_a_permission_on_a_plain_object_field_is_checked() -> None:
    (data, errors), ran = await _both("{ vaults { name tags { label } } }")
    assert data == {"vaults": [{"name": f"v{i}", "tags": None} for i in range(3)]}
    assert len(errors) == 3
    assert ran == ["permission"] * 3


async def test_a_field_extension_on_a_plain_field_runs() -> None:
    (data, errors), ran = await _both("{ vaults { masked name } }")
    assert data == {"vaults": [{"masked": "masked", "name": f"v{i}"} for i in range(3)]}
    assert errors == []
    assert ran == ["extension"] * 3


async def test_a_guarded_field_is_never_read_at_hand() -> None:
    # `handy` is there on every vault, yet the guards run and decide.
    (data, errors), ran = await _both("{ vaults { name kept { label } } }")
    assert data == {"vaults": [{"name": f"v{i}", "kept": None} for i in range(3)]}
    assert len(errors) == 3
    assert ran == ["permission"] * 3
    (data, errors), ran = await _both("{ vaults { keptLabel } }")
    assert data == {"vaults": [{"keptLabel": "masked"}] * 3}
    assert ran == ["extension"] * 3


async def test_a_field_class_with_its_own_result_is_asked() -> None:
    (data, errors), _ = await _both("{ vaults { doubled } }")
    assert errors == []
    assert data == {"vaults": [{"doubled": "one twice"}] * 3}


async def test_an_operation_directive_applies() -> None:
    (data, errors), ran = await _both(
        "{ vaults { name @shout masked } }", directives=[shout]
    )
    assert errors == []
    assert ran == ["extension"] * 3
    assert data == {"vaults": [{"name": f"V{i}", "masked": "masked"} for i in range(3)]}


FIELDS = ("name", "secret", "masked", "doubled", "kept { label }", "keptLabel")


@pytest.mark.parametrize(
    "selection",
    [" ".join(c) for n in (1, 2, 3) for c in itertools.combinations(FIELDS, n)],
)
async def test_every_mix_of_guarded_and_plain_fields_answers_as_stock(
    selection: str,
) -> None:
    (data, _), ran = await _both(f"{{ vaults {{ {selection} }} }}")
    assert data is not None
    assert SECRET not in repr(data)
    guards = selection.count("secret") + selection.count("kept {")
    assert ran.count("permission") == 3 * guards
