"""Schema objects made from domain records, derived from the type's declaration.

A GraphQL type declares each field once, as a Strawberry attribute named like
the domain record's attribute it presents; what the object is made from is
derived from that declaration: the record's attribute, converted to the
field's declared type (``by_name`` for an enum, ``from_domain`` for a nested
type, item by item for a list, None kept). A field that is not the record's
attribute as it is says so in one place, as a ``derived`` function of the record
(a global id, a sorted list); a field with a resolver is never made. So adding
a plain field is one declaration on each side (the record, the type) and no
copying code; the engine reads it directly (``engine.fields.read_directly``).
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable
from typing import Any, Self, TypeVar

from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.private import is_private

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
Convert = Callable[[Any], Any]


def by_name(target: type[E], value: enum.Enum) -> E:
    """The member of ``target`` named like ``value`` (domain ⇄ GraphQL enums).

    Looked up by the member's name in the target's own table of members: no
    hashing of an enum member (``Enum.__hash__`` is Python code) on the way."""
    return target._member_map_[value._name_]  # type: ignore[return-value]


def presenter(cls: type[T], **derived: Convert) -> Callable[[Any], T]:
    """A function making a ``cls`` from a record (see the module)."""
    made: list[tuple[str, Convert]] = []

    def present(record: Any) -> T:
        if not made:
            made.extend(_plan(cls, derived))
        return cls(**{name: read(record) for name, read in made})

    return present


def _plan(cls: type, derived: dict[str, Convert]) -> list[tuple[str, Convert]]:
    """Each field made, with how it is read from the record."""
    plan: list[tuple[str, Convert]] = []
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    unknown = set(derived) - {f.python_name for f in definition.fields}
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    field: StrawberryField
    for field in definition.fields:
        name = field.python_name
        if name in derived:
            plan.append((name, derived[name]))
        elif field.base_resolver is not None:
            continue  # a resolver: nothing to make
        elif is_private(field.type):
            raise TypeError(f"{cls.__name__}.{name} is private: derive it")
        else:
            plan.append((name, _reader(name, field.type)))
    return plan


def _reader(name: str, type_: Any) -> Convert:
    """The record's attribute ``name`` as a value of ``type_``, read and converted
    in one call where the conversion allows (an enum, an optional value)."""
    get = operator.attrgetter(name)
    if isinstance(type_, StrawberryOptional):
        inner = _converter(type_.of_type)
        if inner is None:
            return get
        return lambda record: None if (value := get(record)) is None else inner(value)
    if isinstance(type_, StrawberryEnumDefinition):
        members = type_.wrapped_cls._member_map_  # by_name, without a call
        return lambda record: members[get(record)._name_]
    convert = _converter(type_)
    if convert is None:
        return get
    return lambda record: convert(get(record))


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
