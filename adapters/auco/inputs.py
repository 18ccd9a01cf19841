"""What a caller asks of Auco when requesting signatures, and the rules it must obey.

The schema layer builds these frozen dataclasses from GraphQL input; :func:`validate`
refuses, before any upstream call, what Auco would refuse (seed 003 and reference
§3.3/§3.6/§3.7). Violation paths name the GraphQL input fields (camelCase), e.g.
``("signers", "1", "email")``, ``("remember",)``, ``("expiredDate",)``.

Rules (the sandbox's :mod:`adapters.auco.sandbox.rules` enforces the same ones on the
wire; they are written twice on purpose, so neither vouches for the other):

- ``name``, ``subject``, ``message`` and at least one signer are required.
- Signer ``name``, ``email`` and ``phone`` are required (seed 003's table:
  ``signProfile[x].phone String Requerido``; its first example omits the phone, but
  the table wins), ``email`` a plausible address, the phone with its country code,
  ``+57…``. Emails (case-insensitive) and phones must not repeat across signers.
- ``role`` is ``SIGNER`` or ``APPROVER``; ``order`` ≥ 1 (sent as a string, as the
  table types it); positions are
  ``page ≥ 1``, ``x``/``y`` in 0..1 (fractions of the page), ``w``/``h`` > 0 points.
- ``remember`` is a positive multiple of 3 (hours); ``expiredDate`` more than 3 days
  after now (a bare date means midnight UTC, as JSON would carry it).
- An option needs its flag at the same level: ``options.camera`` with ``camera``,
  ``options.otpCode`` with ``otpCode``; ``both``, ``video`` and
  ``identificationCardBack`` need ``whatsapp``.
- Readers need ``name`` and ``email``.

Rules that depend on the file (``label`` needs it inline, PDF only, a template or a
file but not both) are the client's, which knows the upload.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from adapters.errors import Violation

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"\+[0-9]{7,15}")  # ASCII digits: \d would match any script's
MIN_EXPIRY = timedelta(days=3)
ROLES = ("SIGNER", "APPROVER")


class CameraCheck(enum.Enum):
    """``options.camera``: match the face against the ID, or just take a photo."""

    IDENTIFICATION = "identification"
    PHOTO = "photo"


class OtpChannel(enum.Enum):
    """``options.otpCode``: where the one-time code is sent."""

    PHONE = "phone"
    EMAIL = "email"


@dataclass(frozen=True)
class ValidationOptions:
    """Auco ``options``: how a signer proves who they are (reference §3.7)."""

    camera: CameraCheck | None = None  # needs camera=True at the same level
    otp_code: OtpChannel | None = None  # needs otp_code=True at the same level
    whatsapp: bool = False
    both: bool = False  # WhatsApp and email; needs whatsapp
    video: bool = False  # WhatsApp only
    identification_card_back: bool = False  # WhatsApp only


@dataclass(frozen=True)
class SignaturePosition:
    """Where a signature goes: ``x``/``y`` fractions of the page, ``w``/``h`` points."""

    page: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class SignerInput:
    """One ``signProfile`` entry. Validations left None inherit the request's."""

    name: str
    email: str
    phone: str | None = None
    role: str = "SIGNER"
    order: int | None = None
    label: bool = False  # place by {{signature:N}} tags in the PDF
    positions: tuple[SignaturePosition, ...] = ()
    type: str | None = None  # a template's signer type, e.g. "codeudor"
    camera: bool | None = None
    otp_code: bool | None = None
    options: ValidationOptions | None = None
    notification: bool | None = None
    identification: str | None = None  # for CameraCheck.IDENTIFICATION
    identification_type: str | None = None  # CC, CE, PASSPORT…
    country: str | None = None


@dataclass(frozen=True)
class ReaderInput:
    """A participant who follows the process without signing."""

    name: str
    email: str


@dataclass(frozen=True)
class SignatureRequest:
    """One Auco process: a PDF (or a template) sent to ``signers``."""

    name: str
    subject: str
    message: str
    signers: tuple[SignerInput, ...]
    readers: tuple[ReaderInput, ...] = ()
    remember: int | None = None  # hours between reminders
    expired_date: date | datetime | None = None
    camera: bool = False
    otp_code: bool = False
    options: ValidationOptions | None = None
    notification: bool = True
    folder: str | None = None
    template: str | None = None  # Auco ``document``: a template id
    sender_email: str | None = None  # the Auco user creating it; client default


