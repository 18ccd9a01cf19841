"""Auco JSON ⇄ the domain: the only place that knows Auco's field names.

Outbound: :func:`upload_payload` (``POST /document/upload``), :func:`cancel_payload`
(``POST /document/cancel``). Inbound: :func:`upload_answer`, :func:`document`
(``GET /document?code=``), :func:`refused_codes`, :func:`error_code`.

Choices:

- ``Document.key`` is the Auco document code. The upload answer names it ``code``
  (seed 003, ``{"package", "code"[, "url"]}``) or ``document`` (newer docs); both are
  read, ``code`` first.
- Status (reference §3.5, Auco's values kept raw in ``provider_status``):
  ``CREATED`` → AWAITING_SIGNATURE, or AWAITING_UPLOAD while Auco gives no ``url``
  (a ``compress`` upload whose PDF has not arrived); ``FINISH`` → SIGNED;
  ``EXPIRED`` → EXPIRED; ``REJECTED`` → REJECTED when a participant is in
  ``REJECT``, CANCELED when none is (Auco has no cancelled status: its cancellation
  webhook is ``REJECTED``). Common spellings (``PENDING``, ``SIGNED``, ``CANCELED``…)
  are accepted; anything else is AWAITING_SIGNATURE with a logged warning.
- Signers: the top-level ``signProfile`` (name, email, id, status), completed from
  ``data.signProfile`` (phone, role, order) where Auco gives them. ``status`` stays
  Auco's (``NOTIFICATION``, ``PENDING``, ``FINISH``, ``REJECT``, ``BLOCK``).
  ``signed_at`` stays None: ``GET /document`` has no per-signer time (the roadmap
  endpoint has, at one more call per document; not used).
- Owner: ``Owner(AUCO_SIGNER, <first signer's email, lower case>)``, the person the
  document was sent to; None when there is no signer.
- Answers are read as :mod:`adapters.auco.answers` declares them: one that does
  not fit raises ``ValueError`` (pydantic's ``ValidationError`` is one), which the
  client reports as a malformed answer.
- ``expiredDate`` is sent as JavaScript's ``Date.toJSON()`` writes it
  (``2025-03-14T00:00:00.000Z``); a bare date is its midnight UTC.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from adapters.auco import answers
from adapters.auco.inputs import (
    SignatureRequest,
    SignerInput,
    ValidationOptions,
    expiry_instant,
)
from adapters.model import (
    Document,
    DocumentStatus,
    Owner,
    OwnerKind,
    Provider,
    Signer,
)

log = logging.getLogger("gateway.adapters.auco")

PDF = "application/pdf"
_STATUSES = {
    "CREATED": DocumentStatus.AWAITING_SIGNATURE,
    "PENDING": DocumentStatus.AWAITING_SIGNATURE,
    "IN_PROGRESS": DocumentStatus.AWAITING_SIGNATURE,
    "NOTIFICATION": DocumentStatus.AWAITING_SIGNATURE,
    "FINISH": DocumentStatus.SIGNED,
    "FINISHED": DocumentStatus.SIGNED,
    "SIGNED": DocumentStatus.SIGNED,
    "REJECTED": DocumentStatus.REJECTED,
    "REJECT": DocumentStatus.REJECTED,
    "EXPIRED": DocumentStatus.EXPIRED,
    "CANCELED": DocumentStatus.CANCELED,
    "CANCELLED": DocumentStatus.CANCELED,
}
_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,63}")


def json_date(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Outbound --------------------------------------------------------------------


def _options(options: ValidationOptions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.camera is not None:
        out["camera"] = options.camera.value
    if options.otp_code is not None:
        out["otpCode"] = options.otp_code.value
    for name, flag in (
        ("whatsapp", options.whatsapp),
        ("both", options.both),
        ("video", options.video),
        ("identificationCardBack", options.identification_card_back),
    ):
        if flag:
            out[name] = True
    return out


def _signer(signer: SignerInput) -> dict[str, Any]:
    out: dict[str, Any] = {"name": signer.name, "email": signer.email}
    if signer.phone is not None:
        out["phone"] = signer.phone
    out["role"] = signer.role
    optional: dict[str, Any] = {
        # Seed 003's table types it String ("signProfile[x].order String").
        "order": None if signer.order is None else str(signer.order),
        "type": signer.type,
        "camera": signer.camera,
        "otpCode": signer.otp_code,
        "notification": signer.notification,
        "identification": signer.identification,
        "identificationType": signer.identification_type,
        "country": signer.country,
    }
    out |= {k: v for k, v in optional.items() if v is not None}
    if signer.label:
        out["label"] = True
    if signer.positions:
        out["position"] = [
            {"page": p.page, "x": p.x, "y": p.y, "w": p.w, "h": p.h}
            for p in signer.positions
        ]
    if signer.options is not None:
        out["options"] = _options(signer.options)
    return out


def upload_payload(
    request: SignatureRequest, sender_email: str, *, compress: bool
) -> dict[str, Any]:
    """The ``POST /document/upload`` body, without ``file`` (the client adds it)."""
    body: dict[str, Any] = {
        "email": request.sender_email or sender_email,
        "name": request.name,
        "subject": request.subject,
        "message": request.message,
        "signProfile": [_signer(s) for s in request.signers],
    }
    if request.readers:
        body["readers"] = [{"name": r.name, "email": r.email} for r in request.readers]
    if request.template is not None:
        body["document"] = request.template
    if request.folder is not None:
        body["folder"] = request.folder
    if request.remember is not None:
        body["remember"] = request.remember
    if request.expired_date is not None:
        body["expiredDate"] = json_date(expiry_instant(request.expired_date))
    if request.camera:
        body["camera"] = True
    if request.otp_code:
        body["otpCode"] = True
    if request.options is not None:
        body["options"] = _options(request.options)
    if not request.notification:
        body["notification"] = False
    if compress:
        body["compress"] = True
    return body


def cancel_payload(code: str, email: str, message: str) -> dict[str, Any]:
    return {"codes": [code], "message": message, "email": email}


# Inbound ---------------------------------------------------------------------


def upload_answer(body: object) -> tuple[str, str | None]:
    """``(code, signed_url)`` from an upload answer; ValueError when it has no code."""
    answer = answers.UPLOADED.validate_python(body)
    code = answer.get("code") or answer.get("document")
    if not code:
        raise ValueError("upload answer carries no document code")
    return code, answer.get("url") or None


def refused_codes(body: object) -> list[str]:
    """The codes a ``/document/cancel`` answer says it could not cancel."""
    errors = answers.CANCELLED.validate_python(body).get("errors") or {}
    documents = errors.get("documents")
    if documents is not None:
        return documents
    return ["*"] if (errors.get("cant") or 0) > 0 else []


def error_code(content: bytes) -> str | None:
    """Auco's UPPER_SNAKE error code from an error body, if it has one."""
    try:
        body = json.loads(content)
    except ValueError:
        text = content.decode("utf-8", "replace").strip().strip('"')
        return text if _CODE.fullmatch(text) else None
    if isinstance(body, str):
        return body if _CODE.fullmatch(body) else None
    if isinstance(body, Mapping):
        for key in ("message", "code", "error"):
            value = body.get(key)
            if isinstance(value, str) and _CODE.fullmatch(value):
                return value
    return None


