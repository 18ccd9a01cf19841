"""``Application``: an account application (Apiture) or a KYC application
(connectFi), normalized."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Self

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
    by_name,
)
from schema.types.document import Document, answered, listed_documents
from schema.types.node import Node


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
        return _PRESENTED.made(a, cls._made)

    @classmethod
    def _made(cls, a: model.Application) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("Application", a.provider, a.key)),
            provider=by_name(Provider, a.provider),
            provider_id=a.provider_id,
            state=by_name(ApplicationState, a.state),
            provider_state=a.provider_state,
            name=a.name,
            product_name=a.product_name,
            applicant_name=a.applicant_name,
            customer_id=a.customer_id,
            reference=a.reference,
            outcome=a.outcome,
            created_at=a.created_at,
            completed_at=a.completed_at,
            funding_amount=Money.from_domain(a.funding_amount)
            if a.funding_amount
            else None,
            funding_account=FundingAccount.from_domain(a.funding_account)
            if a.funding_account
            else None,
            applicants=[Applicant.from_domain(x) for x in a.applicants],
            entities=[ApplicationEntity.from_domain(e) for e in a.entities],
            available_actions=[
                by_name(ApplicationAction, x)
                for x in sorted(a.available_actions, key=lambda x: x.name)
            ],
            version=a.version,
            domain=a,
            listed_documents=listed_documents(a),
        )


_PRESENTED: Presented[model.Application, Application] = Presented()
immutable(Application)  # made once per record by from_domain, never modified
