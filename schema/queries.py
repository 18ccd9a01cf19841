"""The root ``Query``. Resolvers are a few lines: loader or listing, then map."""

from __future__ import annotations

from collections.abc import Awaitable

import strawberry

from schema import authz, ids, listing, planning
from schema.context import Context, Info
from schema.providers import ProviderStatus, provider_statuses
from schema.types.application import Application
from schema.types.common import DocumentOwnerInput
from schema.types.connections import Connection
from schema.types.document import Document
from schema.types.enrollment import Enrollment
from schema.types.inputs import ApplicationFilter, EnrollmentFilter
from schema.types.node import Node

NODE = ("edges", "node")


async def resolve_node(ctx: Context, raw: str) -> Node | None:
    gid = ids.decode(raw)
    if gid is None:
        return None
    if gid.typename == "Application":
        app = await authz.visible_application(ctx, gid)
        return Application.from_domain(app) if app else None
    if gid.typename == "Enrollment":
        enrollment = await authz.visible_enrollment(ctx, gid)
        return Enrollment.from_domain(enrollment) if enrollment else None
    document = await authz.visible_document(ctx, gid)
    return Document.from_domain(document) if document else None


@strawberry.type(description="Read the onboarding journey across providers.")
class Query:
    @strawberry.field(description="Any record by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(
        description="Several records by global id, in order.",
        graphql_type=list[Node | None],
    )
    def nodes(
        self, info: Info, ids: list[strawberry.ID]
    ) -> list[Awaitable[Node | None]]:
        # One awaitable per item: graphql-core reads them concurrently and
        # completes each at its own path, so a provider that fails nulls only
        # its items (error at ["nodes", i]), never the list.
        return [resolve_node(info.context, i) for i in ids]

    @strawberry.field(description="One application by global id.")
    async def application(self, info: Info, id: strawberry.ID) -> Application | None:
        gid = ids.decode(id)
        app = await authz.visible_application(info.context, gid) if gid else None
        return Application.from_domain(app) if app else None

    @strawberry.field(
        description="Applications across Apiture and connectFi, newest first, in "
        "one Relay connection (at most 100 a page)."
    )
    async def applications(
        self,
        info: Info,
        filter: ApplicationFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Application]:
        selected = planning.selected_fields(info, NODE)
        page = listing.applications(info.context, filter, first, after, selected)
        return await Connection.answer(info, page, Application.from_domain, after)

    @strawberry.field(description="One enrollment by global id.")
    async def enrollment(self, info: Info, id: strawberry.ID) -> Enrollment | None:
        gid = ids.decode(id)
        found = await authz.visible_enrollment(info.context, gid) if gid else None
        return Enrollment.from_domain(found) if found else None

    @strawberry.field(description="Apiture enrollments, in one Relay connection.")
    async def enrollments(
        self,
        info: Info,
        filter: EnrollmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Enrollment]:
        selected = planning.selected_fields(info, NODE)
        page = listing.enrollments(info.context, filter, first, after, selected)
        return await Connection.answer(info, page, Enrollment.from_domain, after)

    @strawberry.field(description="One document by global id.")
    async def document(self, info: Info, id: strawberry.ID) -> Document | None:
        gid = ids.decode(id)
        found = await authz.visible_document(info.context, gid) if gid else None
        return Document.from_domain(found) if found else None

    @strawberry.field(
        description="Documents of one record: a Mambu client, loan, savings "
        "account, product, branch, centre, group or user; an Apiture application "
        "or enrollment; a connectFi customer or application (the Mambu client of "
        "that customer id)."
    )
    async def documents(
        self,
        info: Info,
        owner: DocumentOwnerInput,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Document]:
        page = listing.documents(info.context, owner.to_domain(), first, after)
        return await Connection.answer(info, page, Document.from_domain, after)

    @strawberry.field(
        description="Each provider: sandbox or configured, reachable, latency."
    )
    async def providers(self, info: Info) -> list[ProviderStatus]:
        return await provider_statuses(info.context)