def _int(value: int | str | None) -> int | None:
    """``order`` as declared: a number, or a string of digits (both in range)."""
    return int(value) if value is not None else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _signers(body: answers.Document) -> tuple[Signer, ...]:
    detail = (body.get("data") or {}).get("signProfile") or []
    summary = body.get("signProfile")
    if summary is None:
        summary = detail
    stored: dict[str, answers.SignerEntry] = {}
    for entry in detail:
        for key in (entry.get("id"), entry.get("email")):
            if key is not None:
                stored.setdefault(key, entry)
    signers = []
    for entry in summary:
        extra = stored.get(entry.get("id") or "") or stored.get(
            entry.get("email") or ""
        )
        merged: answers.SignerEntry = {**(extra or {}), **entry}
        signers.append(
            Signer(
                name=_str(merged.get("name")),
                email=_str(merged.get("email")),
                phone=_str(merged.get("phone")),
                role=_str(merged.get("role")),
                order=_int(merged.get("order")),
                status=_str(merged.get("status")),
            )
        )
    return tuple(signers)


def status(
    raw: str | None, signers: tuple[Signer, ...], has_file: bool
) -> DocumentStatus:
    value = (raw or "").upper()
    found = _STATUSES.get(value)
    if found is None:
        log.warning("Auco sent an unknown document status %r", raw)
        return DocumentStatus.AWAITING_SIGNATURE
    rejected_by = [s for s in signers if (s.status or "").upper() == "REJECT"]
    if value == "REJECTED" and signers and not rejected_by:
        return DocumentStatus.CANCELED
    if value == "CREATED" and not has_file:
        return DocumentStatus.AWAITING_UPLOAD
    return found


