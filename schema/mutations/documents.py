"""Document mutations: generate and upload (connectFi), upload and delete (Mambu),
request and cancel a signature (Auco)."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from adapters import model
from adapters.errors import NotFound as DomainNotFound
from adapters.errors import ValidationFailed as DomainValidationFailed
from adapters.errors import Violation
from schema import authz, ids, uploads
from schema.context import Info
from schema.errors import Deleted
from schema.mutations.common import DeleteResult, DocumentResult
from schema.types.document import Document
from schema.types.document_inputs import (
    GenerateDocumentInput,
    SignatureRequestInput,
    UploadDocumentInput,
)


def _document_key(raw: str, provider: model.Provider, what: str) -> str:
    gid = ids.decode(raw)
    if gid is None or gid.typename != "Document" or gid.provider is not provider:
        raise DomainNotFound(f"no {what} with id {raw}")
    return gid.key


async def _upload(info: Info, file: Upload, target: UploadDocumentInput) -> Document:
    upstreams = info.context.upstreams
    if (target.document_id is None) == (target.owner is None):
        raise DomainValidationFailed(
            "give either documentId (connectFi) or owner (Mambu)",
            [Violation(("documentId",), "exactly one of documentId and owner")],
        )
    upload = uploads.to_domain(file)
    if target.document_id is not None:
        key = _document_key(
            target.document_id, model.Provider.CONNECTFI, "connectFi document"
        )
        return Document.from_domain(
            await upstreams.connectfi.upload_document(key, upload)
        )
    assert target.owner is not None
    owner = target.owner.to_domain()
    if not owner.kind.name.startswith("MAMBU_"):
        raise DomainValidationFailed(
            "only Mambu records take attachments",
            [Violation(("owner", "kind"), "must be a MAMBU_ kind")],
        )
    found = await upstreams.mambu.upload_document(
        owner, name=target.name or upload.filename, upload=upload
    )
    return Document.from_domain(found)


@strawberry.type
class DocumentMutations:
    @strawberry.mutation(
        description="Create a connectFi document id to upload an identity image into."
    )
    async def generate_document(
        self, info: Info, input: GenerateDocumentInput
    ) -> DocumentResult:
        found = await info.context.upstreams.connectfi.generate_document(
            workflow=input.workflow,
            name=input.name,
            extension=input.extension,
            type=input.type,
            note=input.note,
            note_author_agent_email=input.note_author_agent_email,
        )
        return Document.from_domain(await authz.generated(info.context, found))

    @strawberry.mutation(
        description="Upload a file (GraphQL multipart request): the image of a "
        "connectFi document, or an attachment on a Mambu record. The file streams "
        "to the provider; the provider's rules are checked before it is sent."
    )
    async def upload_document(
        self, info: Info, file: Upload, input: UploadDocumentInput
    ) -> DocumentResult:
        return await _upload(info, file, input)

    @strawberry.mutation(
        description="Send a PDF for e-signature (Auco): inline when small, "
        "compressed through a signed upload link when large."
    )
    async def request_signature(
        self, info: Info, file: Upload, input: SignatureRequestInput
    ) -> DocumentResult:
        found = await info.context.upstreams.auco.request_signature(
            input.to_domain(), uploads.to_domain(file)
        )
        return Document.from_domain(found)

    @strawberry.mutation(description="Cancel a signature request (Auco).")
    async def cancel_signature(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> DocumentResult:
        key = _document_key(id, model.Provider.AUCO, "Auco document")
        found = await info.context.upstreams.auco.cancel_signature(key, reason=reason)
        return Document.from_domain(found)

    @strawberry.mutation(description="Delete an attachment (Mambu).")
    async def delete_document(self, info: Info, id: strawberry.ID) -> DeleteResult:
        key = _document_key(id, model.Provider.MAMBU, "Mambu document")
        await info.context.upstreams.mambu.delete_document(key)
        return Deleted(id=id)
