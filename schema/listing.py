"""Listing applications, enrollments and documents: which providers to ask, how to
page them, and whether the page needs the per-item detail."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from adapters import model
from adapters.connectfi import mapping as connectfi_mapping
from adapters.errors import NotFound, ProviderFailure, ValidationFailed, Violation
from schema import authz, pagination, planning
from schema.context import Context
from schema.documents import customer_owner
from schema.pagination import Slice, Source
from schema.types.inputs import ApplicationFilter, EnrollmentFilter

T = TypeVar("T", model.Application, model.Enrollment)
R = TypeVar("R")


def _matches_search(text: str | None, *values: str | None) -> bool:
    if not text:
        return True
    needle = text.casefold()
    return any(v and needle in v.casefold() for v in values)


def _in_range(
    when: datetime | None, start: datetime | None, end: datetime | None
) -> bool:
    if when is None:
        return True  # the provider filtered by date itself, or cannot tell
    return (start is None or when >= start) and (end is None or when <= end)


def application_sources(
    ctx: Context, f: ApplicationFilter | None, chunk: int
) -> list[Source[model.Application]]:
    f = f or ApplicationFilter()
    wanted = (
        {model.Provider[p.name] for p in f.providers}
        if f.providers
        else {model.Provider.APITURE, model.Provider.CONNECTFI}
    )
    states = f.states_domain()
    sources: list[Source[model.Application]] = []
    if model.Provider.APITURE in wanted and (not f.customer_id or f.applicant_contact):
        query = model.ApplicationQuery(
            states=states, search=f.search, sort=("-createdAt",)
        )
        dated = f.created_from is not None or f.created_to is not None
        sources.append(
            Source(
                model.Provider.APITURE,
                lambda offset, limit: ctx.upstreams.apiture.list_applications(
                    query, offset, limit, applicant=f.applicant_contact
                ),
                chunk=chunk,
                keep=(
                    (lambda a: _in_range(a.created_at, f.created_from, f.created_to))
                    if dated
                    else None  # no dates: every item is in range
                ),
                exact_total=not dated,
            )
        )
    if model.Provider.CONNECTFI in wanted and f.customer_id:
        customer = f.customer_id
        sources.append(
            Source(
                model.Provider.CONNECTFI,
                lambda offset, limit: ctx.upstreams.connectfi.list_applications(
                    customer,
                    created_from=f.created_from,
                    created_to=f.created_to,
                    offset=offset,
                    limit=limit,
                ),
                chunk=chunk,
                keep=lambda a: (
                    (not states or a.state in states)
                    and _matches_search(
                        f.search, a.name, a.reference, a.provider_id, a.applicant_name
                    )
                ),
                exact_total=False,
            )
        )
    return sources


async def with_detail(
    page: Slice[T],
    selected: frozenset[str],
    load: Callable[[T], Awaitable[T | None]],
) -> Slice[T]:
    """The page with summaries replaced by their detail, read concurrently, when
    the selection needs it.

    ``load`` answers the loader's future: gathered as they are, with no task for
    each item. A provider whose detail read fails costs only its own items: they
    leave the page (``pagination.without``), the provider is named in its
    failures, and the other providers' items stay."""
    # planning.needs_detail of each item, its first half computed once
    wanted = planning.beyond_always(selected)
    todo = [i for i, (x, _) in enumerate(page.items) if not wanted <= x.fields]
    if not todo:
        return page
    items = [x for x, _ in page.items]
    found = await asyncio.gather(
        *(load(items[i]) for i in todo), return_exceptions=True
    )
    failed: dict[model.Provider, ProviderFailure] = {}
    for i, full in zip(todo, found, strict=True):
        if isinstance(full, ProviderFailure) and full.provider is not None:
            failed.setdefault(full.provider, full)
        elif isinstance(full, BaseException):
            raise full
        elif full is not None:
            items[i] = full
    detailed = replace(
        page, items=[(x, c) for x, (_, c) in zip(items, page.items, strict=True)]
    )
    if not failed:
        return detailed
    return pagination.without(detailed, failed, lambda x: x.provider)


async def applications(
    ctx: Context,
    f: ApplicationFilter | None,
    first: int | None,
    after: str | None,
    selected: frozenset[str],
) -> Slice[model.Application]:
    size = pagination.page_size(first)
    bound = authz.bind_filter(ctx.caller, f)
    if bound is None:
        return Slice(items=[], has_next_page=False, total_count=0)
    sources = application_sources(ctx, bound, max(size, 1))
    connectfi = any(s.provider is model.Provider.CONNECTFI for s in sources)
    if connectfi and bound.customer_id and "documents" in selected:
        _read_early(ctx, customer_owner(bound.customer_id))
    page = await pagination.merged_slice(
        sources,
        after,
        size,
        created_at=lambda a: a.created_at,
    )

    def detail(a: model.Application) -> Awaitable[model.Application | None]:
        if a.provider is model.Provider.APITURE:
            return ctx.loaders.apiture_application.load(a.key)
        return ctx.loaders.connectfi_application.load(a.key)

    return await with_detail(page, selected, detail)