def expiry_instant(value: date | datetime) -> datetime:
    """An aware UTC instant: a bare date is its midnight UTC; naive times are UTC."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _options(
    path: tuple[str, ...],
    camera: bool | None,
    otp_code: bool | None,
    options: ValidationOptions | None,
) -> list[Violation]:
    if options is None:
        return []
    found = []
    if options.camera is not None and not camera:
        found.append(
            Violation((*path, "options", "camera"), "needs camera set to true")
        )
    if options.otp_code is not None and not otp_code:
        found.append(
            Violation((*path, "options", "otpCode"), "needs otpCode set to true")
        )
    for name, field in (
        ("both", options.both),
        ("video", options.video),
        ("identificationCardBack", options.identification_card_back),
    ):
        if field and not options.whatsapp:
            found.append(
                Violation((*path, "options", name), "needs whatsapp set to true")
            )
    return found


def _position_ok(p: SignaturePosition) -> bool:
    return p.page >= 1 and 0 <= p.x <= 1 and 0 <= p.y <= 1 and p.w > 0 and p.h > 0


def _signer(index: int, signer: SignerInput) -> list[Violation]:
    path = ("signers", str(index))
    found = []
    if _blank(signer.name):
        found.append(Violation((*path, "name"), "is required"))
    if _blank(signer.email):
        found.append(Violation((*path, "email"), "is required"))
    elif not EMAIL.fullmatch(signer.email):
        found.append(Violation((*path, "email"), "is not an email address"))
    if _blank(signer.phone):
        found.append(Violation((*path, "phone"), "is required"))
    elif signer.phone is not None and not PHONE.fullmatch(signer.phone):
        found.append(
            Violation((*path, "phone"), "needs its country code, e.g. +573001234567")
        )
    if signer.role not in ROLES:
        found.append(Violation((*path, "role"), "must be SIGNER or APPROVER"))
    if signer.order is not None and signer.order < 1:
        found.append(Violation((*path, "order"), "must be 1 or more"))
    for k, position in enumerate(signer.positions):
        if not _position_ok(position):
            found.append(
                Violation(
                    (*path, "positions", str(k)),
                    "page ≥ 1, x and y between 0 and 1, w and h above 0",
                )
            )
    found += _options(path, signer.camera, signer.otp_code, signer.options)
    return found


def _duplicates(signers: tuple[SignerInput, ...]) -> list[Violation]:
    found = []
    emails: set[str] = set()
    phones: set[str] = set()
    for index, signer in enumerate(signers):
        email = signer.email.strip().lower()
        if email and email in emails:
            found.append(
                Violation(
                    ("signers", str(index), "email"),
                    "is already another signer's; emails must not repeat",
                )
            )
        emails.add(email)
        if signer.phone:
            if signer.phone in phones:
                found.append(
                    Violation(
                        ("signers", str(index), "phone"),
                        "is already another signer's; phones must not repeat",
                    )
                )
            phones.add(signer.phone)
    return found


def validate(request: SignatureRequest, today: date) -> list[Violation]:
    """Every rule ``request`` breaks. ``today`` may be a ``datetime`` (exact "now")."""
    found = [
        Violation((name,), "is required")
        for name, value in (
            ("name", request.name),
            ("subject", request.subject),
            ("message", request.message),
        )
        if _blank(value)
    ]
    if not request.signers:
        found.append(Violation(("signers",), "at least one signer is required"))
    for index, signer in enumerate(request.signers):
        found += _signer(index, signer)
    found += _duplicates(request.signers)
    for index, reader in enumerate(request.readers):
        if _blank(reader.name):
            found.append(Violation(("readers", str(index), "name"), "is required"))
        if _blank(reader.email) or not EMAIL.fullmatch(reader.email):
            found.append(
                Violation(("readers", str(index), "email"), "is not an email address")
            )
    if request.remember is not None and (request.remember <= 0 or request.remember % 3):
        found.append(
            Violation(("remember",), "hours between reminders: a multiple of 3")
        )
    if request.expired_date is not None:
        now = expiry_instant(today)
        if expiry_instant(request.expired_date) - now <= MIN_EXPIRY:
            found.append(
                Violation(("expiredDate",), "must be more than 3 days from now")
            )
    found += _options((), request.camera, request.otp_code, request.options)
    if request.folder is not None and _blank(request.folder):
        found.append(Violation(("folder",), "must not be blank"))
    if request.sender_email is not None and not EMAIL.fullmatch(request.sender_email):
        found.append(Violation(("senderEmail",), "is not an email address"))
    return found
