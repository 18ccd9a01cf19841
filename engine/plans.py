"""Plans, and running them: a selection's plain fields read in one loop.

A plan is made once per selection (``engine.context``) and run on every object
of that selection: ``getattr``, then what graphql-core's completion would have
done. Anything unusual raises ``Bail`` and graphql-core executes the object.

``run_plan`` interprets a plan's steps; each completion it calls (``leaf``,
``whole_object``, ``many``) carries its shape (``Leaf``, ``Whole``, ``Many``:
``shape_of``), from which ``engine.compiled`` writes the same plan as one
generated function (``Plan.render``), which the engine runs instead.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import GraphQLEnumType
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Undefined, is_iterable

from caching import Cache, bounds


class Step(NamedTuple):
    """How one plain field of a plan is read (run as a plain tuple: see
    ``run_plan``)."""

    response_name: str
    # The attribute read off the object; None for ``__typename``.
    attribute: str | None
    # Completes a non-null value as graphql-core would; None for __typename.
    complete: Callable[[Any], Any] | None
    non_null: bool
    # The type's name, answered for ``__typename`` (otherwise empty).
    typename: str


class Plan(NamedTuple):
    """A selection set's plan on one object type."""

    # The plain fields, read in one loop.
    steps: tuple[Step, ...]
    # The fields graphql-core executes (None: there are none).
    executed: GroupedFieldSet | None
    # Every response name, in the order of the selection.
    order: tuple[str, ...]
    # The attributes the fields answered at hand read (``at_hand``), each of
    # which must not be None for the steps to run.
    needed: tuple[str, ...]
    # What ``run_plan(steps, source)`` answers, as a function of the source
    # (the steps compiled: ``engine.compiled``); None: ``run_plan`` itself.
    render: Callable[[Any], dict[str, Any]] | None


class Bail(Exception):
    """Leave this object to graphql-core."""


class NotAtHand(Bail):
    """A field answered at hand is not, on this object: plan it without."""


_ENUMS: dict[int, tuple[GraphQLEnumType, Callable[[Any], Any]]] = {}


