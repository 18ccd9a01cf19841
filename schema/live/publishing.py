"""Every mutation that changes a record publishes its change at once.

One field extension on every mutation (``make_published``), innermost: it sees
the resolver's result, and a replay from the idempotency store (outside it)
publishes nothing again. A result that is a record (an ``Application``,
``Enrollment`` or ``Document``) or ``Deleted`` (state ``DELETED``) publishes a
``Change`` with cause ``mutation:<field>``; a failure (a union member such as
``NotFound``) publishes nothing. The state before is the one this process saw
last, where it saw one (``Live.remember``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from schema import ids
from schema.context import Info
from schema.errors import Deleted
from schema.live.events import DELETED, Change, RecordKind
from schema.live.hub import LiveContext
from schema.types.application import Application
from schema.types.document import Document
from schema.types.enrollment import Enrollment


def change_of(result: object, mutation: str) -> Change | None:
    """The change a mutation's result makes; None for a failure."""
    state: str | None
    if isinstance(result, Application | Enrollment):
        state = result.domain.state.name
    elif isinstance(result, Document):
        state = result.domain.status.name
    elif isinstance(result, Deleted):
        state = DELETED
    else:
        return None
    gid = ids.decode(str(result.id))
    if gid is None:
        return None
    kind: RecordKind = gid.typename  # type: ignore[assignment]
    return Change(
        kind=kind,
        provider=gid.provider,
        key=gid.key,
        state=state,
        previous_state=None,
        cause=f"mutation:{mutation}",
        event_id=f"mutation:{uuid.uuid4()}",
    )


class Publishes(FieldExtension):
    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        result = await next_(source, info, **kwargs)
        ctx = info.context
        if isinstance(ctx, LiveContext) and ctx.live is not None:
            change = change_of(result, info.field_name)
            if change is not None:
                await ctx.live.publish(change)
        return result


def make_published(mutation_type: type) -> None:
    """Call it before every other extension is added: the first is innermost."""
    definition = mutation_type.__strawberry_definition__  # type: ignore[attr-defined]
    for mutation in definition.fields:
        mutation.extensions.append(Publishes())
