"""The ports: what the API asks of the providers, one protocol per capability.

Each protocol names one thing the schema needs done (read records by key, list a
page, act on an application, attach a document, …) in the domain's own terms
(:mod:`adapters.model`, :mod:`adapters.errors`). The adapters' clients implement
them structurally, without naming them: mypy --strict checks the fit where the
gateway hands its clients to the schema's context (``schema.context.Upstreams``).
In-memory fakes implement them too, for tests of the schema that need no sandbox
(``tests/schema/fakes.py``).

Why here, beside :mod:`adapters.model`: a port speaks the domain the adapters
return, and both sides already depend on that domain; the schema depends on the
ports, the adapters on nothing above them, so no import runs against the flow.
The per-provider bundles at the end say which capabilities each provider offers.

Batch reads answer every key they were given: a record, or the error that costs
only that key (``NotFound`` for one that does not exist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from adapters.errors import AdapterError
from adapters.model import (
    Action,
    Application,
    ApplicationInput,
    ApplicationQuery,
    Document,
    Enrollment,
    EnrollmentInput,
    Owner,
    Page,
    Upload,
)

if TYPE_CHECKING:
    from adapters.auco.inputs import SignatureRequest


# Reading by key, in batches (the schema's dataloaders)


class ReadsApplications(Protocol):
    async def get_applications(
        self, ids: Sequence[str], /
    ) -> Mapping[str, Application | AdapterError]: ...


class ReadsEnrollments(Protocol):
    async def get_enrollments(
        self, ids: Sequence[str], /
    ) -> Mapping[str, Enrollment | AdapterError]: ...


class ReadsDocuments(Protocol):
    async def get_documents(
        self, keys: Sequence[str], /
    ) -> Mapping[str, Document | AdapterError]: ...


class ReadsContents(Protocol):
    """A document's content, base64, by document key."""

    async def get_contents(
        self, keys: Sequence[str], /
    ) -> Mapping[str, str | AdapterError]: ...


# Listing


class SearchesApplications(Protocol):
    """Applications by a query over every applicant, one page at a time."""

    async def list_applications(
        self,
        query: ApplicationQuery,
        offset: int,
        limit: int,
        *,
        view: Literal["all", "running", "blocked"] = "all",
        applicant: str | None = None,
    ) -> Page[Application]: ...


class SearchesEnrollments(Protocol):
    async def list_enrollments(
        self, query: ApplicationQuery, offset: int, limit: int
    ) -> Page[Enrollment]: ...


class ListsCustomerApplications(Protocol):
    """One customer's applications, newest first, one page at a time."""

    async def list_applications(
        self,
        customer_id: str,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        offset: int = ...,
        limit: int = ...,
    ) -> Page[Application]: ...


class ListsOwnerDocuments(Protocol):
    """The documents attached to an owner: one page, or all of several owners'."""

    async def list_documents(
        self, owner: Owner, *, offset: int, limit: int
    ) -> Page[Document]: ...

    async def documents_for_owners(
        self, owners: Sequence[Owner], /
    ) -> Mapping[Owner, Sequence[Document] | AdapterError]: ...


# Acting


class ActsOnApplications(Protocol):
    """Create, change, delete and move applications through their states."""

    async def create_application(self, data: ApplicationInput, /) -> Application: ...

    async def update_application(
        self, id: str, changes: ApplicationInput, if_match: str | None, /
    ) -> Application: ...

    async def replace_application(
        self, id: str, data: ApplicationInput, if_match: str | None, /
    ) -> Application: ...

    async def delete_application(self, id: str, if_match: str | None, /) -> None: ...

    async def act_on_application(
        self, id: str, action: Action, if_match: str | None, /
    ) -> Application: ...


class ActsOnEnrollments(Protocol):
    async def create_enrollment(self, data: EnrollmentInput, /) -> Enrollment: ...

    async def update_enrollment(
        self, id: str, changes: EnrollmentInput, if_match: str | None, /
    ) -> Enrollment: ...

    async def replace_enrollment(
        self, id: str, data: EnrollmentInput, if_match: str | None, /
    ) -> Enrollment: ...

    async def delete_enrollment(self, id: str, /) -> None: ...

    async def act_on_enrollment(
        self, id: str, action: Action, if_match: str | None, /
    ) -> Enrollment: ...


# Documents


class GeneratesDocuments(Protocol):
    """A document generated empty, then its file uploaded into it."""

    async def generate_document(
        self,
        *,
        workflow: str,
        name: str,
        extension: str,
        type: str,
        note: str | None = None,
        note_author_agent_email: str | None = None,
    ) -> Document: ...

    async def upload_document(
        self, document_id: str, upload: Upload, /
    ) -> Document: ...


class AttachesDocuments(Protocol):
    """A file attached to an owner under a name, and deleted again."""

    async def upload_document(
        self, owner: Owner, *, name: str, upload: Upload
    ) -> Document: ...

    async def delete_document(self, key: str, /) -> None: ...


class CollectsSignatures(Protocol):
    async def request_signature(
        self, request: SignatureRequest, upload: Upload | None, /
    ) -> Document: ...

    async def cancel_signature(
        self, code: str, /, *, reason: str | None = None
    ) -> Document: ...


# What each provider offers


class ApiturePort(
    ReadsApplications,
    ReadsEnrollments,
    SearchesApplications,
    SearchesEnrollments,
    ActsOnApplications,
    ActsOnEnrollments,
    Protocol,
):
    """Apiture: applications and enrollments, read, searched and acted on."""


class StartsIdentification(Protocol):
    """KYC started for a customer: a new application, its asynchronous changes
    (manual review) posted to the gateway's webhook."""

    async def start_identification(
        self, customer_id: str, *, reference: str
    ) -> Application: ...


class ConnectFiPort(
    ReadsApplications,
    ListsCustomerApplications,
    GeneratesDocuments,
    StartsIdentification,
    Protocol,
):
    """connectFi: a customer's applications, identification started; documents
    generated, then uploaded."""


class MambuPort(
    ReadsDocuments, ReadsContents, ListsOwnerDocuments, AttachesDocuments, Protocol
):
    """Mambu: documents attached to clients (and other holders), with content."""


class AucoPort(ReadsDocuments, CollectsSignatures, Protocol):
    """Auco: documents sent for signature."""
