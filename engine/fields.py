"""What the engine learns from a field's declaration: whether Strawberry reads
it straight off its object (``read_directly``), and whether its resolver answers
an attribute whenever that attribute is not None (``at_hand``).

A field derived from a domain record's declaration carries how it is answered in
its metadata under ``DECLARED`` (``schema.types.presenting.shows``): ``"direct"``
(the object holds the value) or ``"resolver"``. A field declared ``"resolver"``
is never read directly; one declared ``"direct"`` is, once Strawberry is seen to
put nothing around it (``read_directly``): a declaration with a guard added is
reported by the guard test (``tests/schema/test_fast_path_guard.py``) rather
than read unguarded."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import strawberry
from strawberry.types.field import StrawberryField

from engine.internals import graphql_schema

AT_HAND = "_gateway_at_hand"
DECLARED = "gateway.declared"  # StrawberryField.metadata: "direct" | "resolver"
F = TypeVar("F", bound=Callable[..., Any])


def at_hand(attribute: str) -> Callable[[F], F]:
    """Declare a resolver that, whenever its object's ``attribute`` is not None,
    answers exactly that (and does nothing else: no effect, no error).

    Plans then read the attribute as they read a plain field, and an object
    whose every selected field is plain or at hand is built in one loop (and,
    for an immutable type, kept: see ``rendered``). Where the attribute is None
    the object takes graphql-core's path, and the resolver runs. Put it on the
    resolver (under ``@strawberry.field``, if the type declares the field)::

        @at_hand("listed_documents")
        def documents(self, info: Info) -> ...
    """

    def mark(resolver: F) -> F:
        setattr(resolver, AT_HAND, attribute)
        return resolver

    return mark


def read_directly(definition: StrawberryField, resolve: Any) -> bool:
    """Whether Strawberry itself reads the field straight off its object.

    Strawberry's converter (``GraphQLCoreConverter.from_resolver``) gives a
    field a bare resolver, with no ``Info``, no permission check, no extension
    and no exception handler around it, only when ``is_basic_field`` holds (no
    resolver of its own, no extensions; permission classes are turned into an
    extension) and no exception handler applies to its type; that resolver
    calls ``get_result``, which for such a field is the configured default
    resolver. So a plan reads the field only when ``resolve`` *is* that bare
    resolver (the same code as the one Strawberry gives a plain probe field:
    see ``_basic_code``), the field is basic, has no permission classes and no
    extensions, its class keeps Strawberry's ``get_result``, and the default
    resolver is ``getattr``. Anything else, now or in a later Strawberry, is
    left to graphql-core and Strawberry's own resolver.

    Directives need nothing here: a field's schema directives only describe
    it in the SDL; ``@skip`` and ``@include`` are applied when fields are
    collected, the same for both paths; any other operation directive runs
    in Strawberry's ``DirectivesExtension``, a ``resolve`` middleware, and with
    any middleware the whole operation takes graphql-core's path.
    """
    if declared(definition) not in (None, "direct"):
        return False
    return (
        getattr(resolve, "__code__", None) is _basic_code()
        and getattr(resolve, "_is_default", False) is True
        and definition.is_basic_field
        and not definition.base_resolver
        and not definition.permission_classes
        and not definition.extensions
        and type(definition).get_result is StrawberryField.get_result
        and definition.default_resolver is getattr
    )


def declared(definition: StrawberryField) -> str | None:
    """How the field's declaration says it is answered (None: not derived
    from a record's declaration)."""
    metadata: Mapping[str, object] = definition.metadata or {}
    found = metadata.get(DECLARED)
    return found if isinstance(found, str) else None


@functools.cache
def _basic_code() -> object:
    """The code of the resolver Strawberry gives a field it reads directly,
    learned from Strawberry itself: the resolver of a plain probe field."""

    @strawberry.type(name="FastPathProbe")
    class Probe:
        plain: int = 0

    probe = graphql_schema(strawberry.Schema(query=Probe)).query_type
    assert probe is not None
    code: object = getattr(probe.fields["plain"].resolve, "__code__", None)
    assert code is not None
    return code


def _unguarded(definition: StrawberryField, resolve: Any) -> bool:
    """No permission classes, extensions, directives or arguments around the
    field's resolver, and the resolver the one Strawberry built for it."""
    return (
        resolve is not None
        and hasattr(resolve, "_is_default")  # built by Strawberry's converter
        and not definition.arguments
        and not definition.permission_classes
        and not definition.extensions
        and not definition.directives
        and type(definition).get_result is StrawberryField.get_result
    )


def at_hand_attribute(definition: StrawberryField, resolve: Any) -> str | None:
    """The attribute a field's resolver answers when it is not None (``at_hand``),
    for a field with nothing else around its resolver (see ``_unguarded``): a
    guarded field is never read at hand, whatever its resolver declares."""
    resolver = definition.base_resolver
    if resolver is None or not _unguarded(definition, resolve):
        return None
    attribute = getattr(resolver.wrapped_func, AT_HAND, None)
    return attribute if isinstance(attribute, str) else None