def _owner(signers: tuple[Signer, ...] | tuple[SignerInput, ...]) -> Owner | None:
    email = signers[0].email if signers else None
    return Owner(OwnerKind.AUCO_SIGNER, email.lower()) if email else None


def document(body: object) -> Document:
    """A ``GET /document?code=`` answer as a domain Document; ValueError if unusable."""
    return document_answer(answers.DOCUMENT.validate_python(body))


def document_answer(body: answers.Document) -> Document:
    """:func:`document` for an answer validated already (from its bytes)."""
    data = body.get("data") or {}
    code = _str(body.get("code")) or _str(data.get("code"))
    if code is None:
        raise ValueError("document answer carries no code")
    signers = _signers(body)
    url = _str(body.get("url"))
    raw = body["status"]
    return Document(
        provider=Provider.AUCO,
        key=code,
        name=_str(body.get("name")) or _str(data.get("name")) or code,
        status=status(raw, signers, url is not None),
        provider_status=raw,
        file_extension="pdf",
        content_type=PDF,
        created_at=parse_date(data.get("createdAt")),
        owner=_owner(signers),
        download_url=url,
        signers=signers,
    )


def sent_document(
    code: str, request: SignatureRequest, size: int | None, created_at: datetime
) -> Document:
    """What an accepted upload is, without asking Auco again: out for signature."""
    signers = tuple(
        Signer(
            name=s.name,
            email=s.email,
            phone=s.phone,
            role=s.role,
            order=s.order,
        )
        for s in request.signers
    )
    return Document(
        provider=Provider.AUCO,
        key=code,
        name=request.name,
        status=DocumentStatus.AWAITING_SIGNATURE,
        provider_status="CREATED",
        file_extension="pdf",
        content_type=PDF,
        size=size,
        created_at=created_at,
        owner=_owner(request.signers),
        signers=signers,
    )


# Auco's refusals of fields the gateway let through (its checks and ours differ, or
# they depend on the account): the GraphQL input path and a message for the caller.
_FIELD_ERRORS: dict[str, tuple[tuple[str, ...], str]] = {
    "REMEMBER_INVALID": (("remember",), "hours between reminders: a multiple of 3"),
    "EXPIRED_DATE_INVALID": (("expiredDate",), "must be more than 3 days from now"),
    "FOLDER_NOT_FOUND": (("folder",), "no such folder for the sender"),
    "TEMPLATE_NOT_FOUND": (("template",), "no such template"),
    "USER_NOTFOUND": (("senderEmail",), "is not a user of the Auco account"),
    "FILE_INVALID": (("file",), "is not a PDF Auco can read"),
    "SIGN_PROFILE_REQUIRED": (("signers",), "at least one signer is required"),
    "SIGNER_EMAIL_DUPLICATED": (("signers",), "signer emails must not repeat"),
    "SIGNER_PHONE_DUPLICATED": (("signers",), "signer phones must not repeat"),
    "SIGNER_EMAIL_INVALID": (("signers",), "a signer's email is not valid"),
    "SIGNER_PHONE_INVALID": (("signers",), "a signer's phone is not valid"),
    "LABEL_REQUIRES_FILE": (("signers",), "PDF tags need the file inline"),
}


def violation_for(code: str | None) -> tuple[tuple[str, ...], str] | None:
    """The input field an Auco error code refers to, where it names one."""
    if code is None:
        return None
    if code in _FIELD_ERRORS:
        return _FIELD_ERRORS[code]
    if code.startswith(("SIGNER_", "CAMERA_", "OTP_", "WHATSAPP_")):
        return ("signers",), "Auco refused the signers or their validations"
    if code.endswith("_REQUIRED"):
        field = code.removesuffix("_REQUIRED").lower()
        return (field,), "is required"
    return None
