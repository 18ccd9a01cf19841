"""``Application``: an account application (Apiture) or a KYC application
(connectFi), normalized."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry

from adapters import model
from engine.fields import at_hand
from engine.plans import immutable
from engine.presented import Presented
from schema import ids
from schema.context import Info
from schema.documents import documents_of_application
from schema.types.common import (
    Applicant,
    ApplicationAction,
    ApplicationEntity,
    ApplicationState,
    FundingAccount,
    Money,
    Provider,
)
from schema.types.document import Document, answered, listed_documents
from schema.types.node import Node
from schema.types.presenting import by_name, presenter


@strawberry.type(
    description="An application for a new account (Apiture) or a KYC/KYB "
    "application of a customer (connectFi), with its state normalized."
)
class Application(Node):
    provider: Provider = strawberry.field(description="Where it lives.")
    provider_id: str = strawberry.field(
        description="The provider's id: Apiture `_id` or connectFi `applicationId`."
    )
    state: ApplicationState = strawberry.field(
        description="Normalized state (see the README's state table)."
    )
    provider_state: str = strawberry.field(
        description="The provider's own state value, e.g. `pending_step_up`."
    )
    name: str | None = strawberry.field(description="Account name (Apiture).")
    product_name: str | None = strawberry.field(description="Banking product.")
    applicant_name: str | None = strawberry.field(description="Primary applicant.")
    customer_id: str | None = strawberry.field(description="connectFi customer id.")
    reference: str | None = strawberry.field(
        description="The client's own reference (connectFi)."
    )
    outcome: str | None = strawberry.field(
        description="connectFi outcome once completed: Approved or Denied."
    )
    created_at: datetime | None = strawberry.field(description="When it was created.")
    completed_at: datetime | None = strawberry.field(
        description="When it reached a terminal state."
    )
    funding_amount: Money | None = strawberry.field(
        description="Initial deposit requested (Apiture)."
    )
    funding_account: FundingAccount | None = strawberry.field(
        description="External account funding the deposit (Apiture)."
    )
    applicants: list[Applicant] = strawberry.field(description="The applicants.")
    entities: list[ApplicationEntity] = strawberry.field(
        description="connectFi entityApplications: one per customer/representative."
    )
    available_actions: list[ApplicationAction] = strawberry.field(
        description="The state actions allowed now, from the provider's action "
        "links or state machine."
    )
    version: str | None = strawberry.field(
        description="Entity tag of this version; send it back as `ifMatch`."
    )
    domain: strawberry.Private[model.Application]
    # The documents the record itself lists (a detailed Apiture record),
    # presented; None when they must be read.
    listed_documents: strawberry.Private[list[Document] | None]
    # Shared by every request that gets the same record: only a record read
    # with its ETag (the client's ETag cache hands that very record out again);
    # a list summary comes once, so it is made per request and not kept.
    kept: strawberry.Private[bool]

    @strawberry.field(
        description="Documents of this application, across providers: those "
        "listed on an Apiture application; the Mambu attachments of a connectFi "
        "customer's matching Mambu client.",
        graphql_type=list[Document] | None,
    )
    @at_hand("listed_documents")
    def documents(self, info: Info) -> list[Document] | Awaitable[list[Document]]:
        return answered(
            self.listed_documents,
            lambda: documents_of_application(info.context, self.domain),
        )

    @classmethod
    def from_domain(cls, a: model.Application) -> Application:
        if a.version is None:
            return _make(a)
        return _PRESENTED.made(a, _make)


# Every other field is the record's attribute of its name (schema.types.presenting).
_make = presenter(
    Application,
    id=lambda a: strawberry.ID(ids.encode("Application", a.provider, a.key)),
    available_actions=lambda a: (
        [
            by_name(ApplicationAction, x)
            for x in sorted(a.available_actions, key=lambda x: x.name)
        ]
        if a.available_actions
        else []
    ),
    domain=lambda a: a,
    listed_documents=listed_documents,
    kept=lambda a: a.version is not None,
)
_PRESENTED: Presented[model.Application, Application] = Presented()
# made by from_domain, never modified; shared when kept
immutable(Application, kept_if="kept")
