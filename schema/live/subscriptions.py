"""The ``Subscription`` root: records as they change, to whoever may see them.

A subscription opens a bounded listener on the bus (``schema.live.bus``) and, for
each change of its kind (and of its record, given an id), reads the record as it
is NOW through a fresh context: new loaders, no deadline but its own, the
subscriber's caller. What the caller may not see (``schema.authz``, checked at
each delivery: a record can change hands) is skipped silently, like a record that
does not exist; so is a record its provider fails to answer (the authorization
cannot be checked) and one deleted since.

Given an id, the record must be visible when subscribing (otherwise
``NOT_FOUND``), and an Apiture application is polled while watched
(``schema.live.polling``).

**Deletions.** A deleted record can no longer be read, so its authorization
cannot be checked at delivery. Each subscription remembers the records it was
shown (the one checked when subscribing, each one delivered; the last
``REMEMBERED`` of them): a change to state ``DELETED`` of a remembered record is
delivered with the record as this subscription last saw it and ``deleted:
true`` (a subscription to that one record then ends); of any other record it is
skipped. A record that a later delivery finds is no longer the caller's (it
changed hands) is forgotten; one whose read failed is not. So the only thing a
deletion tells a subscriber is that a record it was shown, and still may see as
far as the gateway knows, is gone: nothing reaches a caller who was never shown
the record, or who lost it.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from contextlib import nullcontext
from datetime import datetime
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from adapters import model
from adapters.errors import AdapterError
from adapters.transport.deadline import deadline_scope
from schema import authz, ids
from schema.context import Context, Info
from schema.live.events import DELETED, Change, RecordKind
from schema.live.hub import LiveContext
from schema.loaders import create_loaders
from schema.types.application import Application
from schema.types.common import ApplicationState, DocumentStatus
from schema.types.document import Document

log = logging.getLogger("gateway.live")

R = TypeVar("R")
E = TypeVar("E", bound=enum.Enum)
Visible = Callable[[Context, ids.GlobalId], Awaitable[R | None]]

DELETED_FIELD = (
    "The record was deleted and can no longer be read: the record above is as "
    "this subscription last saw it, the state after is null, and this is the "
    "record's last event (a subscription to it by id ends after it)."
)

# Records one subscription remembers having shown (for their deletion).
REMEMBERED = 256

CAUSE = (
    "Why: a provider's event (`AUCO:NOTIFICATION`, `CONNECTFI:webhook`), a "
    "mutation through the gateway (`mutation:approveApplication`) or `poll` (a "
    "change the gateway found polling the provider)."
)


def _member(target: type[E], name: str | None) -> E | None:
    return target.__members__.get(name) if name else None


@strawberry.type(description="An application changed: as it is now, and why.")
class ApplicationUpdate:
    application: Application = strawberry.field(
        description="The application as it is now."
    )
    state: ApplicationState | None = strawberry.field(
        description="Its state after the change, as the event said."
    )
    previous_state: ApplicationState | None = strawberry.field(
        description="Its state before the change, where known."
    )
    cause: str = strawberry.field(description=CAUSE)
    event_id: str = strawberry.field(description="The event's id.")
    at: datetime = strawberry.field(description="When the gateway learnt of it.")
    deleted: bool = strawberry.field(default=False, description=DELETED_FIELD)


@strawberry.type(description="A document changed: as it is now, and why.")
class DocumentUpdate:
    document: Document = strawberry.field(description="The document as it is now.")
    status: DocumentStatus | None = strawberry.field(
        description="Its status after the change, as the event said."
    )
    previous_status: DocumentStatus | None = strawberry.field(
        description="Its status before the change, where known."
    )
    cause: str = strawberry.field(description=CAUSE)
    event_id: str = strawberry.field(description="The event's id.")
    at: datetime = strawberry.field(description="When the gateway learnt of it.")
    deleted: bool = strawberry.field(default=False, description=DELETED_FIELD)


def _not_found(raw: str) -> GraphQLError:
    return GraphQLError(f"no record with id {raw}", extensions={"code": "NOT_FOUND"})


class _ReadFailed:
    """The provider did not answer: whether the caller may see the record is
    unknown (not the same as a record the caller may not see)."""


READ_FAILED = _ReadFailed()


async def _read_now(
    ctx: LiveContext, visible: Visible[R], gid: ids.GlobalId
) -> R | _ReadFailed | None:
    """The record as ``ctx``'s caller may see it now, read as a new request:
    None when it is missing or not the caller's."""
    fresh = LiveContext(
        upstreams=ctx.upstreams,
        loaders=create_loaders(ctx.upstreams),
        caller=ctx.caller,
        live=ctx.live,
        expires_at=ctx.expires_at,
    )

    async def read() -> R | None:
        with deadline_scope(ctx.upstreams.request_deadline):
            return await visible(fresh, gid)

    try:
        # A context of its own: not the subscribing request's (long past) deadline.
        return await asyncio.create_task(read(), context=contextvars.Context())
    except AdapterError as exc:
        log.info("live: %s not delivered, its read failed (%s)", gid.typename, exc.code)
        return READ_FAILED


