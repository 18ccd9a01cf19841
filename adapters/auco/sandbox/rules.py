"""The checks Auco applies to ``POST /document/upload`` before creating a process.

Each returns Auco's error as an UPPER_SNAKE code (the real error body is undocumented;
reference §3.3 models it as ``{"message": "<CODE>"}``) or None. One error at a time,
first failing rule wins, as a 400 with one message would.

Rules and where they come from (seed 003 unless marked):

- ``email``, ``name``, ``message``, ``subject``, ``signProfile`` are required.
- ``file`` (base64 PDF) or ``compress: true`` or a template ``document``; sending
  ``file`` and ``compress`` together is refused here (the seed only "recommends" not
  to; a strict simulator catches a client that does both).
- ``remember``: hours between reminders, a positive multiple of 3.
- ``expiredDate``: a JSON Date more than 3 days after the process is created.
- ``readers[x]``: ``name`` and ``email`` required.
- ``signProfile[x]``: ``name`` and ``email`` required. The seed's table says ``phone``
  is required too, but its own first example has a signer without one and is the
  request every integrator copies, so a missing phone is accepted; a present one must
  carry its country code (``+57…``, reference §3.3).
- Emails and phones must not repeat across signers (case-insensitive emails).
- ``role`` is ``SIGNER`` or ``APPROVER``; ``order`` a positive integer (the seed types
  it String, so numeric strings pass).
- ``position[]`` entries are ``{page ≥ 1, x, y in 0..1, w, h > 0}`` (reference §3.6);
  ``label: true`` (PDF tags) works only with ``file`` (reference §3.6).
- Validations, at the root and per signer (reference §3.7): ``options.camera`` only
  with ``camera: true`` at the same level, ``options.otpCode`` only with
  ``otpCode: true``; ``options.both``, ``video``, ``identificationCardBack`` need
  ``options.whatsapp``. Reference §3.7 adds that ``camera: identification`` needs the
  signer's ``identification``, ``identificationType`` and ``country``; the seed's own
  compress example sends it without them, so the upload accepts that (the check
  would bite in the signing flow, not here).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"\+\d{7,15}")
CAMERA_CHECKS = ("identification", "photo")
OTP_CHANNELS = ("phone", "email")
MIN_EXPIRY = timedelta(days=3)


def is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_true(value: Any) -> bool:
    return value is True


def parse_json_date(value: Any) -> datetime | None:
    """A JavaScript ``Date.toJSON()`` string (or any ISO 8601), as an aware UTC time."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_validations(level: dict[str, Any]) -> str | None:
    """``camera``/``otpCode``/``options`` at one level (root or one signer)."""
    options = level.get("options")
    if options is None:
        return None
    if not isinstance(options, dict):
        return "OPTIONS_INVALID"
    if "camera" in options:
        if not is_true(level.get("camera")):
            return "CAMERA_OPTION_WITHOUT_CAMERA"
        if options["camera"] not in CAMERA_CHECKS:
            return "CAMERA_OPTION_INVALID"
    if "otpCode" in options:
        if not is_true(level.get("otpCode")):
            return "OTP_OPTION_WITHOUT_OTP"
        if options["otpCode"] not in OTP_CHANNELS:
            return "OTP_OPTION_INVALID"
    needs_whatsapp = ("both", "video", "identificationCardBack")
    if any(is_true(options.get(k)) for k in needs_whatsapp) and not is_true(
        options.get("whatsapp")
    ):
        return "WHATSAPP_OPTION_REQUIRED"
    return None


def _order_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and value >= 1


def _position_ok(position: Any) -> bool:
    if not isinstance(position, dict):
        return False
    try:
        page, x, y = position["page"], position["x"], position["y"]
        w, h = position["w"], position["h"]
    except KeyError:
        return False
    numbers: list[float] = []
    for n in (page, x, y, w, h):
        if isinstance(n, bool) or not isinstance(n, int | float):
            return False
        numbers.append(n)
    page, x, y, w, h = numbers
    return page >= 1 and 0 <= x <= 1 and 0 <= y <= 1 and w > 0 and h > 0


def check_signer(root: dict[str, Any], signer: Any) -> str | None:
    if not isinstance(signer, dict):
        return "SIGN_PROFILE_INVALID"
    if not is_text(signer.get("name")):
        return "SIGNER_NAME_REQUIRED"
    if not is_text(signer.get("email")):
        return "SIGNER_EMAIL_REQUIRED"
    if not EMAIL.fullmatch(signer["email"]):
        return "SIGNER_EMAIL_INVALID"
    phone = signer.get("phone")
    if phone is not None and not (isinstance(phone, str) and PHONE.fullmatch(phone)):
        return "SIGNER_PHONE_INVALID"
    if signer.get("role", "SIGNER") not in ("SIGNER", "APPROVER"):
        return "SIGNER_ROLE_INVALID"
    if "order" in signer and not _order_ok(signer["order"]):
        return "SIGNER_ORDER_INVALID"
    positions = signer.get("position")
    if positions is not None and (
        not isinstance(positions, list) or not all(map(_position_ok, positions))
    ):
        return "SIGNER_POSITION_INVALID"
    if is_true(signer.get("label")) and not is_text(root.get("file")):
        return "LABEL_REQUIRES_FILE"
    return check_validations(signer)


def check_upload(body: dict[str, Any], now: datetime) -> str | None:
    """The first rule ``body`` breaks, or None. State checks come after, in the app."""
    for key in ("email", "name", "message", "subject"):
        if not is_text(body.get(key)):
            return f"{key.upper()}_REQUIRED"
    has_file = "file" in body
    compress = is_true(body.get("compress"))
    if has_file and compress:
        return "FILE_AND_COMPRESS"
    if not (has_file or compress or is_text(body.get("document"))):
        return "FILE_REQUIRED"
    if has_file and not is_text(body["file"]):
        return "FILE_INVALID"
    if "remember" in body:
        remember = body["remember"]
        if (
            isinstance(remember, bool)
            or not isinstance(remember, int)
            or remember <= 0
            or remember % 3
        ):
            return "REMEMBER_INVALID"
    if "expiredDate" in body:
        expires = parse_json_date(body["expiredDate"])
        if expires is None or expires - now <= MIN_EXPIRY:
            return "EXPIRED_DATE_INVALID"
    error = check_validations(body)
    if error:
        return error
    readers = body.get("readers", [])
    if not isinstance(readers, list):
        return "READERS_INVALID"
    for reader in readers:
        if not isinstance(reader, dict) or not is_text(reader.get("name")):
            return "READER_NAME_REQUIRED"
        if not is_text(reader.get("email")) or not EMAIL.fullmatch(reader["email"]):
            return "READER_EMAIL_REQUIRED"
    signers = body.get("signProfile")
    if not isinstance(signers, list) or not signers:
        return "SIGN_PROFILE_REQUIRED"
    for signer in signers:
        error = check_signer(body, signer)
        if error:
            return error
    emails = [s["email"].lower() for s in signers]
    if len(set(emails)) != len(emails):
        return "SIGNER_EMAIL_DUPLICATED"
    phones = [s["phone"] for s in signers if s.get("phone")]
    if len(set(phones)) != len(phones):
        return "SIGNER_PHONE_DUPLICATED"
    return None
