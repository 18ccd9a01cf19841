"""Plain fields read straight off their objects, without the per-field machinery.

graphql-core executes every field the same way: a path, a resolve-info object,
the resolver (for a plain Strawberry attribute, two wrappers around ``getattr``),
an awaitable check, then completion by type. A page of 50 applications with ten
scalar fields each is 550 such executions, most of the gateway's CPU on that page.

:class:`GatewayExecutionContext` plans each selection set once per request. When
every field selected on an object is *plain* (a field Strawberry itself reads
straight off its object, with nothing around it: no resolver of its own, no
permission classes, no extensions, see ``_read_directly``; no arguments, no
deferral) and of a scalar or enum type, an object type whose selection is
itself plain, or a list of those, or is
``__typename``, the object's whole result is built in one recursive loop:
``getattr``, then what completion would have done (``coerce_output_value`` for
leaves, the type's ``is_type_of`` check for objects, item by item for lists).

Anything unusual on the way (a null in a non-null position, an attribute or
coercion error, a value that coerces to nothing, an object of the wrong type)
abandons the loop for that object, and graphql-core executes it instead, which
reports it as the specification says. Fields with resolvers (``documents``,
``cursor``), arguments or abstract types take graphql-core's path; the plain
fields beside them on the same object are still read in the loop, first (they
have no effects), and the object's result puts them all in the selection's
order. An object is built inside its parent's loop only when all of it is plain.

A resolver declared ``at_hand(attribute)`` answers that attribute whenever it is
not None (an application's documents, when its detail lists them): plans read
it as a plain field, unless anything guards it (permission classes, extensions,
directives, arguments: then it is never at hand). An object on which it is
None, or a parent holding one, is planned again without it, and graphql-core
runs the resolver there.

Once an operation has finished, the context lets go of graphql-core's
``async_helpers``: two methods bound to the context itself, so a reference cycle
through which everything the request built (collected fields, variables, the
loaders) could only be freed by the cyclic collector. Under load those requests
outlive the young generations and pile up in the oldest, whose collection then
walked 300,000 objects at once: 560 ms pauses, the whole p99 of the benchmark.
Without the cycle, reference counting frees a request's objects when it ends.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import strawberry
from graphql import (
    DirectiveNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Node,
    OperationDefinitionNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# (response name, attribute or None for __typename, completion of a non-null
# value, non-null, the typename): a plan is run as plain tuples and closures.
Step = tuple[str, str | None, Callable[[Any], Any] | None, bool, str]
# The plain fields' steps; the fields graphql-core executes (None: there are
# none); every response name, in the order of the selection; the attributes
# the object's fields answered at hand read (``at_hand``), each of which must
# not be None for the steps to run.
Plan = tuple[tuple[Step, ...], GroupedFieldSet | None, tuple[str, ...], tuple[str, ...]]


class _Bail(Exception):
    """Leave this object to graphql-core."""


class _NotAtHand(_Bail):
    """A field answered at hand is not, on this object: plan it without."""


# Plans outlive requests: a document is parsed once (schema.pipeline), so the same
# query brings the same AST nodes, and a plan is found again by their identities
# (AST nodes hash and compare deeply). The entry keeps the nodes alive, so that
# no id in a key is reused while its plan is kept. Only for operations without
# directives: @skip and @include make what is selected below a field depend on
# the variables, so those operations' plans live for their request alone.
PLANS_MAX = 2048
_PLANS: dict[tuple[int, ...], tuple[list[object], Plan | None]] = {}
_ENUMS: dict[int, tuple[GraphQLEnumType, Callable[[Any], Any]]] = {}
_STATIC: dict[int, tuple[OperationDefinitionNode, bool]] = {}


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (id(grouped field set), fields at hand planned) -> (the set, kept
        # alive so its id stays its own; its plan, or None when it must take
        # graphql-core's path)
        self._plans: dict[tuple[int, bool], tuple[GroupedFieldSet, Plan | None]] = {}
        # (id(list type), id(field details)) -> (both, kept alive; how a value
        # of that list is completed in one loop, or None)
        self._lists: dict[
            tuple[int, int],
            tuple[object, FieldDetailsList, Callable[[Any], Any] | None],
        ] = {}
        manager = self.middleware_manager
        self._plain = manager is None or not manager.middlewares
        self._shared = self._plain and _static(
            self.operation, self.fragment_definitions
        )

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._released_after(result)
        self._release()
        return result

    async def _released_after(self, result: Awaitable[Any]) -> Any:
        try:
            return await result
        finally:
            self._release()

    def _release(self) -> None:
        # The helpers' bound methods point back here (see the module's doc);
        # resolve-info objects made during execution keep their own reference.
        self.__dict__.pop("async_helpers", None)

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # A list a resolver returned (an application's documents): built in one
        # loop when its items are plain, as a list inside a plan is.
        if self._plain:
            key = (id(return_type), id(field_details_list))
            known = self._lists.get(key)
            if known is None:
                complete = self._completion(return_type, field_details_list, True)
                known = self._lists[key] = (return_type, field_details_list, complete)
            built = _attempt(known[2], result)
            if built is not None:
                return built
        # graphql-core completes it, and reports what is wrong with it
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if self._plain:
            plan = self._plan(parent_type, grouped_field_set, True)
            plain: dict[str, Any] | None = None
            try:
                plain = _run(plan, source_value)
            except _NotAtHand:
                # Somewhere in it a field is not at hand: those fields are
                # executed by graphql-core, the rest still read here.
                plan = self._plan(parent_type, grouped_field_set, False)
                plain = _attempt(lambda value: _run(plan, value), source_value)
            except Exception:
                pass  # graphql-core executes the object and reports it
            if plan is not None and plain is not None:
                executed, order = plan[1], plan[2]
                if executed is None:
                    return plain
                rest = super().execute_fields(
                    parent_type, source_value, path, executed, position_context
                )
                return _merged(order, plain, rest, self.is_awaitable)
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _plan(
        self, parent_type: GraphQLObjectType, fields: GroupedFieldSet, at_hand: bool
    ) -> Plan | None:
        """The selection's plan; with ``at_hand``, fields answered at hand
        (here and below) are read too."""
        cached = self._plans.get((id(fields), at_hand))
        if cached is not None:
            return cached[1]
        if not self._shared:
            plan = self._make_plan(parent_type, fields, at_hand)
            self._plans[(id(fields), at_hand)] = (fields, plan)
            return plan
        held: list[object] = [self.schema, parent_type]
        for details in fields.values():
            for d in details:
                held.append(d.node)
                held.append(d.defer_usage)
        key = (*map(id, held), at_hand)
        found = _PLANS.get(key)
        if found is not None:
            plan = found[1]
        else:
            plan = self._make_plan(parent_type, fields, at_hand)
            if len(_PLANS) >= PLANS_MAX:
                del _PLANS[next(iter(_PLANS))]
            _PLANS[key] = (held, plan)
        self._plans[(id(fields), at_hand)] = (fields, plan)
        return plan

    def _make_plan(
        self, parent_type: GraphQLObjectType, fields: GroupedFieldSet, at_hand: bool
    ) -> Plan | None:
        steps: list[Step] = []
        needed: list[str] = []
        executed: GroupedFieldSet = {}
        for response_name, details in fields.items():
            if any(
                d.defer_usage is not None or d.fragment_variable_values is not None
                for d in details
            ):
                return None
            step = self._step(parent_type, response_name, details, at_hand, needed)
            if step is None:
                executed[response_name] = details
            else:
                steps.append(step)
        if not steps:
            return None  # nothing to gain: graphql-core executes the object
        return tuple(steps), executed or None, tuple(fields), tuple(needed)

    def _step(
        self,
        parent_type: GraphQLObjectType,
        response_name: str,
        details: FieldDetailsList,
        at_hand: bool,
        needed: list[str],
    ) -> Step | None:
        """The field's step, or None when graphql-core must execute it (an
        attribute read at hand goes to ``needed``)."""
        if any(d.node.arguments for d in details):
            return None
        name = details[0].node.name.value
        if name == "__typename":
            return (response_name, None, None, True, parent_type.name)
        field = parent_type.fields.get(name)
        if field is None or field.args:
            return None
        definition = field.extensions.get("strawberry-definition")
        if not isinstance(definition, StrawberryField):
            return None
        attribute = _at_hand_attribute(definition, field.resolve) if at_hand else None
        if attribute is not None:
            # A resolver that answers this attribute whenever it is not None:
            # read here (the plan checks it first: see _run).
            complete = self._completion(_nullable(field.type), details, at_hand)
            if complete is None:
                return None
            needed.append(attribute)
            return (response_name, attribute, complete, True, "")
        if not _read_directly(definition, field.resolve):
            return None  # Strawberry runs something around it: so does graphql-core
        non_null = isinstance(field.type, GraphQLNonNull)
        complete = self._completion(_nullable(field.type), details, at_hand)
        if complete is None:
            return None
        return (response_name, definition.python_name, complete, non_null, "")

    def _completion(
        self, type_: GraphQLOutputType, details: FieldDetailsList, at_hand: bool
    ) -> Callable[[Any], Any] | None:
        """A function completing a non-null value of ``type_`` as graphql-core
        would (raising ``_Bail`` where it would report an error), or None when
        the type's selection cannot be planned."""
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value
            if isinstance(type_, GraphQLEnumType):
                coerce = _enum_coercion(type_)
            return _leaf(coerce, textual=type_ is GraphQLString or type_ is GraphQLID)
        if isinstance(type_, GraphQLObjectType):
            subfields = self.collect_subfields(type_, details)
            if subfields.new_defer_usages:
                return None
            plan = self._plan(type_, subfields.grouped_field_set, at_hand)
            if plan is None or plan[1] is not None:
                return None  # only a wholly plain object is built inside another
            return _object(plan[0], plan[3], type_.is_type_of)
        if isinstance(type_, GraphQLList):
            item = self._completion(_nullable(type_.of_type), details, at_hand)
            if item is None:
                return None
            return _many(item, item_non_null=isinstance(type_.of_type, GraphQLNonNull))
        return None  # interfaces and unions: graphql-core resolves the type