def _read_early(ctx: Context, owner: model.Owner) -> None:
    """Start reading the documents of a connectFi customer's Mambu client now.

    A connectFi application's documents are those of the Mambu client whose id
    is its customer id (``schema.documents``), and a customer's list holds that
    customer's applications only: when documents are selected, which Mambu
    client to read is known before connectFi answers. Read through the
    request's loader, the documents of every listed application then come from
    this one read, made alongside the list's rather than after it (one round
    trip instead of two). When the customer has no application, the read was
    not needed: one Mambu call more, for the round trip saved otherwise.
    """
    early = asyncio.ensure_future(ctx.loaders.documents_by_owner.load(owner))
    # Its failure reaches whoever reads the documents; unread, it is dropped.
    early.add_done_callback(_retrieved)


def _retrieved(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()


async def enrollments(
    ctx: Context,
    f: EnrollmentFilter | None,
    first: int | None,
    after: str | None,
    selected: frozenset[str],
) -> Slice[model.Enrollment]:
    f = f or EnrollmentFilter()
    size = pagination.page_size(first)
    states = frozenset(model.State[s.name] for s in f.states or ())
    query = model.ApplicationQuery(states=states, search=f.search)
    if authz.is_staff(ctx.caller):
        source = Source(
            model.Provider.APITURE,
            lambda offset, limit: ctx.upstreams.apiture.list_enrollments(
                query, offset, limit
            ),
            chunk=max(size, 1),
        )
    else:
        own = await _own_enrollments(ctx, query)
        source = Source(model.Provider.APITURE, _listed(own), chunk=max(size, 1))
    page = await pagination.merged_slice(
        [source], after, size, created_at=lambda _: None
    )

    def detail(e: model.Enrollment) -> Awaitable[model.Enrollment | None]:
        return ctx.loaders.apiture_enrollment.load(e.key)

    return await with_detail(page, selected, detail)


SCAN_CHUNK = 100  # Apiture's own default page


async def _own_enrollments(
    ctx: Context, query: model.ApplicationQuery
) -> list[model.Enrollment]:
    """The caller's enrollments among those matching ``query``, in their order.

    Apiture's collection cannot be filtered by applicant (seed L3214-3229: no
    ``applicant`` parameter) and its summaries do not name one: every matching
    enrollment is read in full and only the caller's are kept, so the count,
    the pages and the search answer over the caller's records alone (paging
    Apiture's collection and dropping others' items counted everyone's). A
    page of an applicant's list needs this whole walk anyway: it fills only
    once every enrollment has been seen.
    """
    if not ctx.caller.apiture_contact:
        return []  # owns no enrollment: nothing to ask
    own: list[model.Enrollment] = []
    offset = 0
    while True:
        page = await ctx.upstreams.apiture.list_enrollments(query, offset, SCAN_CHUNK)
        found = await asyncio.gather(
            *(ctx.loaders.apiture_enrollment.load(e.key) for e in page.items)
        )
        own += [e for e in found if e and authz.owns_enrollment(ctx.caller, e)]
        offset += len(page.items)
        if not page.has_more or not page.items:
            return own


def _listed(items: Sequence[R]) -> Callable[[int, int], Awaitable[model.Page[R]]]:
    """A provider collection that came whole, paged like the others."""

    async def fetch(offset: int, limit: int) -> model.Page[R]:
        chunk = items[offset : offset + limit]
        return model.Page(chunk, offset, len(items), offset + limit < len(items))

    return fetch


async def _document_source(
    ctx: Context, owner: model.Owner, chunk: int
) -> Source[model.Document]:
    kind = owner.kind
    if kind in (
        model.OwnerKind.CONNECTFI_CUSTOMER,
        model.OwnerKind.CONNECTFI_APPLICATION,
    ):
        # A connectFi customer's documents live on the Mambu client of that id;
        # an application's owner id names its customer first.
        owner = customer_owner(connectfi_mapping.customer_of(owner.id))
        kind = owner.kind
    if kind.name.startswith("MAMBU_"):
        mambu_owner = owner
        return Source(
            model.Provider.MAMBU,
            lambda offset, limit: ctx.upstreams.mambu.list_documents(
                mambu_owner, offset=offset, limit=limit
            ),
            chunk=chunk,
            exact_total=False,
        )
    if kind is model.OwnerKind.APITURE_APPLICATION:
        app = await ctx.loaders.apiture_application.load(owner.id)
        docs = app.documents if app else ()
        return Source(model.Provider.APITURE, _listed(docs), chunk=chunk)
    if kind is model.OwnerKind.APITURE_ENROLLMENT:
        found = await ctx.loaders.apiture_enrollment.load(owner.id)
        docs = found.documents if found else ()
        return Source(model.Provider.APITURE, _listed(docs), chunk=chunk)
    raise ValidationFailed(
        "Auco lists no documents by signer: fetch each by its id",
        [Violation(("owner", "kind"), "not a listable owner")],
    )


async def documents(
    ctx: Context, owner: model.Owner, first: int | None, after: str | None
) -> Slice[model.Document]:
    size = pagination.page_size(first)
    if not await authz.owns_document_owner(ctx, owner):
        return Slice(items=[], has_next_page=False, total_count=0)
    source = await _document_source(ctx, owner, chunk=max(size, 1))
    try:
        return await pagination.merged_slice(
            [source], after, size, created_at=lambda _: None
        )
    except NotFound:
        # An owner the provider does not know has no documents, whichever the
        # provider: the same answer as for an Apiture record that does not exist.
        return Slice(items=[], has_next_page=False, total_count=0)
