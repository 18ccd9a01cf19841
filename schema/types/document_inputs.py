"""Inputs of the document mutations, each with its conversion for the adapter."""

from __future__ import annotations

from datetime import datetime

import strawberry

from adapters.auco import inputs as auco
from schema.types.common import DocumentOwnerInput


@strawberry.input(
    description="A connectFi document to create before uploading its image. "
    "The gateway checks connectFi's rules first (name 1-50 characters without "
    "< or >, extension jpg|png, type from connectFi's list)."
)
class GenerateDocumentInput:
    workflow: str = strawberry.field(description="PERSONAL or BUSINESS.")
    name: str = strawberry.field(description="Document name, 1-50 characters.")
    extension: str = strawberry.field(description="jpg or png.")
    type: str = strawberry.field(
        description="passport, license, identification_card, utility, w2, …"
    )
    note: str | None = strawberry.field(
        default=None, description="A note, at most 500 characters."
    )
    note_author_agent_email: str | None = strawberry.field(
        default=None, description="Email of the note's author."
    )


@strawberry.input(
    description="Where an uploaded file goes: a connectFi document made by "
    "generateDocument (`documentId`), or a Mambu record (`owner`, with `name`)."
)
class UploadDocumentInput:
    document_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of a document from generateDocument."
    )
    owner: DocumentOwnerInput | None = strawberry.field(
        default=None, description="A Mambu client, loan, savings account, branch…"
    )
    name: str | None = strawberry.field(
        default=None,
        description="Name to give a Mambu attachment; the file's name when omitted.",
    )


@strawberry.input(description="Someone who must sign (Auco).")
class SignerInput:
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Email; unique among the signers.")
    phone: str | None = strawberry.field(
        default=None, description="Phone with country code (+57…); unique."
    )
    role: str = strawberry.field(default="SIGNER", description="SIGNER or APPROVER.")
    order: int | None = strawberry.field(
        default=None, description="Position in a sequential signing."
    )
    label: bool = strawberry.field(
        default=False,
        description="Place the signature at the PDF's {{signature:N}} tags.",
    )
    camera: bool | None = strawberry.field(
        default=None, description="Ask this signer for a photo."
    )
    otp_code: bool | None = strawberry.field(
        default=None, description="Ask this signer for a one-time code."
    )

    def to_domain(self) -> auco.SignerInput:
        return auco.SignerInput(
            name=self.name,
            email=self.email,
            phone=self.phone,
            role=self.role,
            order=self.order,
            label=self.label,
            camera=self.camera,
            otp_code=self.otp_code,
        )


@strawberry.input(description="Someone who receives a copy to read (Auco).")
class ReaderInput:
    name: str = strawberry.field(description="Full name.")
    email: str = strawberry.field(description="Email.")


@strawberry.input(
    description="A PDF sent for e-signature (Auco). The gateway checks Auco's "
    "rules first: reminders every multiple of 3 hours, an expiry more than 3 days "
    "ahead, unique signer emails and phones."
)
class SignatureRequestInput:
    name: str = strawberry.field(description="Document name.")
    subject: str = strawberry.field(description="Email subject for the signers.")
    message: str = strawberry.field(description="Email message for the signers.")
    signers: list[SignerInput] = strawberry.field(description="Who must sign.")
    readers: list[ReaderInput] | None = strawberry.field(
        default=None, description="Who receives a copy."
    )
    remember: int | None = strawberry.field(
        default=None, description="Hours between reminders; a multiple of 3."
    )
    expired_date: datetime | None = strawberry.field(
        default=None, description="When the request expires; over 3 days ahead."
    )
    camera: bool = strawberry.field(default=False, description="Photo of everyone.")
    otp_code: bool = strawberry.field(
        default=False, description="One-time code for everyone."
    )
    notification: bool = strawberry.field(
        default=True, description="Auco emails the participants."
    )
    folder: str | None = strawberry.field(
        default=None, description="Auco folder to file it in."
    )

    def to_domain(self) -> auco.SignatureRequest:
        return auco.SignatureRequest(
            name=self.name,
            subject=self.subject,
            message=self.message,
            signers=tuple(s.to_domain() for s in self.signers),
            readers=tuple(
                auco.ReaderInput(name=r.name, email=r.email) for r in self.readers or ()
            ),
            remember=self.remember,
            expired_date=self.expired_date,
            camera=self.camera,
            otp_code=self.otp_code,
            notification=self.notification,
            folder=self.folder,
        )