AT_HAND = "_gateway_at_hand"
F = TypeVar("F", bound=Callable[..., Any])


def at_hand(attribute: str) -> Callable[[F], F]:
    """Declare a resolver that, whenever its object's ``attribute`` is not None,
    answers exactly that (and does nothing else: no effect, no error).

    Plans then read the attribute as they read a plain field, and an object
    whose every selected field is plain or at hand is built in one loop (and,
    for an immutable type, kept: see ``rendered``). Where the attribute is None
    the object takes graphql-core's path, and the resolver runs. Put it under
    ``@strawberry.field``::

        @strawberry.field(...)
        @at_hand("listed_documents")
        def documents(self, info: Info) -> ...
    """

    def mark(resolver: F) -> F:
        setattr(resolver, AT_HAND, attribute)
        return resolver

    return mark


def _read_directly(definition: StrawberryField, resolve: Any) -> bool:
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


@functools.cache
def _basic_code() -> object:
    """The code of the resolver Strawberry gives a field it reads directly,
    learned from Strawberry itself: the resolver of a plain probe field."""

    @strawberry.type(name="FastPathProbe")
    class Probe:
        plain: int = 0

    probe = strawberry.Schema(query=Probe)._schema.query_type
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


def _at_hand_attribute(definition: StrawberryField, resolve: Any) -> str | None:
    """The attribute a field's resolver answers when it is not None (``at_hand``),
    for a field with nothing else around its resolver (see ``_unguarded``): a
    guarded field is never read at hand, whatever its resolver declares."""
    resolver = definition.base_resolver
    if resolver is None or not _unguarded(definition, resolve):
        return None
    attribute = getattr(resolver.wrapped_func, AT_HAND, None)
    return attribute if isinstance(attribute, str) else None


