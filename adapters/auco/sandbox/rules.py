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
- Every field the seed's table (or the reference) types is checked for its type
  first (:func:`check_types`): a string where the table says String, a boolean for
  Boolean, an object for Object, a list for Array, a whole number for Number; a
  wrong type is ``<FIELD>_INVALID``, never a crash.
- ``signProfile[x]``: ``name``, ``email`` and ``phone`` required (the table says
  ``phone String Requerido``; the seed's first example omits it, and the table
  wins), the phone with its country code (``+57…``, reference §3.3).
- Emails and phones must not repeat across signers (case-insensitive emails).
- ``role`` is ``SIGNER`` or ``APPROVER``; ``order`` a string holding a positive
  whole number (the table types it String: a JSON number is refused).
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
PHONE = re.compile(r"\+[0-9]{7,15}")  # ASCII digits: \d would match any script's
CAMERA_CHECKS = ("identification", "photo")
OTP_CHANNELS = ("phone", "email")
MIN_EXPIRY = timedelta(days=3)


def is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_true(value: Any) -> bool:
    return value is True


JSON_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_json_date(value: Any) -> datetime | None:
    """A JavaScript ``Date.toJSON()`` string (an RFC 3339 date-time with its zone),
    as an aware UTC time."""
    if not isinstance(value, str) or not JSON_DATE.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Field → the JSON types the table gives it (seed 003 lines 24-56, reference §3.3-§3.7).
_STR, _BOOL, _OBJ, _LIST = (str,), (bool,), (dict,), (list,)
ROOT_TYPES: dict[str, tuple[type, ...]] = {
    "email": _STR,
    "document": _STR,
    "name": _STR,
    "message": _STR,
    "subject": _STR,
    "file": _STR,
    "compress": _BOOL,
    "folder": _STR,
    "remember": (int,),
    "expiredDate": _STR,
    "camera": _BOOL,
    "otpCode": _BOOL,
    "options": _OBJ,
    "notification": _BOOL,
    "readers": _LIST,
    "signProfile": _LIST,
    "packageName": _STR,
    "code": _STR,
    "targetWebhooks": _LIST,
    "tags": _LIST,
    "custom": _OBJ,
}
SIGNER_TYPES: dict[str, tuple[type, ...]] = {
    "name": _STR,
    "email": _STR,
    "phone": _STR,
    "role": _STR,
    "order": _STR,
    "label": _BOOL,
    "position": _LIST,
    "type": (str, list),
    "options": _OBJ,
    "camera": _BOOL,
    "otpCode": _BOOL,
    "both": _BOOL,
    "notification": _BOOL,
    "identification": _STR,
    "identificationType": _STR,
    "country": _STR,
    "files": _LIST,
}
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "camera": _STR,
    "otpCode": _STR,
    "whatsapp": _BOOL,
    "both": _BOOL,
    "video": _BOOL,
    "identificationCardBack": _BOOL,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def _typed(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _wrong_type(
    fields: dict[str, Any], table: dict[str, tuple[type, ...]], prefix: str
) -> str | None:
    for name, kinds in table.items():
        if name in fields and not _typed(fields[name], kinds):
            return f"{prefix}{_snake(name)}_INVALID"
    return None


def check_types(body: dict[str, Any]) -> str | None:
    """The first field whose JSON type is not the table's, as ``<FIELD>_INVALID``."""
    error = _wrong_type(body, ROOT_TYPES, "")
    if error:
        return error
    for name in ("tags", "targetWebhooks"):
        if not all(isinstance(item, str) for item in body.get(name, [])):
            return f"{_snake(name)}_INVALID"
    signers = body.get("signProfile", [])
    levels = [body, *(s for s in signers if isinstance(s, dict))]
    for signer in signers:
        if not isinstance(signer, dict):
            return "SIGN_PROFILE_INVALID"
        error = _wrong_type(signer, SIGNER_TYPES, "SIGNER_")
        if error:
            return error
        if not all(isinstance(f, dict) for f in signer.get("files", [])):
            return "SIGNER_FILES_INVALID"
        kinds = signer.get("type")
        if isinstance(kinds, list) and not all(isinstance(k, str) for k in kinds):
            return "SIGNER_TYPE_INVALID"
    for level in levels:
        options = level.get("options")
        if isinstance(options, dict):
            error = _wrong_type(options, OPTION_TYPES, "OPTIONS_")
            if error:
                return error
    for reader in body.get("readers", []):
        if not isinstance(reader, dict):
            return "READERS_INVALID"
        error = _wrong_type(reader, {"name": _STR, "email": _STR}, "READER_")
        if error:
            return error
    return None


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
    """A string of a positive whole number: ``"1"``, ``"12"``."""
    return isinstance(value, str) and re.fullmatch(r"[1-9][0-9]*", value) is not None


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
    if phone is None:
        return "SIGNER_PHONE_REQUIRED"
    if not (isinstance(phone, str) and PHONE.fullmatch(phone)):
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
    error = check_types(body)
    if error:
        return error
    if not EMAIL.fullmatch(body["email"]):
        return "EMAIL_INVALID"
    has_file = "file" in body
    compress = is_true(body.get("compress"))
    if has_file and compress:
        return "FILE_AND_COMPRESS"
    if not (has_file or compress or is_text(body.get("document"))):
        return "FILE_REQUIRED"
    if has_file and not is_text(body["file"]):
        return "FILE_INVALID"
    if "document" in body and not is_text(body["document"]):
        return "DOCUMENT_INVALID"
    if "folder" in body and not is_text(body["folder"]):
        return "FOLDER_INVALID"
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
