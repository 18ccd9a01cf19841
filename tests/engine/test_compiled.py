"""A plan compiled (``engine.compiled``) answers what the interpreted road
(``engine.plans.run_plan``) answers, field by field: the same results, or the
same exception (``Bail``, ``NotAtHand``, a coercion's error) for the caller to
hand the object to graphql-core."""

from __future__ import annotations

import datetime as dt
import enum
from types import SimpleNamespace
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLString,
)
from graphql.pyutils import Undefined
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import plans
from engine.compiled import compiled, compiled_whole


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


COLOUR = GraphQLEnumType("Colour", {m.name: m for m in Colour})
COLOUR.wrapped_cls = Colour  # type: ignore[attr-defined]  # as Strawberry's are


# Every kind of value a source attribute may hold, good or not for its field.
VALUES = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1]),  # Int's bounds
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.sampled_from(Colour),
    st.builds(ValueError, st.text(max_size=3)),
    st.lists(st.one_of(st.none(), st.text(max_size=3), st.integers()), max_size=3),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=3),
)


def _isoformat(value: Any) -> Any:
    return value.isoformat()  # an AttributeError for a value of the wrong type


LEAVES = {
    "String": plans.leaf(GraphQLString.coerce_output_value, own=str),
    "ID": plans.leaf(GraphQLID.coerce_output_value, own=str),
    "Int": plans.leaf(GraphQLInt.coerce_output_value, own=int),
    "Boolean": plans.leaf(GraphQLBoolean.coerce_output_value, own=bool),
    "Float": plans.leaf(GraphQLFloat.coerce_output_value, own=None),
    "DateTime": plans.leaf(_isoformat, own=None),
    "Colour": plans.leaf(plans.enum_coercion(COLOUR), own=None),
    # a coercion that answers nothing (Undefined) for some values
    "Odd": plans.leaf(lambda v: Undefined if isinstance(v, int) else v, own=None),
}


def _outcome(run: Any, source: Any) -> tuple[str, Any]:
    try:
        return "answered", run(source)
    except Exception as exc:  # what the caller would see
        return "raised", type(exc)


def _both(steps: tuple[plans.Step, ...], source: Any) -> None:
    interpreted = _outcome(lambda s: plans.run_plan(steps, s), source)
    assert _outcome(compiled(steps), source) == interpreted


FIELD = st.tuples(st.sampled_from(sorted(LEAVES)), st.booleans(), st.booleans())


@settings(max_examples=300, derandomize=True)
@given(fields=st.lists(st.tuples(FIELD, VALUES), min_size=1, max_size=6))
def test_leaves_answer_alike(fields: list[tuple[tuple[str, bool, bool], Any]]) -> None:
    steps: list[plans.Step] = [plans.Step("__typename", None, None, True, "Thing")]
    values: dict[str, Any] = {}
    for i, ((kind, non_null, listed), value) in enumerate(fields):
        complete = LEAVES[kind]
        if listed:
            complete = plans.many(complete, item_non_null=non_null)
        steps.append(plans.Step(f"f{i}", f"a{i}", complete, non_null, ""))
        values[f"a{i}"] = value
    source = SimpleNamespace(**values)
    for step in steps:  # each field alone (in a plan, the first to fail hides
        _both((step,), source)  # the others)
    _both(tuple(steps), source)


class Child:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class KeptChild(Child):
    """What is read from one is kept when its ``kept`` is true."""


plans.immutable(KeptChild, kept_if="kept")


def _is_child(value: Any, _info: Any) -> bool:
    return isinstance(value, Child)


CHILD_STEPS = (
    plans.Step("name", "name", LEAVES["String"], True, ""),
    plans.Step("count", "count", LEAVES["Int"], False, ""),
)
CHILD = st.one_of(
    st.none(),
    st.text(max_size=2),  # not a Child: is_type_of says no
    st.builds(ValueError),
    st.builds(
        Child,
        name=st.one_of(st.none(), st.text(max_size=3), st.integers()),
        count=st.one_of(st.none(), st.integers(min_value=-(2**33), max_value=2**33)),
        at_hand=st.one_of(st.none(), st.just(["x"])),
    ),
    st.builds(
        KeptChild,
        name=st.one_of(st.none(), st.text(max_size=3)),
        count=st.integers(min_value=-3, max_value=3),
        at_hand=st.just(["x"]),
        kept=st.booleans(),
    ),
)


