"""The shape of every Apiture answer the adapter reads, declared (seed
``001_1434ba7a5e588ce0``, digest ``shared/reference/apiture.md`` §5-§8).

Each answer is validated in one pass straight from its bytes (pydantic-core's
``validate_json``) into plain dicts of these ``TypedDict`` shapes, which
:mod:`adapters.apiture.mapping` then reads (mypy checks every key it reads against
the declarations here). An answer that does not fit is "malformed"
(:func:`adapters.transport.http.validated`), never an empty page or an invented record.

Choices:

- Required: a record's ``_id`` (non-empty) and ``state``; a collection's
  ``_embedded.items`` (the seed renders it as ``{"anyOf": [...]}``, §9.18; both
  forms are read). A page that has lost its items is malformed, not empty.
- Integers (``count``, ``start``, ``limit``) are 0 … 2³¹-1: GraphQL's ``Int``.
- Types are strict (no number read as a string or the other way round); a
  property may be ``null`` where the seed marks it optional. Timestamps stay
  strings here; mapping reads them and logs one it cannot.
- Properties the gateway does not read are not declared: dropped from summaries,
  kept (unchecked) on full records and everything in them, whose other properties
  a PUT sends back.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, with_config

# pydantic needs typing_extensions' TypedDict before Python 3.12
from typing_extensions import Required, TypedDict  # noqa: UP035

INT32_MAX = 2**31 - 1

Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Id = Annotated[str, Field(min_length=1)]
Text = str | None

_CHECKED = ConfigDict(strict=True)
_OPEN = ConfigDict(strict=True, extra="allow")


@with_config(_CHECKED)
class Link(TypedDict, total=False):
    href: Text
    title: Text


# Unions of containers are tried left to right: pydantic's "smart" mode would
# validate a whole page of items a second time to rank the alternatives (twice
# the CPU of the validation).
Links = dict[
    str, Annotated[Link | list[Link] | None, Field(union_mode="left_to_right")]
]


@with_config(_CHECKED)
class ApplicationSummary(TypedDict, total=False):
    """An item of ``GET /applications`` (§5.2); summaries of enrollments
    (§3.14) carry the same keys or fewer."""

    _id: Required[Id]
    state: Required[str]
    name: Text
    accountName: Text
    applicantName: Text
    productName: Text
    createdAt: Text
    completedAt: Text


@with_config(_CHECKED)
class AnyOf(TypedDict):
    anyOf: list[ApplicationSummary]


@with_config(_CHECKED)
class Embedded(TypedDict):
    items: Annotated[
        list[ApplicationSummary] | AnyOf, Field(union_mode="left_to_right")
    ]


@with_config(_CHECKED)
class Collection(TypedDict, total=False):
    """``GET /applications``, ``/runningApplications``, ``/enrollments`` (§5.4)."""

    _embedded: Required[Embedded]
    start: Count | None
    limit: Count | None
    count: Count | None
    _links: Links | None


@with_config(_OPEN)
class Money(TypedDict, total=False):
    value: str | float | None
    currency: Text


@with_config(_OPEN)
class AccountNumbers(TypedDict, total=False):
    masked: Text


@with_config(_OPEN)
class FundingAccount(TypedDict, total=False):
    title: Text
    institutionName: Text
    routingNumber: Text
    accountNumbers: AccountNumbers | None


@with_config(_OPEN)
class EmailAddress(TypedDict, total=False):
    _id: Text
    value: Text


@with_config(_OPEN)
class Phone(TypedDict, total=False):
    _id: Text
    number: Text


@with_config(_OPEN)
class Contact(TypedDict, total=False):
    _id: Text
    firstName: Text
    lastName: Text
    birthdate: Text
    emailAddresses: list[EmailAddress] | None
    preferredEmailAddressId: Text
    phones: list[Phone] | None
    preferredPhoneId: Text


@with_config(_OPEN)
class Role(TypedDict, total=False):
    name: Text


@with_config(_OPEN)
class Applicant(TypedDict, total=False):
    """§6.3; open: a PUT sends back what the gateway does not read."""

    username: Text
    contact: Contact | None
    role: Role | None
    verified: bool | None


@with_config(_OPEN)
class DocumentRef(TypedDict, total=False):
    """§6.6."""

    uri: Text
    contentType: Text
    revisionId: Text
    revisedAt: Text


@with_config(_OPEN)
class RequiredDocument(TypedDict, total=False):
    """§6.5."""

    label: Text
    type: Text
    category: Text
    productTarget: Text
    documentUri: Text
    requireIfVerified: bool | None


@with_config(_OPEN)
class Application(TypedDict, total=False):
    """A full application (§5.1): ``GET``, create, update and action answers."""

    _id: Required[Id]
    state: Required[str]
    name: Text
    accountName: Text
    applicantName: Text
    productName: Text
    createdAt: Text
    completedAt: Text
    fundingAmount: Money | None
    fundingAccount: FundingAccount | None
    applicants: list[Applicant] | None
    documents: list[DocumentRef] | None
    _links: Links | None
    _embedded: dict[str, Any] | None


@with_config(_OPEN)
class Enrollment(TypedDict, total=False):
    """A full enrollment (§6.1)."""

    _id: Required[Id]
    state: Required[str]
    name: Text
    applicantName: Text
    createdAt: Text
    completedAt: Text
    flaggedForReview: bool | None
    applicant: Applicant | None
    applicants: list[Applicant] | None
    requiredDocuments: list[RequiredDocument] | None
    documents: list[DocumentRef] | None
    _links: Links | None
    _embedded: dict[str, Any] | None


COLLECTION: TypeAdapter[Collection] = TypeAdapter(Collection)
APPLICATION: TypeAdapter[Application] = TypeAdapter(Application)
ENROLLMENT: TypeAdapter[Enrollment] = TypeAdapter(Enrollment)