def enum_coercion(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """The enum's coercion, with its Python members' names looked up in a table.

    Strawberry's enum type finds a member's name by comparing it with every
    value; the table holds what that comparison finds, for every member.
    """
    known = _ENUMS.get(id(enum_type))
    if known is not None:
        return known[1]
    coerce = enum_type.coerce_output_value
    wrapped = getattr(enum_type, "wrapped_cls", None)
    if not isinstance(wrapped, type) or not issubclass(wrapped, enum.Enum):
        return coerce
    # By the members' identities: hashing a member runs ``Enum.__hash__``
    # (Python code); the members live as long as their class, so no other
    # object has their ids.
    table = {id(member): coerce(member) for member in wrapped}

    def coerced(value: Any) -> Any:
        name = table.get(id(value)) if isinstance(value, wrapped) else None
        return coerce(value) if name is None else name

    coerced.members = (wrapped, table)  # type: ignore[attr-defined]  # see Leaf
    _ENUMS[id(enum_type)] = (enum_type, coerced)
    return coerced


def attempt(complete: Callable[[Any], Any] | None, value: Any) -> Any:
    """``complete(value)``, or None when there is none or it gave up."""
    if complete is None:
        return None
    try:
        return complete(value)
    except Exception:
        return None


def merged(
    order: tuple[str, ...],
    plain: dict[str, Any],
    rest: Any,
    is_awaitable: Callable[[Any], bool],
) -> Any:
    """The object's result: its plain fields and those graphql-core executed,
    in the order of the selection."""
    if is_awaitable(rest):

        async def later() -> dict[str, Any]:
            return _ordered(order, plain, await rest)

        return later()
    return _ordered(order, plain, rest)


def _ordered(
    order: tuple[str, ...], plain: dict[str, Any], rest: dict[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in order:
        if name in plain:
            result[name] = plain[name]
        elif name in rest:  # graphql-core leaves out a field it does not know
            result[name] = rest[name]
    return result


# Types whose objects are never modified once made (the schema objects made for
# immutable records and shared between requests, ``engine.presented.
# Presented``): what a plan reads from one of them is the same every time, so
# it is kept, by the identities of the plan and the object (the entry holds
# both: no id is reused while it is kept). The result is only ever read.
# A type may name a boolean attribute (``kept_if``): only its objects whose
# attribute is true are kept (the others are made per request: nothing would
# come again to read what was kept).
_IMMUTABLE: dict[type, str | None] = {}
_Rendered = tuple[tuple[Step, ...], object, dict[str, Any]]


def _weigh(key: object, entry: _Rendered) -> int:
    return bounds.RENDERED_ENTRY_BYTES + bounds.RENDERED_FIELD_BYTES * len(entry[2])


_RENDERED: Cache[tuple[int, int], _Rendered] = Cache(
    bounds.RENDERED_MAX_BYTES, _weigh, name="rendered"
)


def immutable(cls: type, *, kept_if: str | None = None) -> type:
    """Declare that objects of ``cls`` are never modified once made; with
    ``kept_if``, what is read from one is kept only when that attribute of it
    is true (an object made for a single request is not worth keeping)."""
    _IMMUTABLE[cls] = kept_if
    return cls


def rendered(
    steps: tuple[Step, ...],
    source: Any,
    render: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``run_plan`` (or ``render``, the steps compiled), kept for objects that
    never change."""
    cls = type(source)
    if cls not in _IMMUTABLE:
        return run_plan(steps, source) if render is None else render(source)
    kept_if = _IMMUTABLE[cls]
    if kept_if is not None and not getattr(source, kept_if):
        return run_plan(steps, source) if render is None else render(source)
    key = (id(steps), id(source))
    found = _RENDERED.get(key)
    if found is not None and found[0] is steps and found[1] is source:
        return found[2]
    # raised: nothing kept
    result = run_plan(steps, source) if render is None else render(source)
    _RENDERED.put(key, (steps, source, result))
    return result


def run_plan(steps: tuple[Step, ...], source: Any) -> dict[str, Any]:
    """The plain fields' results; raises to let graphql-core execute the object
    instead."""
    result: dict[str, Any] = {}
    for response_name, attribute, complete, non_null, typename in steps:
        if attribute is None:
            result[response_name] = typename
            continue
        value = getattr(source, attribute)
        if value is None:
            if non_null:
                raise Bail
            result[response_name] = None
        elif type(value) is str and complete.__code__ is _TEXT:  # type: ignore[union-attr]
            result[response_name] = value  # what ``text`` answers, without a call
        else:
            result[response_name] = complete(value)  # type: ignore[misc]
    return result


class Leaf(NamedTuple):
    """A leaf's completion: ``coerce``, checked; ``own``: the Python type whose
    values are their own coercion (str for String and ID, bool for Boolean,
    int for Int within its 32 bits), if any; ``members``: for an enum's
    coercion (``enum_coercion``), its Python enum and the table of its
    members' names by their ids."""

    coerce: Callable[[Any], Any]
    own: type | None
    members: tuple[type, dict[int, Any]] | None = None


class Whole(NamedTuple):
    """An object's completion: its plan's steps (and ``render``, them compiled,
    when the plan is), the attributes at hand it needs, its ``is_type_of``."""

    steps: tuple[Step, ...]
    needed: tuple[str, ...]
    is_type_of: Callable[[Any, Any], Any] | None
    render: Callable[[Any], dict[str, Any]] | None


class Many(NamedTuple):
    """A list's completion: its item's, and whether an item may be null."""

    item: Callable[[Any], Any]
    item_non_null: bool


Shape = Leaf | Whole | Many


def shape_of(complete: Callable[[Any], Any]) -> Shape | None:
    """What a completion made here does (None: a completion made elsewhere)."""
    shape = getattr(complete, "shape", None)
    return shape if isinstance(shape, Leaf | Whole | Many) else None


def _shaped(complete: Callable[[Any], Any], shape: Shape) -> Callable[[Any], Any]:
    complete.shape = shape  # type: ignore[attr-defined]
    return complete


def leaf(coerce: Callable[[Any], Any], *, own: type | None) -> Callable[[Any], Any]:
    def leaf(value: Any) -> Any:
        if isinstance(value, Exception):
            raise Bail  # graphql-core raises a returned exception
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Bail
        return coerced

    shape = Leaf(coerce, own, getattr(coerce, "members", None))
    if own is not str:
        return _shaped(leaf, shape)

    def text(value: Any) -> Any:  # String or ID: a str is its own coercion
        return value if type(value) is str else leaf(value)

    return _shaped(text, shape)


# The code of every ``text`` completion (``run_plan`` answers a str itself).
_TEXT = leaf(str, own=str).__code__


def run(plan: Plan | None, source: Any) -> dict[str, Any] | None:
    """The plain fields' results of ``plan`` on ``source`` (None: no plan)."""
    if plan is None:
        return None
    return _rendered_at_hand(plan.steps, plan.needed, source, plan.render)


def _rendered_at_hand(
    steps: tuple[Step, ...],
    needed: tuple[str, ...],
    source: Any,
    render: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``rendered``, once every attribute the steps read at hand is there;
    raises ``NotAtHand`` when one is None."""
    for attribute in needed:
        if getattr(source, attribute) is None:
            raise NotAtHand
    return rendered(steps, source, render)


def whole_object(
    plan: tuple[Step, ...],
    needed: tuple[str, ...],
    is_type_of: Callable[[Any, Any], Any] | None,
    render: Callable[[Any], dict[str, Any]] | None = None,
) -> Callable[[Any], Any]:
    """An object's completion: its plan run by ``render`` (the plan compiled),
    or interpreted (``run_plan``) when there is none."""

    def obj(value: Any) -> Any:
        if isinstance(value, Exception):
            raise Bail
        if is_type_of is not None and is_type_of(value, None) is not True:
            raise Bail
        return _rendered_at_hand(plan, needed, value, render)

    return _shaped(obj, Whole(plan, needed, is_type_of, render))


def many(item: Callable[[Any], Any], *, item_non_null: bool) -> Callable[[Any], Any]:
    def many(value: Any) -> Any:
        if not is_iterable(value):
            raise Bail  # graphql-core's own error for a non-list
        items: list[Any] = []
        for one in value:
            if one is None:
                if item_non_null:
                    raise Bail
                items.append(None)
            else:
                items.append(item(one))
        return items

    return _shaped(many, Many(item, item_non_null))
