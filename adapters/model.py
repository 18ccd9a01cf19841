"""The provider-neutral domain: what the gateway knows, whoever holds it.

Adapters return these frozen dataclasses; the GraphQL types in ``schema/`` are thin
views over them. No provider field name appears here: ``provider_state`` keeps each
provider's own value verbatim, the rest is normalized.

``key`` is what an adapter needs to find a record again (Apiture ``_id``, connectFi
``customerId/applicationId``, Mambu ``encodedKey``, Auco ``code``…). It is opaque above
the adapters and becomes part of the global GraphQL id.

``fields`` lists the domain field names a representation actually carried (a list
summary carries fewer than a detail). The schema compares it with the selection so
that no detail call is made when the summary already answers the query.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Generic, TypeVar

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
    value: str  # a decimal string, as the providers send it ("1500.00")
    currency: str


@dataclass(frozen=True)
class FundingAccount:
    title: str | None = None
    institution_name: str | None = None
    routing_number: str | None = None
    masked_account_number: str | None = None


@dataclass(frozen=True)
class Applicant:
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    birthdate: str | None = None
    verified: bool | None = None
    contact_id: str | None = None


@dataclass(frozen=True)
class ApplicationEntity:
    """One entity (customer or business representative) of a connectFi application."""

    entity_id: str
    is_customer: bool
    state: State
    provider_state: str
    outcome: str | None = None


@dataclass(frozen=True)
class RequiredDocument:
    label: str | None = None
    type: str | None = None
    category: str | None = None
    product_target: str | None = None
    document_uri: str | None = None
    require_if_verified: bool | None = None


@dataclass(frozen=True)
class Owner:
    kind: OwnerKind
    id: str


@dataclass(frozen=True)
class Signer:
    name: str | None
    email: str | None
    phone: str | None = None
    role: str | None = None  # Auco: SIGNER, READER…
    order: int | None = None
    status: str | None = None  # the provider's own value
    signed_at: datetime | None = None


@dataclass(frozen=True)
class Document:
    provider: Provider
    key: str
    name: str
    status: DocumentStatus
    provider_status: str | None = None
    kind: str | None = None
    file_extension: str | None = None
    content_type: str | None = None
    size: int | None = None
    created_at: datetime | None = None
    owner: Owner | None = None
    download_url: str | None = None
    signers: tuple[Signer, ...] = ()
    provider_id: str | None = None  # the provider's own id, when ``key`` is more


@dataclass(frozen=True)
class Application:
    provider: Provider
    key: str
    provider_id: str
    state: State
    provider_state: str
    name: str | None = None
    product_name: str | None = None
    applicant_name: str | None = None
    customer_id: str | None = None
    reference: str | None = None
    outcome: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    funding_amount: Money | None = None
    funding_account: FundingAccount | None = None
    applicants: tuple[Applicant, ...] = ()
    entities: tuple[ApplicationEntity, ...] = ()
    documents: tuple[Document, ...] = ()  # listed on the application itself
    available_actions: frozenset[Action] = frozenset()
    version: str | None = None
    fields: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Enrollment:
    provider: Provider
    key: str
    provider_id: str
    state: State
    provider_state: str
    name: str | None = None
    applicant_name: str | None = None
    applicant: Applicant | None = None
    applicants: tuple[Applicant, ...] = ()
    required_documents: tuple[RequiredDocument, ...] = ()
    documents: tuple[Document, ...] = ()
    flagged_for_review: bool | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    available_actions: frozenset[Action] = frozenset()
    version: str | None = None
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


def _quick_init(cls: type) -> None:
    """Give the frozen dataclass ``cls`` an ``__init__`` that fills the instance's
    ``__dict__`` directly, with the same parameters and defaults.

    The one ``dataclass(frozen=True)`` writes calls ``object.__setattr__`` once
    per field (a frozen class refuses plain assignment): 3x slower for the 17
    fields of an ``Application``, and the adapters make a record per item of
    every page. Instances stay frozen (assigning still raises); equality and
    hashing are the dataclass's own.
    """
    import dataclasses  # here: the module's imports stay as they were

    fields = dataclasses.fields(cls)
    defaults: dict[str, object] = {}
    params: list[str] = []
    for f in fields:
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: only plain fields")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    lines = [f"def __init__(self, {', '.join(params)}):", "    d = self.__dict__"]
    lines += [f"    d[{f.name!r}] = {f.name}" for f in fields]
    exec("\n".join(lines), defaults)
    init = defaults["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]


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
    _quick_init(_record)