@settings(max_examples=300, derandomize=True)
@given(
    one=CHILD,
    several=st.one_of(st.none(), st.integers(), st.lists(CHILD, max_size=3)),
    needed=st.booleans(),
    typed=st.booleans(),
    non_null=st.booleans(),
)
def test_objects_and_lists_of_them_answer_alike(
    one: Any, several: Any, needed: bool, typed: bool, non_null: bool
) -> None:
    child_needed = ("at_hand",) if needed else ()
    is_type_of = _is_child if typed else None
    interpreted = plans.whole_object(CHILD_STEPS, child_needed, is_type_of)
    compiled_child = plans.whole_object(
        CHILD_STEPS, child_needed, is_type_of, compiled(CHILD_STEPS)
    )
    source = SimpleNamespace(one=one, several=several)

    def steps(child: Any) -> tuple[plans.Step, ...]:
        return (
            plans.Step("one", "one", child, non_null, ""),
            plans.Step(
                "several",
                "several",
                plans.many(child, item_non_null=non_null),
                False,
                "",
            ),
        )

    expected = _outcome(lambda s: plans.run_plan(steps(interpreted), s), source)
    assert _outcome(compiled(steps(compiled_child)), source) == expected
    # An object's completion alone, compiled, from the same shape.
    shape = plans.shape_of(compiled_child)
    assert isinstance(shape, plans.Whole)
    assert _outcome(compiled_whole(shape), one) == _outcome(interpreted, one)


def test_an_attribute_that_is_no_identifier_is_read_too() -> None:
    steps = (plans.Step("x", "class", LEAVES["String"], True, ""),)
    source = SimpleNamespace(**{"class": "c"})
    assert compiled(steps)(source) == plans.run_plan(steps, source) == {"x": "c"}


def test_a_completion_made_elsewhere_is_called_as_it_is() -> None:
    def shout(value: Any) -> Any:
        return str(value).upper()

    steps = (plans.Step("x", "x", shout, True, ""),)
    assert compiled(steps)(SimpleNamespace(x="a")) == {"x": "A"}


def test_what_is_read_is_kept_only_from_an_object_kept() -> None:
    plans._RENDERED.clear()
    whole = compiled_whole(plans.Whole(CHILD_STEPS, (), None, None))
    made = KeptChild(name="a", count=1, kept=False)
    assert whole(made) == {"name": "a", "count": 1}
    assert len(plans._RENDERED) == 0  # made for one request: nothing kept
    kept = KeptChild(name="b", count=2, kept=True)
    assert whole(kept) is whole(kept) == {"name": "b", "count": 2}
    assert len(plans._RENDERED) == 1


@settings(max_examples=30, derandomize=True)
@given(depth=st.integers(min_value=1, max_value=16), leaf=CHILD)
def test_objects_nested_inline_or_called_answer_alike(depth: int, leaf: Any) -> None:
    # Objects inside objects are written inline, up to the depth Python's
    # compiler takes (a loop per list level), then called: alike either way.
    interpreted = plans.whole_object(CHILD_STEPS, (), _is_child)
    compiled_one = plans.whole_object(CHILD_STEPS, (), _is_child, compiled(CHILD_STEPS))
    source: Any = leaf
    for _ in range(depth):
        source = Child(name="n", count=1, inner=[source])

    def nest(child: Any, level: int, compile: bool) -> Any:
        for _ in range(level):
            steps = (
                *CHILD_STEPS,
                plans.Step(
                    "inner", "inner", plans.many(child, item_non_null=False), True, ""
                ),
            )
            child = plans.whole_object(
                steps, (), _is_child, compiled(steps) if compile else None
            )
        return child

    top_interpreted = nest(interpreted, depth, False)
    top_compiled = nest(compiled_one, depth, True)
    outer = SimpleNamespace(top=source)
    expected = _outcome(
        lambda s: plans.run_plan(
            (plans.Step("top", "top", top_interpreted, False, ""),), s
        ),
        outer,
    )
    steps = (plans.Step("top", "top", top_compiled, False, ""),)
    assert _outcome(compiled(steps), outer) == expected
