"""Application mutations (Apiture): create, update (PATCH), replace (PUT), delete,
and the five state actions, each with ``ifMatch`` wired to the ETag; and
connectFi's start of identification, which gives connectFi the gateway's webhook
URL (``ConnectFiClient.webhook_url``)."""

from __future__ import annotations

import strawberry

from adapters import model
from schema.context import Info
from schema.errors import Deleted
from schema.mutations.common import (
    ApplicationResult,
    DeleteResult,
    IfMatch,
    apiture_key,
)
from schema.types.application import Application
from schema.types.inputs import (
    ApplicationChangesInput,
    ApplicationInput,
    IdentificationInput,
)


async def _act(
    info: Info, id: str, action: model.Action, if_match: str | None
) -> ApplicationResult:
    key = apiture_key(id, "Application")
    app = await info.context.upstreams.apiture.act_on_application(key, action, if_match)
    return Application.from_domain(app)


@strawberry.type
class ApplicationMutations:
    @strawberry.mutation(
        description="Apply for an account: starts the product's workflow (running)."
    )
    async def create_application(
        self, info: Info, input: ApplicationInput
    ) -> ApplicationResult:
        app = await info.context.upstreams.apiture.create_application(input.to_domain())
        return Application.from_domain(app)

    @strawberry.mutation(description="Change some fields; omitted ones stay.")
    async def update_application(
        self,
        info: Info,
        id: strawberry.ID,
        input: ApplicationChangesInput,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        key = apiture_key(id, "Application")
        app = await info.context.upstreams.apiture.update_application(
            key, input.to_domain(), if_match
        )
        return Application.from_domain(app)

    @strawberry.mutation(description="Replace the whole application.")
    async def replace_application(
        self,
        info: Info,
        id: strawberry.ID,
        input: ApplicationInput,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        key = apiture_key(id, "Application")
        app = await info.context.upstreams.apiture.replace_application(
            key, input.to_domain(), if_match
        )
        return Application.from_domain(app)

    @strawberry.mutation(
        description="Delete an application: Apiture allows it when it is pending "
        "or, for the financial institution, expired."
    )
    async def delete_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> DeleteResult:
        key = apiture_key(id, "Application")
        await info.context.upstreams.apiture.delete_application(key, if_match)
        return Deleted(id=strawberry.ID(id))

    @strawberry.mutation(description="Approve a running or blocked application.")
    async def approve_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        return await _act(info, id, model.Action.APPROVE, if_match)

    @strawberry.mutation(description="Reject a running or blocked application.")
    async def reject_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        return await _act(info, id, model.Action.REJECT, if_match)

    @strawberry.mutation(
        description="Cancel a running or blocked application (and its workflow)."
    )
    async def cancel_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        return await _act(info, id, model.Action.CANCEL, if_match)

    @strawberry.mutation(description="Expire a running or blocked application.")
    async def expire_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        return await _act(info, id, model.Action.EXPIRE, if_match)

    @strawberry.mutation(description="Resume a blocked application (to running).")
    async def start_application(
        self,
        info: Info,
        id: strawberry.ID,
        if_match: IfMatch = None,
    ) -> ApplicationResult:
        return await _act(info, id, model.Action.START, if_match)

    @strawberry.mutation(
        description="Start connectFi identification (KYC/KYB) for a customer: a new "
        "connectFi application. Its manual review reaches `applicationUpdated` "
        "subscriptions through connectFi's webhook."
    )
    async def start_identification(
        self, info: Info, input: IdentificationInput
    ) -> ApplicationResult:
        app = await info.context.upstreams.connectfi.start_identification(
            input.customer_id, reference=input.reference
        )
        return Application.from_domain(app)
