"""Enums and small value types shared by the GraphQL object types."""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from adapters import model
from schema.types.presenting import FromDomain, shows


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


# The API's enums for the records' (each record's state and actions are its own).
ENUMS: dict[Any, Any] = {
    model.Provider: Provider,
    model.DocumentStatus: DocumentStatus,
    model.OwnerKind: DocumentOwnerKind,
}

# Each type below shows the fields its record declares (schema.types.presenting).


@strawberry.type(description="An amount of money.")
@shows(model.Money, ENUMS)
class Money(FromDomain):
    pass


@strawberry.type(description="The external account that funds a new account.")
@shows(model.FundingAccount, ENUMS)
class FundingAccount(FromDomain):
    pass


@strawberry.type(description="A person applying or enrolling.")
@shows(model.Applicant, ENUMS)
class Applicant(FromDomain):
    pass


@strawberry.type(
    description="An entity of a connectFi application: the customer or a "
    "business representative, with its own status."
)
@shows(model.ApplicationEntity, {**ENUMS, model.State: ApplicationState})
class ApplicationEntity(FromDomain):
    pass


@strawberry.type(description="A document an enrollment requires.")
@shows(model.RequiredDocument, ENUMS)
class RequiredDocument(FromDomain):
    pass


@strawberry.type(description="A participant in an e-signature process (Auco).")
@shows(model.Signer, ENUMS)
class Signer(FromDomain):
    pass


@strawberry.type(description="The record a document belongs to.")
@shows(model.Owner, ENUMS)
class DocumentOwner(FromDomain):
    pass


# The API's types for the records' enums and nested records.
VALUES: dict[Any, Any] = {
    **ENUMS,
    model.Money: Money,
    model.FundingAccount: FundingAccount,
    model.Applicant: Applicant,
    model.ApplicationEntity: ApplicationEntity,
    model.RequiredDocument: RequiredDocument,
    model.Signer: Signer,
    model.Owner: DocumentOwner,
}


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
