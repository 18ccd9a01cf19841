"""``Document``: an identity image, a contract to sign, or an attachment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import strawberry

from adapters import model
from engine.plans import immutable
from engine.presented import Presented
from schema.context import Info
from schema.documents import documents_at_hand
from schema.types.common import VALUES
from schema.types.node import Node
from schema.types.presenting import expression, global_id, presenter, shows


@strawberry.type(
    description="A document at one provider: a connectFi identity image, an Auco "
    "document sent for signature, a Mambu attachment, or a document listed on an "
    "Apiture application or enrollment."
)
@shows(model.Document, VALUES, provider_id=str)
class Document(Node):
    # Every shown field is declared on the record (adapters.model).
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
    id=global_id("Document"),
    provider_id=expression("record.provider_id or record.key"),
    domain=expression("record"),
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