def _static(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    """Whether the operation, with its fragments, uses no directive at all."""
    known = _STATIC.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    static = not any(
        isinstance(node, DirectiveNode)
        for root in (operation, *fragments.values())
        for node in _walk(root)
    )
    if len(_STATIC) >= PLANS_MAX:
        del _STATIC[next(iter(_STATIC))]
    _STATIC[id(operation)] = (operation, static)
    return static


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for key in node.keys:
        value = getattr(node, key, None)
        if isinstance(value, Node):
            yield from _walk(value)
        elif isinstance(value, tuple | list):
            for item in value:
                if isinstance(item, Node):
                    yield from _walk(item)


def _nullable(type_: GraphQLOutputType) -> GraphQLOutputType:
    if isinstance(type_, GraphQLNonNull):
        inner: GraphQLOutputType = type_.of_type
        return inner
    return type_


def _enum_coercion(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
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
    table = {member: coerce(member) for member in wrapped}

    def coerced(value: Any) -> Any:
        name = table.get(value) if isinstance(value, enum.Enum) else None
        return coerce(value) if name is None else name

    _ENUMS[id(enum_type)] = (enum_type, coerced)
    return coerced


def _attempt(complete: Callable[[Any], Any] | None, value: Any) -> Any:
    """``complete(value)``, or None when there is none or it gave up."""
    if complete is None:
        return None
    try:
        return complete(value)
    except Exception:
        return None


def _merged(
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
# immutable records and shared between requests, ``schema.types.common.
# Presented``): what a plan reads from one of them is the same every time, so
# it is kept, by the identities of the plan and the object (the entry holds
# both: no id is reused while it is kept). The result is only ever read.
_IMMUTABLE: set[type] = set()
RENDERED_MAX = 8192
_RENDERED: dict[tuple[int, int], tuple[tuple[Step, ...], object, dict[str, Any]]] = {}


def immutable(cls: type) -> type:
    """Declare that objects of ``cls`` are never modified once made."""
    _IMMUTABLE.add(cls)
    return cls


def rendered(steps: tuple[Step, ...], source: Any) -> dict[str, Any]:
    """``run_plan``, kept for objects that never change."""
    if type(source) not in _IMMUTABLE:
        return run_plan(steps, source)
    key = (id(steps), id(source))
    found = _RENDERED.get(key)
    if found is not None and found[0] is steps and found[1] is source:
        return found[2]
    result = run_plan(steps, source)  # raised: nothing kept
    if len(_RENDERED) >= RENDERED_MAX:
        del _RENDERED[next(iter(_RENDERED))]
    _RENDERED[key] = (steps, source, result)
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
                raise _Bail
            result[response_name] = None
        else:
            result[response_name] = complete(value)  # type: ignore[misc]
    return result


def _leaf(coerce: Callable[[Any], Any], *, textual: bool) -> Callable[[Any], Any]:
    def leaf(value: Any) -> Any:
        if isinstance(value, Exception):
            raise _Bail  # graphql-core raises a returned exception
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Bail
        return coerced

    if not textual:
        return leaf

    def text(value: Any) -> Any:  # String or ID: a str is its own coercion
        return value if type(value) is str else leaf(value)

    return text


def _run(plan: Plan | None, source: Any) -> dict[str, Any] | None:
    """The plain fields' results of ``plan`` on ``source`` (None: no plan)."""
    return None if plan is None else _rendered_at_hand(plan[0], plan[3], source)


def _rendered_at_hand(
    steps: tuple[Step, ...], needed: tuple[str, ...], source: Any
) -> dict[str, Any]:
    """``rendered``, once every attribute the steps read at hand is there;
    raises ``_NotAtHand`` when one is None."""
    for attribute in needed:
        if getattr(source, attribute) is None:
            raise _NotAtHand
    return rendered(steps, source)


def _object(
    plan: tuple[Step, ...],
    needed: tuple[str, ...],
    is_type_of: Callable[[Any, Any], Any] | None,
) -> Callable[[Any], Any]:
    def obj(value: Any) -> Any:
        if isinstance(value, Exception):
            raise _Bail
        if is_type_of is not None and is_type_of(value, None) is not True:
            raise _Bail
        return _rendered_at_hand(plan, needed, value)

    return obj


def _many(item: Callable[[Any], Any], *, item_non_null: bool) -> Callable[[Any], Any]:
    def many(value: Any) -> Any:
        if not is_iterable(value):
            raise _Bail  # graphql-core's own error for a non-list
        items: list[Any] = []
        for one in value:
            if one is None:
                if item_non_null:
                    raise _Bail
                items.append(None)
            else:
                items.append(item(one))
        return items

    return many
