"""The provider-neutral domain: what the gateway knows, whoever holds it.

Adapters return these frozen dataclasses; the GraphQL types in ``schema/`` are
derived from them. No record field is a provider's (descriptions may name one for
the API's readers): ``provider_state`` keeps each provider's own value verbatim,
the rest is normalized.

``key`` is what an adapter needs to find a record again (Apiture ``_id``, connectFi
``customerId/applicationId``, Mambu ``encodedKey``, Auco ``code``…). It is opaque above
the adapters and becomes part of the global GraphQL id.

``fields`` lists the domain field names a representation actually carried (a list
summary carries fewer than a detail). The schema compares it with the selection so
that no detail call is made when the summary already answers the query.

A field the GraphQL API shows is declared once, here: ``Annotated[type,
shown(description)]`` (:mod:`adapters.declaring`); the GraphQL types are derived
from these declarations (``schema.types.presenting.shows``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, BinaryIO, Generic, TypeVar

from adapters.declaring import shown
from adapters.records import quick_init

T = TypeVar("T")


class Provider(enum.Enum):
    APITURE = "apiture"
    CONNECTFI = "connectfi"
    AUCO = "auco"
    MAMBU = "mambu"


class State(enum.Enum):
    """Normalized lifecycle state of an application or an enrollment."""

    PENDING = "pending"
    RUNNING = "running"
    BLOCKED = "blocked"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    APPROVED = "approved"


TERMINAL_STATES = frozenset(
    {State.CANCELED, State.EXPIRED, State.REJECTED, State.APPROVED}
)


class Action(enum.Enum):
    """State actions. Enrollments know only APPROVE and REJECT."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    EXPIRE = "expire"
    START = "start"


class DocumentStatus(enum.Enum):
    AWAITING_UPLOAD = "awaiting_upload"
    UPLOADED = "uploaded"
    AWAITING_SIGNATURE = "awaiting_signature"
    SIGNED = "signed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELED = "canceled"


class OwnerKind(enum.Enum):
    """Who a document belongs to. Mambu holder types plus the other providers'."""

    APITURE_APPLICATION = "apiture_application"
    APITURE_ENROLLMENT = "apiture_enrollment"
    CONNECTFI_CUSTOMER = "connectfi_customer"
    CONNECTFI_APPLICATION = "connectfi_application"
    AUCO_SIGNER = "auco_signer"  # documents sent to one signer's email
    MAMBU_CLIENT = "mambu_client"
    MAMBU_GROUP = "mambu_group"
    MAMBU_LOAN = "mambu_loan"
    MAMBU_SAVINGS = "mambu_savings"
    MAMBU_LOAN_PRODUCT = "mambu_loan_product"
    MAMBU_SAVINGS_PRODUCT = "mambu_savings_product"
    MAMBU_BRANCH = "mambu_branch"
    MAMBU_CENTRE = "mambu_centre"
    MAMBU_USER = "mambu_user"


@dataclass(frozen=True)
class Money:
    value: Annotated[str, shown("Decimal amount, as a string: '1500.00'.")]
    currency: Annotated[str, shown("ISO 4217 currency code.")]


@dataclass(frozen=True)
class FundingAccount:
    title: Annotated[str | None, shown("Account holder's title.")] = None
    institution_name: Annotated[str | None, shown("Bank name.")] = None
    routing_number: Annotated[str | None, shown("ABA routing number.")] = None
    masked_account_number: Annotated[
        str | None, shown("Account number with all but the last digits masked.")
    ] = None


@dataclass(frozen=True)
class Applicant:
    name: Annotated[str | None, shown("Full display name.")] = None
    first_name: Annotated[str | None, shown("Given name.")] = None
    last_name: Annotated[str | None, shown("Family name.")] = None
    username: Annotated[str | None, shown("Online banking username.")] = None
    role: Annotated[str | None, shown("Role, e.g. primaryUser.")] = None
    email: Annotated[str | None, shown("Preferred email address.")] = None
    phone: Annotated[str | None, shown("Preferred phone number.")] = None
    birthdate: Annotated[str | None, shown("Date of birth, YYYY-MM-DD.")] = None
    verified: Annotated[bool | None, shown("Whether identity verification passed.")] = (
        None
    )
    contact_id: Annotated[
        str | None, shown("The provider's contact id for this person.")
    ] = None


