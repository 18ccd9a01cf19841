"""GraphQL types derived from the domain records' declarations, and the objects
made from records.

Each field is declared once, on the record (``adapters.model``, with
``adapters.declaring.shown``). ``shows(record, types)`` under
``@strawberry.type`` gives the type one Strawberry field per shown field, in the
record's order, before the type's own attributes: its GraphQL type derived from
the annotation (``types`` maps the record's enums and nested records to the
API's), its name and description as declared, and ``DECLARED`` in its metadata
(``"direct"``, or ``"resolver"`` for a field answered by the type's method of
that name, then nullable). ``engine.fields`` reads that metadata.

What the object is made from is derived from the same fields: the record's
attribute, converted to the field's type (``by_name`` for an enum,
``from_domain`` for a nested type, item by item for a list, None kept). A field
that is not the record's attribute as it is says so in one place, as a
``derived`` function of the record (a global id, a sorted list); a field with a
resolver is never made. So adding a plain field is one line on the record.

A ``derived`` value is a function of the record, called for every object made,
or an ``Expression`` of ``record`` written into the generated code as it is: a
call of Python code costs about a thousand instructions, and a page of 50
makes each derived field 50 times (a plain ``record``, a test of a field, a
function called only when the field is not empty).
"""

from __future__ import annotations

import dataclasses
import dis
import enum
import inspect
import re
import types as builtin_types
import typing
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import Annotated, Any, NamedTuple, Self, TypeVar

import strawberry
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.private import is_private

from adapters.declaring import Shown
from engine.fields import DECLARED
from schema import ids

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
Convert = Callable[[Any], Any]


class Expression(NamedTuple):
    """A derived field as Python source reading ``record`` (see the module),
    with the objects it names: ``Expression("f(record.x)", f=f)``."""

    text: str
    names: dict[str, Any]


def expression(text: str, **names: Any) -> Expression:
    return Expression(text, names)


def global_id(typename: str) -> Expression:
    """The record's global id (``schema.ids``) as a presenter's expression: the
    encoded text as it is (``strawberry.ID`` is a NewType, a call doing
    nothing), the provider by its name."""
    return expression(
        f"encode({typename!r}, record.provider._name_, record.key)",
        encode=ids.encode_by_name,
    )


# A field made by a presenter: its name, the expression reading it from the
# record, and the objects that expression names.
Reading = tuple[str, str, dict[str, Any]]


def by_name(target: type[E], value: enum.Enum) -> E:
    """The member of ``target`` named like ``value`` (domain ⇄ GraphQL enums).

    Looked up by the member's name in the target's own table of members: no
    hashing of an enum member (``Enum.__hash__`` is Python code) on the way."""
    return target._member_map_[value._name_]  # type: ignore[return-value]


def shows(
    record: type, types: Mapping[Any, Any], **retyped: Any
) -> Callable[[type[T]], type[T]]:
    """Under ``@strawberry.type``: the fields ``record`` declares shown (see the
    module); ``retyped`` gives a field a GraphQL type other than its record's
    (when a ``derived`` value fills it: a key standing in for a missing id)."""

    def declare(cls: type[T]) -> type[T]:
        hints = typing.get_type_hints(record, include_extras=True)
        unknown = set(retyped) - set(hints)
        if unknown:
            raise TypeError(f"{record.__name__} has no fields {sorted(unknown)}")
        made: dict[str, Any] = {}
        for field in dataclasses.fields(record):
            hint = hints[field.name]
            shown = _shown(hint)
            if shown is None:
                continue
            type_ = retyped.get(field.name) or _graphql_type(hint.__origin__, types)
            if shown.resolver:
                resolve = cls.__dict__.get(field.name)
                if not callable(resolve):
                    raise TypeError(f"{cls.__name__} has no resolver {field.name}")
                setattr(cls, field.name, _field(shown, "resolver", resolve, type_))
            else:
                made[field.name] = type_
                setattr(cls, field.name, _field(shown, "direct"))
        cls.__annotations__ = {**made, **inspect.get_annotations(cls)}
        return cls

    return declare


