"""How a domain field is shown in the GraphQL API: its one declaration.

A field of a record in :mod:`adapters.model` that the API shows says so in its
annotation, with what the API says of it::

    region: Annotated[str | None, shown("Where the account is opened.")] = None

The GraphQL type of the record is derived from that (``schema.types.presenting.
shows``): the field's GraphQL type from the annotation (``X | None`` nullable,
``tuple``/``frozenset`` a list, the record's enums and nested records the API's
types of the same shape), its name the camelCase of the attribute unless
``name`` is given, its description this one. A field without ``shown`` is the
gateway's own (``key``, ``fields``) and never shown.

A shown field is *direct*: the object is made from the record with its value,
the same for every caller, and the engine reads it straight off the object. One
that needs a resolver (a provider call, the caller, arguments) says
``resolver=True``: the type then supplies a method of that name, and the field
is nullable (a failing provider costs only that field).

Nothing here depends on GraphQL: adapters hand out records, and the schema
reads these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    description: str
    name: str | None = None  # the GraphQL name, when not the attribute's camelCase
    resolver: bool = False  # answered by a resolver of the type's own


def shown(
    description: str, *, name: str | None = None, resolver: bool = False
) -> Shown:
    """The field is shown in the API, described so (see the module)."""
    return Shown(description, name, resolver)
