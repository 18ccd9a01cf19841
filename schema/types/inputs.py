"""Input types of queries and mutations, each with its domain conversion."""

from __future__ import annotations

from datetime import datetime

import strawberry

from adapters import model
from schema.types.common import (
    ApplicationState,
    EnrollmentState,
    MoneyInput,
    Provider,
)


@strawberry.input(description="An applicant, as the caller describes one.")
class ApplicantInput:
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    username: str | None = strawberry.field(default=None, description="Username.")
    role: str | None = strawberry.field(
        default=None, description="Role name, e.g. primaryUser."
    )
    email: str | None = strawberry.field(default=None, description="Email address.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    birthdate: str | None = strawberry.field(
        default=None, description="Date of birth, YYYY-MM-DD."
    )
    tax_id: str | None = strawberry.field(default=None, description="Tax id (SSN).")

    def to_domain(self) -> model.ApplicantInput:
        return model.ApplicantInput(
            first_name=self.first_name,
            last_name=self.last_name,
            username=self.username,
            role=self.role,
            email=self.email,
            phone=self.phone,
            birthdate=self.birthdate,
            tax_id=self.tax_id,
        )


def _money(m: MoneyInput | None) -> model.Money | None:
    return model.Money(value=m.value, currency=m.currency) if m else None


def _applicants(
    a: list[ApplicantInput] | None,
) -> tuple[model.ApplicantInput, ...] | None:
    return tuple(x.to_domain() for x in a) if a is not None else None


@strawberry.input(
    description="A new application, or the whole of one (replaceApplication)."
)
class ApplicationInput:
    product_uri: str = strawberry.field(
        description="URI of the banking product applied for (required by Apiture)."
    )
    account_name: str | None = strawberry.field(
        default=None, description="Name of the new account."
    )
    product_name: str | None = strawberry.field(
        default=None, description="Name of the product."
    )
    organization_name: str | None = strawberry.field(
        default=None, description="Business name, for business accounts."
    )
    funding_amount: MoneyInput | None = strawberry.field(
        default=None, description="Initial deposit."
    )
    applicants: list[ApplicantInput] | None = strawberry.field(
        default=None, description="The applicants."
    )

    def to_domain(self) -> model.ApplicationInput:
        return model.ApplicationInput(
            product_uri=self.product_uri,
            account_name=self.account_name,
            product_name=self.product_name,
            organization_name=self.organization_name,
            funding_amount=_money(self.funding_amount),
            applicants=_applicants(self.applicants),
        )


@strawberry.input(description="Changes to an application: omitted fields stay.")
class ApplicationChangesInput:
    account_name: str | None = strawberry.field(
        default=None, description="Name of the new account."
    )
    product_name: str | None = strawberry.field(
        default=None, description="Name of the product."
    )
    organization_name: str | None = strawberry.field(
        default=None, description="Business name."
    )
    funding_amount: MoneyInput | None = strawberry.field(
        default=None, description="Initial deposit."
    )
    applicants: list[ApplicantInput] | None = strawberry.field(
        default=None, description="The applicants (replaces the list)."
    )

    def to_domain(self) -> model.ApplicationInput:
        return model.ApplicationInput(
            account_name=self.account_name,
            product_name=self.product_name,
            organization_name=self.organization_name,
            funding_amount=_money(self.funding_amount),
            applicants=_applicants(self.applicants),
        )


@strawberry.input(description="A document an enrollment requires.")
class RequiredDocumentInput:
    label: str | None = strawberry.field(default=None, description="Label.")
    type: str | None = strawberry.field(default=None, description="Document type.")
    category: str | None = strawberry.field(default=None, description="Category.")
    product_target: str | None = strawberry.field(
        default=None, description="personal or business."
    )
    document_uri: str | None = strawberry.field(
        default=None, description="Where it is described."
    )
    require_if_verified: bool | None = strawberry.field(
        default=None, description="Required even when verified."
    )

    def to_domain(self) -> model.RequiredDocument:
        return model.RequiredDocument(
            label=self.label,
            type=self.type,
            category=self.category,
            product_target=self.product_target,
            document_uri=self.document_uri,
            require_if_verified=self.require_if_verified,
        )


@strawberry.input(
    description="An enrollment: create, replace, or update (omitted fields stay)."
)
class EnrollmentInput:
    applicant: ApplicantInput | None = strawberry.field(
        default=None, description="The enrolling person."
    )
    required_documents: list[RequiredDocumentInput] | None = strawberry.field(
        default=None, description="Documents the enrollment requires."
    )

    def to_domain(self) -> model.EnrollmentInput:
        return model.EnrollmentInput(
            applicant=self.applicant.to_domain() if self.applicant else None,
            required_documents=tuple(r.to_domain() for r in self.required_documents)
            if self.required_documents is not None
            else None,
        )


@strawberry.input(
    description="Which applications to list. Every field is optional; they are "
    "ANDed. connectFi lists per customer, so its applications appear only when "
    "`customerId` is given; Apiture's appear unless `customerId` is given without "
    "`applicantContact`."
)
class ApplicationFilter:
    providers: list[Provider] | None = strawberry.field(
        default=None, description="Only these providers."
    )
    states: list[ApplicationState] | None = strawberry.field(
        default=None, description="Only these normalized states."
    )
    customer_id: str | None = strawberry.field(
        default=None, description="connectFi customer id."
    )
    applicant_contact: str | None = strawberry.field(
        default=None, description="Apiture applicant contact URI."
    )
    created_from: datetime | None = strawberry.field(
        default=None, description="Created at or after."
    )
    created_to: datetime | None = strawberry.field(
        default=None, description="Created at or before."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive text in names, product or reference.",
    )

    def states_domain(self) -> frozenset[model.State]:
        return frozenset(model.State[s.name] for s in self.states or ())


@strawberry.input(description="Which enrollments to list.")
class EnrollmentFilter:
    states: list[EnrollmentState] | None = strawberry.field(
        default=None, description="Only these normalized states."
    )
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive text in the applicant's name."
    )


@strawberry.input(
    description="Start connectFi identification (KYC/KYB) for a customer: connectFi "
    "posts the application's manual review to the gateway, which delivers it to "
    "`applicationUpdated` subscriptions."
)
class IdentificationInput:
    customer_id: str = strawberry.field(
        description="The connectFi customer (`cstap_…`), created beforehand."
    )
    reference: str = strawberry.field(
        description="The caller's reference: 1 to 32 letters or digits, one per "
        "identification of the customer."
    )