def _shown(hint: Any) -> Shown | None:
    if typing.get_origin(hint) is not Annotated:
        return None
    return next((m for m in hint.__metadata__ if isinstance(m, Shown)), None)


def _field(shown: Shown, kind: str, resolve: Any = None, type_: Any = None) -> Any:
    return strawberry.field(
        description=shown.description,
        name=shown.name,
        resolver=resolve,
        graphql_type=None if resolve is None else type_ | None,
        metadata={DECLARED: kind},
    )


def _graphql_type(hint: Any, types: Mapping[Any, Any]) -> Any:
    """The API's type for a record's annotation (see the module)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, builtin_types.UnionType) and type(None) in args:
        (inner,) = (a for a in args if a is not type(None))
        return _graphql_type(inner, types) | None
    if origin in (tuple, frozenset):
        return list[_graphql_type(args[0], types)]  # type: ignore[misc]
    if hint in types:
        return types[hint]
    if hint in (str, int, bool, float) or hint.__module__ == "datetime":
        return hint
    raise TypeError(f"no GraphQL type given for {hint!r}")


def presenter(cls: type[T], **derived: Convert | Expression) -> Callable[[Any], T]:
    """A function making a ``cls`` from a record (see the module).

    Generated once, at its first call (the type is complete by then): one
    call of ``cls`` with every field read from the record by an expression
    (``record.name``, ``members[record.state._name_]``, ``derive(record)``…),
    rather than a loop calling a reader per field for every record made."""
    made: list[Callable[[Any], T]] = []

    def present(record: Any) -> T:
        if not made:
            made.append(_generated(cls, _plan(cls, derived)))
        return made[0](record)

    return present


def maker(cls: type[T], *names: str) -> Callable[..., T]:
    """``cls(**dict(zip(names, values)))`` as a function of the values, in
    order, generated as a presenter is (an edge of every page is made so)."""
    made: Callable[..., T] = _generated(
        cls,
        [(name, f"value{i}", {}) for i, name in enumerate(names)],
        [f"value{i}" for i in range(len(names))],
    )
    return made


def _generated(
    cls: type[T], plan: list[Reading], parameters: list[str] | None = None
) -> Any:
    """The function ``cls(name=<expression>, …)`` of a record, from ``_plan``.

    When ``cls.__init__`` is the dataclass's own and does nothing but assign
    the fields made (``_assigns_only``), the function does those assignments
    itself, in the same order, on ``object.__new__(cls)``: what ``__init__``
    leaves, without passing twenty keyword arguments through a dict."""
    names: dict[str, Any] = {"cls": cls, "new": object.__new__}
    for _, _, needs in plan:
        names.update(needs)
    lines = [f"def make({', '.join(parameters or ['record'])}):"]
    if _assigns_only(cls, [name for name, _, _ in plan]):
        lines.append("    made = new(cls)")
        lines += [f"    made.{name} = {expression}" for name, expression, _ in plan]
        lines.append("    return made")
    else:
        arguments = ", ".join(f"{name}={expression}" for name, expression, _ in plan)
        lines.append(f"    return cls({arguments})")
    exec(compile("\n".join(lines), f"<presenter {cls.__name__}>", "exec"), names)
    return names.pop("make")  # not kept in its own globals: no reference cycle


def _assigns_only(cls: type, made: list[str]) -> bool:
    """Whether ``cls(**{name: value …})`` only assigns each of ``made`` in turn:
    a dataclass whose ``__init__`` is its own (taking exactly those fields, in
    that order), no ``__post_init__``, no field set otherwise (a default of a
    field left out of ``__init__``), no ``__setattr__`` of its own."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return False
    if cls.__setattr__ is not object.__setattr__:
        return False
    fields = dataclasses.fields(cls)
    taken = [f.name for f in fields if f.init]
    for f in fields:
        if not f.init and (
            f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING
        ):
            return False
    init = cls.__dict__.get("__init__")
    if taken != made or not isinstance(init, FunctionType):
        return False
    stored = [i.argval for i in dis.get_instructions(init) if i.opname == "STORE_ATTR"]
    return (
        init.__qualname__ == f"{cls.__qualname__}.__init__"
        and stored == made
        and init.__code__.co_names == tuple(made)  # nothing else read or called
    )


