"""The execution context: plain fields read straight off their objects, without
the per-field machinery.

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

With a ``tracer`` (a subclass's, set by the schema when tracing is on), making a
plan is a span, ``graphql.plan`` (the outermost selection planned; plans made
inside it are its work): plans kept from an earlier request cost none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from graphql import (
    DirectiveNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Node,
    OperationDefinitionNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from opentelemetry.trace import Tracer
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

from caching import Cache, bounds, per_entry
from engine.compiled import compiled
from engine.fields import at_hand_attribute, read_directly
from engine.plans import (
    NotAtHand,
    Plan,
    Step,
    attempt,
    enum_coercion,
    leaf,
    many,
    merged,
    run,
    whole_object,
)

# Plans outlive requests: a document is parsed once (schema.pipeline), so the same
# query brings the same AST nodes, and a plan is found again by their identities
# (AST nodes hash and compare deeply). The entry keeps the nodes alive, so that
# no id in a key is reused while its plan is kept. Only for operations without
# directives: @skip and @include make what is selected below a field depend on
# the variables, so those operations' plans live for their request alone.
_PLANS: Cache[tuple[int, ...], tuple[list[object], Plan | None]] = Cache(
    bounds.PLANS_MAX_BYTES, per_entry(bounds.PLAN_BYTES), name="plans"
)
_STATIC: Cache[int, tuple[OperationDefinitionNode, bool]] = Cache(
    bounds.STATIC_MAX_BYTES, per_entry(bounds.STATIC_BYTES), name="static"
)


class GatewayExecutionContext(StrawberryGraphQLCoreExecutionContext):
    # Tracing on: a subclass sets its tracer (``traced``).
    tracer: Tracer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._planning = False
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
            built = attempt(known[2], result)
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
                plain = run(plan, source_value)
            except NotAtHand:
                # Somewhere in it a field is not at hand: those fields are
                # executed by graphql-core, the rest still read here.
                plan = self._plan(parent_type, grouped_field_set, False)
                plain = attempt(lambda value: run(plan, value), source_value)
            except Exception:
                pass  # graphql-core executes the object and reports it
            if plan is not None and plain is not None:
                executed, order = plan.executed, plan.order
                if executed is None:
                    return plain
                rest = super().execute_fields(
                    parent_type, source_value, path, executed, position_context
                )
                return merged(order, plain, rest, self.is_awaitable)
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
            plan = self._planned(parent_type, fields, at_hand)
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
            plan = self._planned(parent_type, fields, at_hand)
            _PLANS.put(key, (held, plan))
        self._plans[(id(fields), at_hand)] = (fields, plan)
        return plan

    def _planned(
        self, parent_type: GraphQLObjectType, fields: GroupedFieldSet, at_hand: bool
    ) -> Plan | None:
        """``_make_plan``, in a span when tracing and not inside another plan."""
        tracer = self.tracer
        if tracer is None or self._planning:
            return self._make_plan(parent_type, fields, at_hand)
        self._planning = True
        span = tracer.start_span(
            "graphql.plan", attributes={"gateway.plan.type": parent_type.name}
        )
        try:
            plan = self._make_plan(parent_type, fields, at_hand)
            span.set_attribute("gateway.plan.fast", plan is not None)
            return plan
        finally:
            self._planning = False
            span.end()

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
        planned = tuple(steps)
        # Kept across requests: compiled (engine.compiled); made for this
        # request alone: interpreted (compiling would cost more than it saves).
        render = compiled(planned) if self._shared else None
        return Plan(planned, executed or None, tuple(fields), tuple(needed), render)

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
            return Step(response_name, None, None, True, parent_type.name)
        field = parent_type.fields.get(name)
        if field is None or field.args:
            return None
        definition = field.extensions.get("strawberry-definition")
        if not isinstance(definition, StrawberryField):
            return None
        attribute = at_hand_attribute(definition, field.resolve) if at_hand else None
        if attribute is not None:
            # A resolver that answers this attribute whenever it is not None:
            # read here (the plan checks it first: see _run).
            complete = self._completion(_nullable(field.type), details, at_hand)
            if complete is None:
                return None
            needed.append(attribute)
            return Step(response_name, attribute, complete, True, "")
        if not read_directly(definition, field.resolve):
            return None  # Strawberry runs something around it: so does graphql-core
        non_null = isinstance(field.type, GraphQLNonNull)
        complete = self._completion(_nullable(field.type), details, at_hand)
        if complete is None:
            return None
        return Step(response_name, definition.python_name, complete, non_null, "")

    def _completion(
        self, type_: GraphQLOutputType, details: FieldDetailsList, at_hand: bool
    ) -> Callable[[Any], Any] | None:
        """A function completing a non-null value of ``type_`` as graphql-core
        would (raising ``_Bail`` where it would report an error), or None when
        the type's selection cannot be planned."""
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value
            if isinstance(type_, GraphQLEnumType):
                coerce = enum_coercion(type_)
            return leaf(coerce, own=_OWN.get(type_))
        if isinstance(type_, GraphQLObjectType):
            subfields = self.collect_subfields(type_, details)
            if subfields.new_defer_usages:
                return None
            plan = self._plan(type_, subfields.grouped_field_set, at_hand)
            if plan is None or plan.executed is not None:
                return None  # only a wholly plain object is built inside another
            return whole_object(plan.steps, plan.needed, type_.is_type_of, plan.render)
        if isinstance(type_, GraphQLList):
            item = self._completion(_nullable(type_.of_type), details, at_hand)
            if item is None:
                return None
            return many(item, item_non_null=isinstance(type_.of_type, GraphQLNonNull))
        return None  # interfaces and unions: graphql-core resolves the type


C = TypeVar("C", bound=GatewayExecutionContext)


def traced(cls: type[C], tracer: Tracer | None) -> type[C]:
    """``cls``, or a subclass planning in spans of ``tracer``."""
    if tracer is None:
        return cls
    return type(f"Traced{cls.__name__}", (cls,), {"tracer": tracer})


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
    _STATIC.put(id(operation), (operation, static))
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


# The scalars whose result is the value itself when it is of this Python type
# (graphql-core's coercion answers it unchanged; an Int within its 32 bits).
_OWN: dict[GraphQLNamedType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}


def _nullable(type_: GraphQLOutputType) -> GraphQLOutputType:
    if isinstance(type_, GraphQLNonNull):
        inner: GraphQLOutputType = type_.of_type
        return inner
    return type_
