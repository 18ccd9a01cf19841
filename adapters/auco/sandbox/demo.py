"""Deterministic demo data: Auco users, folders, templates and one document per status.

The signers are the demo applicants the other sandboxes know by email, so a page of
applications can be joined to their contracts by the signer's address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.auco.sandbox.records import StoredDocument, StoredSigner

SENDER = "onboarding@bank.example"
USERS = frozenset({SENDER, "example@auco.ai", "owner@auco.ai"})
FOLDERS: dict[str, frozenset[str]] = {
    SENDER: frozenset({"onboarding", "onboarding/contracts"}),
}
TEMPLATES: dict[str, dict[str, Any]] = {
    "TPLACCOUNT1": {"name": "Contrato de cuenta", "types": ["titular", "codeudor"]},
}

TEMPLATE_PDF = b"%PDF-1.4\n% demo contract\n1 0 obj<<>>endobj\n%%EOF\n"

# The demo applicants: (name, email, phone), by index.
APPLICANTS = [
    ("Ana García", "ana.garcia@example.com", "+573001110001"),
    ("Luis Martínez", "luis.martinez@example.com", "+573001110002"),
    ("Sofía Torres", "sofia.torres@example.com", "+573001110003"),
    ("Carlos Rodríguez", "carlos.rodriguez@example.com", "+573001110004"),
    ("María López", "maria.lopez@example.com", "+573001110005"),
    ("Jorge Pérez", "jorge.perez@example.com", "+573001110006"),
    ("Valentina Gómez", "valentina.gomez@example.com", "+573001110007"),
    ("Andrés Díaz", "andres.diaz@example.com", "+573001110008"),
]

# code, name, document status, [(applicant index, participant status)]
# "CANCELED" and "AWAITING_UPLOAD" are sandbox situations, not Auco statuses: the
# first reads REJECTED with no participant in REJECT, the second CREATED without PDF.
_DOCUMENTS: list[tuple[str, str, str, list[tuple[int, str]]]] = [
    ("DEMOWAIT01", "Contrato de apertura", "CREATED", [(0, "NOTIFICATION")]),
    (
        "DEMOSEQ002",
        "Crédito con codeudor",
        "CREATED",
        [(1, "FINISH"), (2, "NOTIFICATION")],
    ),
    ("DEMOSIGN03", "Contrato de apertura", "FINISH", [(3, "FINISH")]),
    ("DEMOREJ004", "Autorización de consulta", "REJECTED", [(4, "REJECT")]),
    ("DEMOEXP005", "Contrato de apertura", "EXPIRED", [(5, "NOTIFICATION")]),
    ("DEMOCAN006", "Pagaré", "CANCELED", [(6, "NOTIFICATION")]),
    ("DEMOUPL007", "Contrato empresarial", "AWAITING_UPLOAD", [(7, "PENDING")]),
]


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 1, day, hour, 0, tzinfo=UTC)


def documents() -> dict[str, StoredDocument]:
    """The demo documents by code, made afresh (each store changes its own)."""
    made: dict[str, StoredDocument] = {}
    for index, (code, name, status, signers) in enumerate(_DOCUMENTS):
        stored = []
        for position, (applicant, signer_status) in enumerate(signers):
            signer_name, email, phone = APPLICANTS[applicant]
            stored.append(
                StoredSigner(
                    id=f"S{index}{position}",
                    name=signer_name,
                    email=email,
                    phone=phone,
                    order=position + 1 if len(signers) > 1 else None,
                    status=signer_status,
                )
            )
        document = StoredDocument(
            code=code,
            package=f"{index + 1:024x}",
            name=f"{name} - {stored[0].name}",
            creator=SENDER,
            created_at=_at(2 + index),
            updated_at=_at(2 + index, 12),
            signers=stored,
            status={"CANCELED": "REJECTED", "AWAITING_UPLOAD": "CREATED"}.get(
                status, status
            ),
            canceled=status == "CANCELED",
            content=None if status == "AWAITING_UPLOAD" else TEMPLATE_PDF,
            expired_date=_at(9 + index) if status == "EXPIRED" else None,
        )
        made[code] = document
    return made