def _plan(cls: type, derived: dict[str, Convert | Expression]) -> list[Reading]:
    """Each field made, with the expression reading it from ``record`` and the
    objects that expression names."""
    plan: list[Reading] = []
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    unknown = set(derived) - {f.python_name for f in definition.fields}
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    field: StrawberryField
    for i, field in enumerate(definition.fields):
        name = field.python_name
        if name in derived:
            plan.append(_derived(name, derived[name], f"derived{i}"))
        elif field.base_resolver is not None:
            continue  # a resolver: nothing to make
        elif is_private(field.type):
            raise TypeError(f"{cls.__name__}.{name} is private: derive it")
        else:
            plan.append((name, *_reader(name, field.type, f"_{i}")))
    return plan


def _derived(name: str, derive: Convert | Expression, tag: str) -> Reading:
    if not isinstance(derive, Expression):
        return (name, f"{tag}(record)", {tag: derive})
    # The expression's names, each renamed after the field (no clash between
    # two expressions naming different objects alike).
    text = derive.text
    for named in derive.names:
        if not named.isidentifier() or named == "record":
            raise TypeError(f"{name}: cannot name {named!r} in an expression")
        text = re.sub(rf"\b{named}\b", f"{named}_{tag}", text)
    return (name, f"({text})", {f"{n}_{tag}": v for n, v in derive.names.items()})


def _reader(name: str, type_: Any, tag: str) -> tuple[str, dict[str, Any]]:
    """The record's attribute ``name`` as a value of ``type_``: the expression
    (its names end in ``tag``), read and converted without a call where the
    conversion allows (an enum, a value as it is, None kept)."""
    get = f"record.{name}" if name.isidentifier() else f"getattr(record, {name!r})"
    if isinstance(type_, StrawberryOptional):
        inner = _converter(type_.of_type)
        if inner is None:
            return get, {}
        value = f"value{tag}"
        expression = f"(None if ({value} := {get}) is None else convert{tag}({value}))"
        return expression, {f"convert{tag}": inner}
    if isinstance(type_, StrawberryEnumDefinition):
        # by_name, without a call
        return f"members{tag}[{get}._name_]", {
            f"members{tag}": type_.wrapped_cls._member_map_
        }
    convert = _converter(type_)
    if isinstance(type_, StrawberryList) and convert is not None:
        # most lists of a summary are empty: no call made for them
        value = f"value{tag}"
        expression = f"(convert{tag}({value}) if ({value} := {get}) else [])"
        return expression, {f"convert{tag}": convert}
    if convert is None:
        return get, {}
    return f"convert{tag}({get})", {f"convert{tag}": convert}


def _converter(type_: Any) -> Convert | None:
    """How a domain value becomes a value of ``type_`` (None: as it is)."""
    if isinstance(type_, StrawberryOptional):
        inner = _converter(type_.of_type)
        if inner is None:
            return None
        return lambda value: None if value is None else inner(value)
    if isinstance(type_, StrawberryList):
        item = _converter(type_.of_type)
        if item is None:
            return list
        # most lists of a summary are empty: no comprehension to run for them
        return lambda value: [item(x) for x in value] if value else []
    if isinstance(type_, StrawberryEnumDefinition):
        target: type[enum.Enum] = type_.wrapped_cls  # type: ignore[assignment]
        members = target._member_map_  # by_name, without a call
        return lambda value: members[value._name_]
    from_domain = getattr(type_, "from_domain", None)
    if callable(from_domain):
        return from_domain  # type: ignore[no-any-return]
    return None


class FromDomain:
    """A value type made from the domain record of the same shape."""

    @classmethod
    def from_domain(cls, record: Any) -> Self:
        make = _PRESENTERS.get(cls)
        if make is None:
            make = _PRESENTERS[cls] = presenter(cls)
        made: Self = make(record)
        return made


_PRESENTERS: dict[type, Callable[[Any], Any]] = {}
