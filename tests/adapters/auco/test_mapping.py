"""Auco JSON ⇄ domain, both ways."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest

from adapters.auco import mapping
from adapters.auco.inputs import (
    CameraCheck,
    OtpChannel,
    ReaderInput,
    SignaturePosition,
    SignatureRequest,
    SignerInput,
    ValidationOptions,
)
from adapters.model import DocumentStatus, Owner, OwnerKind, Provider, Signer

# Reference §3.5's example answer.
REFERENCE_ANSWER: dict[str, Any] = {
    "url": "https://signed_url",
    "name": "prueba firma garabato",
    "code": "CODEDOCUM",
    "status": "CREATED",
    "data": {
        "code": "CODEDOCUM",
        "name": "prueba firma garabato",
        "camera": False,
        "otpCode": False,
        "signFinish": False,
        "signProfile": [
            {"name": "Ana", "email": "Ana@Example.com", "id": "G8", "status": "x"}
        ],
        "createdAt": "2025-01-02T16:54:00.297Z",
        "updatedAt": "2025-01-02T16:54:03.105Z",
    },
    "signProfile": [
        {
            "name": "Ana",
            "email": "Ana@Example.com",
            "id": "G8",
            "status": "NOTIFICATION",
        }
    ],
    "custom": {"externalId": "ORDER-123", "source": "crm"},
}


def test_the_reference_answer_maps_to_a_document() -> None:
    document = mapping.document(REFERENCE_ANSWER)

    assert document.provider is Provider.AUCO
    assert document.key == "CODEDOCUM"
    assert document.name == "prueba firma garabato"
    assert document.status is DocumentStatus.AWAITING_SIGNATURE
    assert document.provider_status == "CREATED"
    assert document.content_type == "application/pdf"
    assert document.download_url == "https://signed_url"
    assert document.created_at == datetime(2025, 1, 2, 16, 54, 0, 297000, UTC)
    assert document.signers == (
        Signer(name="Ana", email="Ana@Example.com", status="NOTIFICATION"),
    )
    assert document.owner == Owner(OwnerKind.AUCO_SIGNER, "ana@example.com")


def test_signers_are_completed_from_the_stored_process() -> None:
    body = dict(REFERENCE_ANSWER)
    body["data"] = dict(
        body["data"],
        signProfile=[
            {"id": "G8", "email": "a", "phone": "+57300", "role": "APPROVER"}
            | {"order": "2"}
        ],
    )

    [signer] = mapping.document(body).signers

    assert (signer.phone, signer.role, signer.order) == ("+57300", "APPROVER", 2)
    assert signer.email == "Ana@Example.com"  # the summary wins


def _signers(*statuses: str) -> list[dict[str, str]]:
    return [
        {"name": f"S{i}", "email": f"s{i}@x.co", "id": f"S{i}", "status": s}
        for i, s in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("status", "signers", "url", "expected"),
    [
        ("CREATED", ["NOTIFICATION"], True, DocumentStatus.AWAITING_SIGNATURE),
        ("CREATED", ["PENDING"], False, DocumentStatus.AWAITING_UPLOAD),
        ("FINISH", ["FINISH"], True, DocumentStatus.SIGNED),
        ("REJECTED", ["FINISH", "REJECT"], True, DocumentStatus.REJECTED),
        ("REJECTED", ["NOTIFICATION"], True, DocumentStatus.CANCELED),
        ("REJECTED", [], True, DocumentStatus.REJECTED),
        ("EXPIRED", ["NOTIFICATION"], True, DocumentStatus.EXPIRED),
        ("pending", [], True, DocumentStatus.AWAITING_SIGNATURE),
        ("in_progress", [], True, DocumentStatus.AWAITING_SIGNATURE),
        ("finished", [], True, DocumentStatus.SIGNED),
        ("signed", [], True, DocumentStatus.SIGNED),
        ("rejected", ["REJECT"], True, DocumentStatus.REJECTED),
        ("expired", [], True, DocumentStatus.EXPIRED),
        ("canceled", [], True, DocumentStatus.CANCELED),
        ("CANCELLED", [], True, DocumentStatus.CANCELED),
    ],
)
def test_statuses_are_normalized(
    status: str, signers: list[str], url: bool, expected: DocumentStatus
) -> None:
    body: dict[str, Any] = {
        "code": "C",
        "name": "n",
        "status": status,
        "signProfile": _signers(*signers),
    }
    if url:
        body["url"] = "https://x"

    document = mapping.document(body)

    assert document.status is expected
    assert document.provider_status == status


def test_an_unknown_status_is_awaiting_signature_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, "gateway.adapters.auco"):
        document = mapping.document({"code": "C", "status": "ARCHIVED", "url": "u"})

    assert document.status is DocumentStatus.AWAITING_SIGNATURE
    assert document.provider_status == "ARCHIVED"
    assert "ARCHIVED" in caplog.text


def test_a_document_without_a_code_or_signers_is_tolerated_or_refused() -> None:
    sparse = mapping.document({"data": {"code": "C"}, "status": "FINISH"})
    assert (sparse.key, sparse.name, sparse.owner, sparse.signers) == (
        "C",
        "C",
        None,
        (),
    )
    with pytest.raises(ValueError):
        mapping.document({"status": "FINISH"})
    with pytest.raises(ValueError):
        mapping.document(["not", "an", "object"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"package": "P", "code": "DOC"}, ("DOC", None)),
        (
            {"package": "P", "code": "DOC", "url": "https://s3/x"},
            ("DOC", "https://s3/x"),
        ),
        ({"document": "DOC"}, ("DOC", None)),
        ({"document": "DOC", "url": "https://s3/x"}, ("DOC", "https://s3/x")),
    ],
)
def test_both_upload_answer_shapes_are_read(
    body: dict[str, str], expected: tuple[str, str | None]
) -> None:
    assert mapping.upload_answer(body) == expected


def test_an_upload_answer_without_a_code_is_refused() -> None:
    with pytest.raises(ValueError):
        mapping.upload_answer({"package": "P"})


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"message": "DOCUMENT_NOT_FOUND"}', "DOCUMENT_NOT_FOUND"),
        (b'{"code": "USER_NOTFOUND"}', "USER_NOTFOUND"),
        (b'"REMEMBER_INVALID"', "REMEMBER_INVALID"),
        (b"REMEMBER_INVALID", "REMEMBER_INVALID"),
        (b'{"message": "Se ha producido un error inesperado"}', None),
        (b"<html>oops</html>", None),
    ],
)
def test_error_codes_are_read_defensively(content: bytes, code: str | None) -> None:
    assert mapping.error_code(content) == code


def test_cancel_answers_name_the_refused_codes() -> None:
    assert mapping.refused_codes({"success": 1, "errors": {"cant": 0}}) == []
    assert mapping.refused_codes(
        {"success": 2, "errors": {"cant": 1, "documents": ["CODE"]}}
    ) == ["CODE"]


def test_a_full_request_becomes_the_seed_fields() -> None:
    request = SignatureRequest(
        name="Contrato",
        subject="Asunto",
        message="Mensaje",
        signers=(
            SignerInput(
                "Ana",
                "ana@example.com",
                "+573001110001",
                order=1,
                positions=(SignaturePosition(1, 0.65, 0.8, 150, 50),),
                camera=True,
                otp_code=True,
                options=ValidationOptions(
                    camera=CameraCheck.IDENTIFICATION,
                    otp_code=OtpChannel.EMAIL,
                    whatsapp=True,
                    video=True,
                ),
                identification="1020304050",
                identification_type="CC",
                country="CO",
            ),
            SignerInput(
                "Banco",
                "firmas@bank.example",
                role="APPROVER",
                label=True,
                type="gerente",
                notification=False,
            ),
        ),
        readers=(ReaderInput("Auditoría", "audit@bank.example"),),
        remember=3,
        expired_date=date(2025, 3, 14),
        camera=True,
        options=ValidationOptions(camera=CameraCheck.PHOTO),
        notification=False,
        folder="onboarding",
        template="TPL",
    )

    body = mapping.upload_payload(request, "onboarding@bank.example", compress=True)

    assert body == {
        "email": "onboarding@bank.example",
        "name": "Contrato",
        "subject": "Asunto",
        "message": "Mensaje",
        "signProfile": [
            {
                "name": "Ana",
                "email": "ana@example.com",
                "phone": "+573001110001",
                "role": "SIGNER",
                "order": "1",
                "camera": True,
                "otpCode": True,
                "identification": "1020304050",
                "identificationType": "CC",
                "country": "CO",
                "position": [{"page": 1, "x": 0.65, "y": 0.8, "w": 150, "h": 50}],
                "options": {
                    "camera": "identification",
                    "otpCode": "email",
                    "whatsapp": True,
                    "video": True,
                },
            },
            {
                "name": "Banco",
                "email": "firmas@bank.example",
                "role": "APPROVER",
                "type": "gerente",
                "notification": False,
                "label": True,
            },
        ],
        "readers": [{"name": "Auditoría", "email": "audit@bank.example"}],
        "document": "TPL",
        "folder": "onboarding",
        "remember": 3,
        "expiredDate": "2025-03-14T00:00:00.000Z",
        "camera": True,
        "options": {"camera": "photo"},
        "notification": False,
        "compress": True,
    }


def test_the_request_sender_wins_over_the_default() -> None:
    request = SignatureRequest(
        "n", "s", "m", (SignerInput("A", "a@x.co"),), sender_email="me@bank.example"
    )

    body = mapping.upload_payload(request, "default@bank.example", compress=False)

    assert body["email"] == "me@bank.example"
    assert "compress" not in body
    assert "notification" not in body  # Auco's default is true