def _expired() -> GraphQLError:
    return GraphQLError("the token has expired", extensions={"code": "UNAUTHENTICATED"})


async def _until(
    expires_at: float | None, changes: AsyncIterable[Change]
) -> AsyncGenerator[Change, None]:
    """``changes`` until the caller's token expires (then an error ends it)."""
    events = aiter(changes)
    while True:
        if expires_at is None:
            change = await anext(events, None)
        else:
            remaining = expires_at - time.time()
            if remaining <= 0:
                raise _expired()
            try:
                change = await asyncio.wait_for(anext(events, None), remaining)
            except TimeoutError:
                raise _expired() from None
        if change is None:
            return
        yield change


async def follow(
    info: Info, kind: RecordKind, raw_id: str | None, visible: Visible[R]
) -> AsyncGenerator[tuple[Change, R], None]:
    """Each change of ``kind`` (of the record ``raw_id``, if given) the caller
    may see, with the record as it is now."""
    ctx = info.context
    if not isinstance(ctx, LiveContext) or ctx.live is None:
        raise GraphQLError("subscriptions are not served here")
    live = ctx.live
    target = ids.decode(raw_id) if raw_id is not None else None
    # What this subscription was shown, by record key (most recent last).
    shown: OrderedDict[tuple[str, str], R] = OrderedDict()
    if raw_id is not None:
        if target is None or target.typename != kind:
            raise _not_found(raw_id)
        checked = await _read_now(ctx, visible, target)
        if checked is None or isinstance(checked, _ReadFailed):
            raise _not_found(raw_id)
        shown[target.provider.name, target.key] = checked
    with live.slot(ctx.caller):
        listener = live.bus.listen(live.max_queued)
        polled = live.pollers.watch(target) if live.pollers else nullcontext()
        try:
            with polled:
                async for change in _until(ctx.expires_at, listener):
                    if change.kind != kind:
                        continue
                    if target is not None and (
                        change.provider is not target.provider
                        or change.key != target.key
                    ):
                        continue
                    record_key = (change.provider.name, change.key)
                    if change.state == DELETED:
                        last = shown.pop(record_key, None)
                        if last is not None:
                            yield change, last
                            if target is not None:
                                return  # the record watched is gone
                        continue
                    gid = ids.GlobalId(kind, change.provider, change.key)
                    record = await _read_now(ctx, visible, gid)
                    if isinstance(record, _ReadFailed):
                        continue  # unknown: what was shown stays remembered
                    shown.pop(record_key, None)
                    if record is None:
                        continue  # not (or no longer) the caller's: forgotten
                    shown[record_key] = record
                    while len(shown) > REMEMBERED:
                        shown.popitem(last=False)
                    yield change, record
        finally:
            listener.close()


@strawberry.type(
    description="Records as they change: provider events, mutations through the "
    "gateway and polls, each delivered only to callers who may see the record."
)
class Subscription:
    @strawberry.subscription(
        description="Changes of one application (`id`), or of every application "
        "the caller may see."
    )
    async def application_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[ApplicationUpdate, None]:
        visible: Visible[model.Application] = authz.visible_application
        async for change, app in follow(info, "Application", id, visible):
            yield ApplicationUpdate(
                application=Application.from_domain(app),
                state=_member(ApplicationState, change.state),
                previous_state=_member(ApplicationState, change.previous_state),
                cause=change.cause,
                event_id=change.event_id,
                at=change.at,
                deleted=change.state == DELETED,
            )

    @strawberry.subscription(
        description="Changes of one document (`id`), or of every document the "
        "caller may see."
    )
    async def document_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[DocumentUpdate, None]:
        visible: Visible[model.Document] = authz.visible_document
        async for change, document in follow(info, "Document", id, visible):
            yield DocumentUpdate(
                document=Document.from_domain(document),
                status=_member(DocumentStatus, change.state),
                previous_status=_member(DocumentStatus, change.previous_state),
                cause=change.cause,
                event_id=change.event_id,
                at=change.at,
                deleted=change.state == DELETED,
            )