@dataclass(frozen=True)
class ApplicationEntity:
    """One entity (customer or business representative) of a connectFi application."""

    entity_id: Annotated[str, shown("connectFi entity id.")]
    is_customer: Annotated[bool, shown("True for the customer itself.")]
    state: Annotated[State, shown("Normalized state.")]
    provider_state: Annotated[str, shown("connectFi's own status.")]
    outcome: Annotated[str | None, shown("Approved or Denied when done.")] = None


@dataclass(frozen=True)
class RequiredDocument:
    label: Annotated[str | None, shown("What to show the applicant.")] = None
    type: Annotated[str | None, shown("Document type, e.g. governmentId.")] = None
    category: Annotated[str | None, shown("e.g. driversLicense.")] = None
    product_target: Annotated[str | None, shown("personal or business.")] = None
    document_uri: Annotated[str | None, shown("Where it is described.")] = None
    require_if_verified: Annotated[
        bool | None, shown("Required even when identity is already verified.")
    ] = None


@dataclass(frozen=True)
class Owner:
    kind: Annotated[OwnerKind, shown("What kind of record.")]
    id: Annotated[str, shown("The provider's id of that record.")]


@dataclass(frozen=True)
class Signer:
    name: Annotated[str | None, shown("Signer's name.")]
    email: Annotated[str | None, shown("Signer's email.")]
    phone: Annotated[str | None, shown("Signer's phone.")] = None
    # Auco: SIGNER, READER…
    role: Annotated[str | None, shown("SIGNER, READER, …")] = None
    order: Annotated[int | None, shown("Position in the signing order.")] = None
    # the provider's own value
    status: Annotated[str | None, shown("The provider's own status.")] = None
    signed_at: Annotated[datetime | None, shown("When they signed.")] = None


@dataclass(frozen=True, kw_only=True)
class Document:
    provider: Annotated[Provider, shown("Where the document lives.")]
    key: str
    # The provider's own id, when ``key`` is more (the API shows ``key`` then).
    provider_id: Annotated[
        str | None,
        shown(
            "The provider's id: connectFi doc id, Auco code, Mambu "
            "encodedKey, Apiture document URI."
        ),
    ] = None
    name: Annotated[str, shown("File or document name.")]
    kind: Annotated[
        str | None,
        shown("The provider's document type (passport, license, contract…)."),
    ] = None
    file_extension: Annotated[str | None, shown("e.g. pdf, jpg.")] = None
    content_type: Annotated[str | None, shown("MIME type.")] = None
    size: Annotated[int | None, shown("Size in bytes, when known.")] = None
    status: Annotated[DocumentStatus, shown("Normalized status.")]
    provider_status: Annotated[
        str | None, shown("The provider's own status value.")
    ] = None
    created_at: Annotated[datetime | None, shown("When it was created.")] = None
    owner: Annotated[Owner | None, shown("The record it belongs to.")] = None
    download_url: Annotated[
        str | None,
        shown("Where to download it, where the provider gives a link (Auco)."),
    ] = None
    signers: Annotated[
        tuple[Signer, ...],
        shown("Signature participants and their status (Auco)."),
    ] = ()


_ETAG = "Entity tag of this version; send it back as `ifMatch`."
_CREATED = "When it was created."
_COMPLETED = "When it reached a terminal state."


