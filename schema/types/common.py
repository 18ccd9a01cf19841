"""Enums and small value types shared by the GraphQL object types."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from adapters import model
from schema.types.presenting import FromDomain


@strawberry.enum(description="The provider that holds a record.")
class Provider(enum.Enum):
    APITURE = "APITURE"
    CONNECTFI = "CONNECTFI"
    AUCO = "AUCO"
    MAMBU = "MAMBU"


@strawberry.enum(description="Normalized state of an application; see providerState.")
class ApplicationState(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    BLOCKED = "BLOCKED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    APPROVED = "APPROVED"


@strawberry.enum(description="Normalized state of an enrollment; see providerState.")
class EnrollmentState(enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    BLOCKED = "BLOCKED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    APPROVED = "APPROVED"


@strawberry.enum(description="A state action on an application.")
class ApplicationAction(enum.Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"
    START = "START"


@strawberry.enum(description="A state action on an enrollment.")
class EnrollmentAction(enum.Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


@strawberry.enum(description="Normalized status of a document; see providerStatus.")
class DocumentStatus(enum.Enum):
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    UPLOADED = "UPLOADED"
    AWAITING_SIGNATURE = "AWAITING_SIGNATURE"
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"


@strawberry.enum(description="Who a document belongs to.")
class DocumentOwnerKind(enum.Enum):
    APITURE_APPLICATION = "APITURE_APPLICATION"
    APITURE_ENROLLMENT = "APITURE_ENROLLMENT"
    CONNECTFI_CUSTOMER = "CONNECTFI_CUSTOMER"
    CONNECTFI_APPLICATION = "CONNECTFI_APPLICATION"
    AUCO_SIGNER = "AUCO_SIGNER"
    MAMBU_CLIENT = "MAMBU_CLIENT"
    MAMBU_GROUP = "MAMBU_GROUP"
    MAMBU_LOAN = "MAMBU_LOAN"
    MAMBU_SAVINGS = "MAMBU_SAVINGS"
    MAMBU_LOAN_PRODUCT = "MAMBU_LOAN_PRODUCT"
    MAMBU_SAVINGS_PRODUCT = "MAMBU_SAVINGS_PRODUCT"
    MAMBU_BRANCH = "MAMBU_BRANCH"
    MAMBU_CENTRE = "MAMBU_CENTRE"
    MAMBU_USER = "MAMBU_USER"


@strawberry.type(description="An amount of money.")
class Money(FromDomain):
    value: str = strawberry.field(description="Decimal amount, as a string: '1500.00'.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


@strawberry.type(description="The external account that funds a new account.")
class FundingAccount(FromDomain):
    title: str | None = strawberry.field(description="Account holder's title.")
    institution_name: str | None = strawberry.field(description="Bank name.")
    routing_number: str | None = strawberry.field(description="ABA routing number.")
    masked_account_number: str | None = strawberry.field(
        description="Account number with all but the last digits masked."
    )


@strawberry.type(description="A person applying or enrolling.")
class Applicant(FromDomain):
    name: str | None = strawberry.field(description="Full display name.")
    first_name: str | None = strawberry.field(description="Given name.")
    last_name: str | None = strawberry.field(description="Family name.")
    username: str | None = strawberry.field(description="Online banking username.")
    role: str | None = strawberry.field(description="Role, e.g. primaryUser.")
    email: str | None = strawberry.field(description="Preferred email address.")
    phone: str | None = strawberry.field(description="Preferred phone number.")
    birthdate: str | None = strawberry.field(description="Date of birth, YYYY-MM-DD.")
    verified: bool | None = strawberry.field(
        description="Whether identity verification passed."
    )
    contact_id: str | None = strawberry.field(
        description="The provider's contact id for this person."
    )


@strawberry.type(
    description="An entity of a connectFi application: the customer or a "
    "business representative, with its own status."
)
class ApplicationEntity(FromDomain):
    entity_id: str = strawberry.field(description="connectFi entity id.")
    is_customer: bool = strawberry.field(description="True for the customer itself.")
    state: ApplicationState = strawberry.field(description="Normalized state.")
    provider_state: str = strawberry.field(description="connectFi's own status.")
    outcome: str | None = strawberry.field(description="Approved or Denied when done.")


@strawberry.type(description="A document an enrollment requires.")
class RequiredDocument(FromDomain):
    label: str | None = strawberry.field(description="What to show the applicant.")
    type: str | None = strawberry.field(description="Document type, e.g. governmentId.")
    category: str | None = strawberry.field(description="e.g. driversLicense.")
    product_target: str | None = strawberry.field(description="personal or business.")
    document_uri: str | None = strawberry.field(description="Where it is described.")
    require_if_verified: bool | None = strawberry.field(
        description="Required even when identity is already verified."
    )


@strawberry.type(description="A participant in an e-signature process (Auco).")
class Signer(FromDomain):
    name: str | None = strawberry.field(description="Signer's name.")
    email: str | None = strawberry.field(description="Signer's email.")
    phone: str | None = strawberry.field(description="Signer's phone.")
    role: str | None = strawberry.field(description="SIGNER, READER, …")
    order: int | None = strawberry.field(description="Position in the signing order.")
    status: str | None = strawberry.field(description="The provider's own status.")
    signed_at: datetime | None = strawberry.field(description="When they signed.")


@strawberry.type(description="The record a document belongs to.")
class DocumentOwner(FromDomain):
    kind: DocumentOwnerKind = strawberry.field(description="What kind of record.")
    id: str = strawberry.field(description="The provider's id of that record.")


@strawberry.input(description="The record whose documents to list.")
class DocumentOwnerInput:
    kind: DocumentOwnerKind = strawberry.field(description="What kind of record.")
    id: str = strawberry.field(description="The provider's id of that record.")

    def to_domain(self) -> model.Owner:
        return model.Owner(kind=model.OwnerKind[self.kind.name], id=self.id)


@strawberry.input(description="An amount of money.")
class MoneyInput:
    value: str = strawberry.field(description="Decimal amount, as a string.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
