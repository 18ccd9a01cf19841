"""The client's pre-validation: connectFi's rules, checked before any upstream call.

connectFi refuses these inputs with ``requestValidateError``; the gateway refuses
them first (DESIGN.md: "Input the providers would refuse is refused by the gateway
first, with the provider's own rules"), so that a bad name costs no login and no
round trip, and the violation names the GraphQL input field.

Rules, from seed ``000_…`` (``/akepa/document/generate``) and seed ``002_…``
(``/akepa/list``):

- ``workflow``: ``BUSINESS`` or ``PERSONAL``.
- ``name``: 1 to 50 characters, not only whitespace, pattern
  ``^((?![<>]).)*$``: no ``<`` or ``>``, and, since ECMAScript's ``.`` matches no
  line terminator, a single line.
- ``extension``: ``jpg`` or ``png``; ``type``: the seed's 18 values.
- ``note``: at most 500 characters, same pattern; ``note_author_agent_email``: an
  email address.
- ``customerId``: ``^[0-9a-zA-Z_]+$``, 1 to 36; ``numberOfRecords`` 1 to 1000;
  ``skipRecords`` at least 0.
- An uploaded file must be a JPEG or a PNG: by its declared type, its file name and
  its first bytes (the only formats ``extension`` allows).

Written apart from the sandbox's schema (:mod:`adapters.connectfi.sandbox.schema`) on
purpose: the sandbox plays the provider, this plays the careful client, and the tests
prove the two agree on the seeds' cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from adapters.errors import Violation
from adapters.model import Upload

WORKFLOWS = frozenset({"BUSINESS", "PERSONAL"})
EXTENSIONS = frozenset({"jpg", "png"})
DOCUMENT_TYPES = frozenset(
    {
        "contract",
        "license",
        "passport",
        "utility",
        "other",
        "internal",
        "identification_card",
        "residence_permit",
        "canada_provincial_id",
        "indigenous_card",
        "paystub",
        "bank_statement",
        "w2",
        "1099",
        "1120",
        "1065",
        "t1",
        "t4",
    }
)
MAX_RECORDS = 1000

_ID = re.compile(r"[0-9a-zA-Z_]{1,36}")
_FORBIDDEN = frozenset("<>\n\r\u2028\u2029")
_EMAIL_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(
    rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@(?:{_LABEL}\.)+{_LABEL}", re.IGNORECASE
)
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_FILE_TYPES = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png"}
_FILE_SUFFIXES = {"jpg": "jpg", "jpeg": "jpg", "png": "png"}


def is_id(value: str) -> bool:
    """connectFi's ``common-id``: ``^[0-9a-zA-Z_]+$``, 1 to 36 characters."""
    return _ID.fullmatch(value) is not None


def _safe_text(value: str) -> bool:
    return not _FORBIDDEN.intersection(value)


def _text(
    path: str, value: str, *, min_length: int, max_length: int, label: str
) -> Iterator[Violation]:
    if not min_length <= len(value) <= max_length:
        yield Violation(
            (path,), f"{label} must be {min_length} to {max_length} characters long"
        )
    if not _safe_text(value):
        yield Violation((path,), f"{label} must be one line without < or >")


def generate_violations(
    *,
    workflow: str,
    name: str,
    extension: str,
    type: str,
    note: str | None,
    note_author_agent_email: str | None,
) -> list[Violation]:
    found: list[Violation] = []
    if workflow not in WORKFLOWS:
        found.append(Violation(("workflow",), "workflow must be BUSINESS or PERSONAL"))
    found.extend(_text("name", name, min_length=1, max_length=50, label="name"))
    if name and not name.strip():
        found.append(Violation(("name",), "name must not be only whitespace"))
    if extension not in EXTENSIONS:
        found.append(Violation(("extension",), "extension must be jpg or png"))
    if type not in DOCUMENT_TYPES:
        allowed = ", ".join(sorted(DOCUMENT_TYPES))
        found.append(Violation(("type",), f"type must be one of {allowed}"))
    if note is not None:
        found.extend(_text("note", note, min_length=0, max_length=500, label="note"))
    if note_author_agent_email is not None and not _EMAIL.fullmatch(
        note_author_agent_email
    ):
        found.append(
            Violation(
                ("noteAuthorAgentEmail",),
                "noteAuthorAgentEmail must be an email address",
            )
        )
    return found


_REFERENCE = re.compile(r"[0-9a-zA-Z]{1,32}")
MAX_WEBHOOK_URL = 500


def identification_violations(
    customer_id: str, reference: str, webhook_url: str | None
) -> list[Violation]:
    """``/akepa/identification``'s rules (reference §1.4 step 2)."""
    found: list[Violation] = []
    if not is_id(customer_id):
        found.append(
            Violation(
                ("input", "customerId"),
                "customerId must be 1 to 36 letters, digits or underscores",
            )
        )
    if _REFERENCE.fullmatch(reference) is None:
        found.append(
            Violation(
                ("input", "reference"), "reference must be 1 to 32 letters or digits"
            )
        )
    if webhook_url is not None and len(webhook_url) > MAX_WEBHOOK_URL:
        # The gateway's own URL: a configuration error, not the caller's input.
        found.append(
            Violation(
                ("webhookURL",),
                f"the gateway's webhook URL is over {MAX_WEBHOOK_URL} characters",
            )
        )
    return found


def list_violations(customer_id: str, *, offset: int, limit: int) -> list[Violation]:
    found: list[Violation] = []
    if not is_id(customer_id):
        found.append(
            Violation(
                ("filter", "customerId"),
                "customerId must be 1 to 36 letters, digits or underscores",
            )
        )
    if not 1 <= limit <= MAX_RECORDS:
        found.append(
            Violation(("first",), f"connectFi pages hold 1 to {MAX_RECORDS} records")
        )
    if offset < 0:
        found.append(Violation(("after",), "the offset must not be negative"))
    return found


def upload_format(upload: Upload) -> tuple[str | None, list[Violation]]:
    """``("jpg" | "png", [])`` for a JPEG or PNG upload, else the violation.

    Peeks at the first bytes and rewinds; nothing more is read.
    """
    formats: set[str] = set()
    if upload.content_type:
        declared = upload.content_type.split(";")[0].strip().lower()
        if declared != "application/octet-stream":
            formats.add(_FILE_TYPES.get(declared, declared))
    _, dot, suffix = upload.filename.rpartition(".")
    if dot:
        formats.add(_FILE_SUFFIXES.get(suffix.lower(), suffix.lower()))
    start = upload.file.tell()
    head = upload.file.read(len(_PNG_MAGIC))
    upload.file.seek(start)
    if head.startswith(_JPEG_MAGIC):
        sniffed = "jpg"
    elif head.startswith(_PNG_MAGIC):
        sniffed = "png"
    else:
        return None, [Violation(("file",), "the file must be a JPEG or a PNG image")]
    if formats - {sniffed}:
        return None, [
            Violation(("file",), "the file's name, type and content disagree")
        ]
    return sniffed, []
