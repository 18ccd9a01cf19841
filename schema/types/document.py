"""``Document``: an identity image, a contract to sign, or an attachment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import strawberry

from adapters import model
from engine.plans import immutable
from engine.presented import Presented
from schema import ids
from schema.context import Info
from schema.documents import documents_at_hand
from schema.types.common import (
    DocumentOwner,
    DocumentStatus,
    Provider,
    Signer,
)
from schema.types.node import Node
from schema.types.presenting import presenter


@strawberry.type(
    description="A document at one provider: a connectFi identity image, an Auco "
    "document sent for signature, a Mambu attachment, or a document listed on an "
    "Apiture application or enrollment."
)
class Document(Node):
    provider: Provider = strawberry.field(description="Where the document lives.")
    provider_id: str = strawberry.field(
        description="The provider's id: connectFi doc id, Auco code, Mambu "
        "encodedKey, Apiture document URI."
    )
    name: str = strawberry.field(description="File or document name.")
    kind: str | None = strawberry.field(
        description="The provider's document type (passport, license, contract…)."
    )
    file_extension: str | None = strawberry.field(description="e.g. pdf, jpg.")
    content_type: str | None = strawberry.field(description="MIME type.")
    size: int | None = strawberry.field(description="Size in bytes, when known.")
    status: DocumentStatus = strawberry.field(description="Normalized status.")
    provider_status: str | None = strawberry.field(
        description="The provider's own status value."
    )
    created_at: datetime | None = strawberry.field(description="When it was created.")
    owner: DocumentOwner | None = strawberry.field(
        description="The record it belongs to."
    )
    download_url: str | None = strawberry.field(
        description="Where to download it, where the provider gives a link (Auco)."
    )
    signers: list[Signer] = strawberry.field(
        description="Signature participants and their status (Auco)."
    )
    domain: strawberry.Private[model.Document]

    @strawberry.field(
        description="The file as base64. Fetched from the provider only when "
        "selected; null where the provider offers no download (use downloadUrl)."
    )
    async def content(self, info: Info) -> str | None:
        if self.domain.provider is model.Provider.MAMBU:
            return await info.context.loaders.mambu_content.load(self.domain.key)
        return None

    @classmethod
    def from_domain(cls, d: model.Document) -> Document:
        return _PRESENTED.made(d, _make)


# Every other field is the record's attribute of its name (schema.types.presenting).
_make = presenter(
    Document,
    id=lambda d: strawberry.ID(ids.encode("Document", d.provider, d.key)),
    provider_id=lambda d: d.provider_id or d.key,
    domain=lambda d: d,
)


def listed_documents(
    record: model.Application | model.Enrollment,
) -> list[Document] | None:
    """The documents ``record`` holds itself, presented, or None when they must
    be read (``schema.documents.documents_at_hand``)."""
    found = documents_at_hand(record)
    return None if found is None else [Document.from_domain(d) for d in found]


def answered(
    listed: list[Document] | None,
    read: Callable[[], Awaitable[Sequence[model.Document]]],
) -> list[Document] | Awaitable[list[Document]]:
    """A ``documents`` field's answer: ``listed`` as it is when the record holds
    its documents (nothing to await), otherwise what ``read`` finds, presented."""
    if listed is not None:
        return listed
    return _presented(read())


async def _presented(found: Awaitable[Sequence[model.Document]]) -> list[Document]:
    return [Document.from_domain(d) for d in await found]


_PRESENTED: Presented[model.Document, Document] = Presented()
immutable(Document)  # made once per record by from_domain, never modified