@dataclass(frozen=True)
class Application:
    provider: Annotated[Provider, shown("Where it lives.")]
    key: str
    provider_id: Annotated[
        str,
        shown("The provider's id: Apiture `_id` or connectFi `applicationId`."),
    ]
    state: Annotated[State, shown("Normalized state (see the README's state table).")]
    provider_state: Annotated[
        str, shown("The provider's own state value, e.g. `pending_step_up`.")
    ]
    name: Annotated[str | None, shown("Account name (Apiture).")] = None
    product_name: Annotated[str | None, shown("Banking product.")] = None
    applicant_name: Annotated[str | None, shown("Primary applicant.")] = None
    customer_id: Annotated[str | None, shown("connectFi customer id.")] = None
    reference: Annotated[
        str | None, shown("The client's own reference (connectFi).")
    ] = None
    outcome: Annotated[
        str | None, shown("connectFi outcome once completed: Approved or Denied.")
    ] = None
    created_at: Annotated[datetime | None, shown(_CREATED)] = None
    completed_at: Annotated[datetime | None, shown(_COMPLETED)] = None
    funding_amount: Annotated[
        Money | None, shown("Initial deposit requested (Apiture).")
    ] = None
    funding_account: Annotated[
        FundingAccount | None,
        shown("External account funding the deposit (Apiture)."),
    ] = None
    applicants: Annotated[tuple[Applicant, ...], shown("The applicants.")] = ()
    entities: Annotated[
        tuple[ApplicationEntity, ...],
        shown("connectFi entityApplications: one per customer/representative."),
    ] = ()
    # The documents listed on the application itself; the API's field also
    # reads those held elsewhere (a resolver).
    documents: Annotated[
        tuple[Document, ...],
        shown(
            "Documents of this application, across providers: those "
            "listed on an Apiture application; the Mambu attachments of a "
            "connectFi customer's matching Mambu client.",
            resolver=True,
        ),
    ] = ()
    available_actions: Annotated[
        frozenset[Action],
        shown(
            "The state actions allowed now, from the provider's action "
            "links or state machine."
        ),
    ] = frozenset()
    version: Annotated[str | None, shown(_ETAG)] = None
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Enrollment:
    provider: Annotated[Provider, shown("Where it lives.")]
    key: str
    provider_id: Annotated[str, shown("The provider's id (`_id`).")]
    state: Annotated[State, shown("Normalized state.")]
    provider_state: Annotated[str, shown("The provider's own state.")]
    name: str | None = None
    applicant_name: Annotated[str | None, shown("Enrolling person.")] = None
    applicant: Annotated[Applicant | None, shown("The enrolling applicant.")] = None
    applicants: Annotated[tuple[Applicant, ...], shown("All applicants.")] = ()
    required_documents: Annotated[
        tuple[RequiredDocument, ...], shown("Documents the enrollment requires.")
    ] = ()
    documents: Annotated[
        tuple[Document, ...],
        shown("Documents listed on the enrollment.", resolver=True),
    ] = ()
    flagged_for_review: Annotated[
        bool | None,
        shown("Flagged for manual review by the financial institution."),
    ] = None
    created_at: Annotated[datetime | None, shown(_CREATED)] = None
    completed_at: Annotated[datetime | None, shown(_COMPLETED)] = None
    available_actions: Annotated[
        frozenset[Action],
        shown("The actions allowed now, from the provider's action links."),
    ] = frozenset()
    version: Annotated[str | None, shown(_ETAG)] = None
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a provider collection, offset-addressed."""

    items: Sequence[T]
    offset: int
    total: int | None  # None where the provider does not say
    has_more: bool


@dataclass(frozen=True)
class ApplicationQuery:
    """What a caller may ask of an application collection (all optional, ANDed)."""

    states: frozenset[State] = frozenset()
    customer_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    search: str | None = None
    sort: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicantInput:
    """An applicant as a caller describes one (create, replace, update)."""

    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    birthdate: str | None = None
    tax_id: str | None = None


@dataclass(frozen=True)
class ApplicationInput:
    """Create (product required), replace (all of it) or update (None = unchanged)."""

    product_uri: str | None = None
    account_name: str | None = None
    product_name: str | None = None
    organization_name: str | None = None
    funding_amount: Money | None = None
    applicants: tuple[ApplicantInput, ...] | None = None


@dataclass(frozen=True)
class EnrollmentInput:
    """Create, replace or update an enrollment (None = unchanged on update)."""

    applicant: ApplicantInput | None = None
    required_documents: tuple[RequiredDocument, ...] | None = None


@dataclass(frozen=True)
class Upload:
    """A file on its way to a provider: read in chunks, never whole in memory.

    ``file`` is positioned at 0 and seekable (a spooled temporary file from the
    multipart request); adapters stream it upstream in chunks.
    """

    filename: str
    content_type: str | None
    size: int
    file: BinaryIO


# Records made for every item of every answer: built with a quicker __init__ --------


for _record in (
    Money,
    FundingAccount,
    Applicant,
    ApplicationEntity,
    RequiredDocument,
    Owner,
    Signer,
    Document,
    Application,
    Enrollment,
):
    quick_init(_record)
